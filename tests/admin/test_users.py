"""Tenant administration: users, invitations, permissions and the audit log."""

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.audit.services import record
from portal.outbox.services import deliver_due
from portal.testing.fixtures import tenant_host

NEW_PASSWORD = "my own chosen passphrase"
ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/audit"]


@pytest.fixture
def admin(create_user, tenant):
    return create_user(tenant, "admin", name="Ada Admin")


@pytest.fixture
def admin_client(login_as, admin, tenant):
    return login_as(admin, tenant)


def fresh(in_tenant, tenant, user) -> User:
    with in_tenant(tenant) as session:
        return session.scalar(select(User).where(User.id == user.id))


def edit_user(client, user, **fields):
    """Post the edit form of ``user``; a checkbox is sent only when ``active`` is true."""
    data = {
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "active": True,
        "csrf_token": client.csrf_token("/admin/users"),
    }
    data.update(fields)
    if data.pop("active"):
        data["active"] = "y"
    return client.post(f"/admin/users/{user.id}", data=data)


def audit_rows(page: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return re.findall(r"<tr>.*?</tr>", body, re.S)


# --- who may enter -----------------------------------------------------------------------


def test_the_admin_sees_only_the_users_of_the_own_tenant(
    admin_client, create_user, tenant, other_tenant
):
    mine = [create_user(tenant, role) for role in ("staff", "client", "supplier")]
    theirs = [create_user(other_tenant, role) for role in ("admin", "staff", "client")]

    page = admin_client.get("/admin/users")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for user in mine:
        assert user.email in text
    for user in theirs:
        assert user.email not in text


def test_the_user_list_can_be_searched(admin_client, create_user, tenant):
    found = create_user(tenant, name="Zelda Searchable")
    other = create_user(tenant, name="Someone Else")
    text = admin_client.get("/admin/users", query_string={"q": "zelda"}).get_data(as_text=True)
    assert found.email in text
    assert other.email not in text


@pytest.mark.parametrize("role", ["staff", "client", "supplier"])
def test_other_roles_are_forbidden(login_as, create_user, in_tenant, tenant, admin, role):
    user = create_user(tenant, role)
    client = login_as(user, tenant)
    for path in [*ADMIN_PAGES, f"/admin/users/{admin.id}"]:
        assert client.get(path).status_code == 403, path
    token = client.csrf_token("/dashboard")
    response = client.post(
        "/admin/users/new",
        data={"email": f"sneaky@{tenant.slug}.test", "role": "admin", "csrf_token": token},
    )
    assert response.status_code == 403
    response = client.post(
        f"/admin/users/{user.id}",
        data={"email": user.email, "role": "admin", "active": "y", "csrf_token": token},
    )
    assert response.status_code == 403
    assert fresh(in_tenant, tenant, user).role == Role(role)
    with in_tenant(tenant) as session:
        assert (
            session.scalar(select(User).where(User.email == f"sneaky@{tenant.slug}.test")) is None
        )


@pytest.mark.parametrize(
    "path", [*ADMIN_PAGES, "/admin/users/00000000-0000-7000-8000-000000000000"]
)
def test_anonymous_visitors_are_sent_to_log_in(client_for, tenant, path):
    response = client_for(tenant).get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_admin_pages_do_not_exist_on_the_platform_host(client_for):
    assert client_for("localhost").get("/admin/users").status_code == 404


# --- adding users ------------------------------------------------------------------------


def test_an_added_user_is_invited_by_mail_and_chooses_a_password(
    app, admin_client, client_for, in_tenant, tenant, mailbox
):
    email = f"new.staff@{tenant.slug}.test"
    response = admin_client.post(
        "/admin/users/new",
        data={
            "email": email,
            "name": "Nina New",
            "role": "staff",
            "active": "y",
            "csrf_token": admin_client.csrf_token("/admin/users/new"),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    with in_tenant(tenant) as session:
        user = session.scalar(select(User).where(User.email == email))
        assert (user.name, user.role, user.active) == ("Nina New", Role.STAFF, True)
        created = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "user.created", AuditEntry.object_id == str(user.id)
            )
        )
        assert created.changes == {"email": [None, email], "role": [None, "staff"]}

    with app.app_context():
        assert deliver_due() == 1
    [message] = mailbox.to(email)
    assert tenant.name in message["Subject"]
    assert message["From"].addresses[0].display_name == tenant.name
    text = message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)) is not None
    link = re.search(r"http://\S+/password/reset/\S+", text).group(0)
    prefix = f"http://{tenant_host(tenant)}"
    assert link.startswith(prefix)

    newcomer = client_for(tenant)
    path = link[len(prefix) :]
    assert newcomer.get(path).status_code == 200
    response = newcomer.post(
        path,
        data={
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": newcomer.csrf_token(path),
        },
    )
    assert response.status_code == 302
    assert newcomer.login(email, NEW_PASSWORD).status_code == 302
    dashboard = newcomer.get("/dashboard").get_data(as_text=True)
    assert "Nina New" in dashboard
    assert "Staff" in dashboard
    assert newcomer.get("/admin/users").status_code == 403


def test_a_user_added_without_access_gets_no_invitation(
    app, admin_client, in_tenant, tenant, mailbox
):
    email = f"no.access@{tenant.slug}.test"
    response = admin_client.post(
        "/admin/users/new",
        data={
            "email": email,
            "role": "staff",
            "csrf_token": admin_client.csrf_token("/admin/users/new"),
        },
    )
    assert response.status_code == 302
    assert "no invitation was sent" in admin_client.get("/admin/users").get_data(as_text=True)
    with in_tenant(tenant) as session:
        assert session.scalar(select(User).where(User.email == email)).active is False
    with app.app_context():
        assert deliver_due() == 0
    assert mailbox.to(email) == []


def test_adding_a_user_with_a_taken_address_is_refused(
    admin_client, create_user, in_tenant, tenant, mailbox
):
    taken = create_user(tenant)
    response = admin_client.post(
        "/admin/users/new",
        data={
            "email": taken.email,
            "role": "admin",
            "active": "y",
            "csrf_token": admin_client.csrf_token("/admin/users/new"),
        },
    )
    assert response.status_code == 200
    assert "A user with this e-mail address already exists." in response.get_data(as_text=True)
    assert fresh(in_tenant, tenant, taken).role == Role.STAFF


def test_only_staff_roles_can_be_chosen_for_new_users(admin_client, in_tenant, tenant):
    response = admin_client.post(
        "/admin/users/new",
        data={
            "email": f"client@{tenant.slug}.test",
            "role": "client",
            "active": "y",
            "csrf_token": admin_client.csrf_token("/admin/users/new"),
        },
    )
    assert response.status_code == 200
    with in_tenant(tenant) as session:
        assert (
            session.scalar(select(User).where(User.email == f"client@{tenant.slug}.test")) is None
        )


# --- editing users -----------------------------------------------------------------------


def test_the_admin_edits_name_role_and_access(
    admin_client, admin, client_for, create_user, in_tenant, tenant
):
    user = create_user(tenant, name="Before Edit")
    assert client_for(tenant).login(user.email).status_code == 302

    response = edit_user(admin_client, user, name="After Edit", role="admin", active=False)

    assert response.status_code == 302
    saved = fresh(in_tenant, tenant, user)
    assert (saved.name, saved.role, saved.active) == ("After Edit", Role.ADMIN, False)
    assert client_for(tenant).login(user.email).status_code == 200
    with in_tenant(tenant) as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "user.updated", AuditEntry.object_id == str(user.id)
            )
        )
    assert entry.changes == {
        "name": ["Before Edit", "After Edit"],
        "role": ["staff", "admin"],
        "active": [True, False],
    }
    assert entry.actor_id == admin.id

    # Reactivated, the user can log in again.
    edit_user(admin_client, saved, active=True)
    assert fresh(in_tenant, tenant, user).active is True
    assert client_for(tenant).login(user.email).status_code == 302


def test_the_edit_form_shows_the_user(admin_client, create_user, tenant):
    user = create_user(tenant, name="Shown Here")
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert user.email in page
    assert 'value="Shown Here"' in page
    assert re.search(r'<option selected value="staff">|<option value="staff" selected', page)


@pytest.mark.parametrize(
    "change", [{"role": "staff"}, {"active": False}], ids=["demote", "deactivate"]
)
def test_the_admin_cannot_take_away_the_own_admin_access(
    admin_client, admin, in_tenant, tenant, change
):
    response = edit_user(admin_client, admin, **change)

    assert response.status_code == 200
    assert "You cannot take away your own administrator access." in response.get_data(as_text=True)
    saved = fresh(in_tenant, tenant, admin)
    assert (saved.role, saved.active) == (Role.ADMIN, True)
    assert admin_client.get("/admin/users").status_code == 200


def test_the_admin_may_rename_themselves(admin_client, admin, in_tenant, tenant):
    assert edit_user(admin_client, admin, name="Ada Renamed").status_code == 302
    assert fresh(in_tenant, tenant, admin).name == "Ada Renamed"


def test_a_client_user_cannot_become_staff(admin_client, create_user, in_tenant, tenant):
    client_user = create_user(tenant, "client")
    response = edit_user(admin_client, client_user, role="staff")
    assert response.status_code == 200
    assert fresh(in_tenant, tenant, client_user).role == Role.CLIENT


def test_another_tenants_user_is_not_found(admin_client, create_user, in_tenant, other_tenant):
    foreign = create_user(other_tenant, name="Not Yours")

    assert admin_client.get(f"/admin/users/{foreign.id}").status_code == 404
    response = edit_user(admin_client, foreign, name="Hijacked", role="admin", active=False)

    assert response.status_code == 404
    saved = fresh(in_tenant, other_tenant, foreign)
    assert (saved.name, saved.role, saved.active) == ("Not Yours", Role.STAFF, True)


def test_a_malformed_user_id_is_not_found(admin_client):
    assert admin_client.get("/admin/users/not-a-uuid").status_code == 404


# --- the audit log -----------------------------------------------------------------------


def test_the_audit_log_shows_only_the_own_tenants_entries(
    admin_client, in_tenant, tenant, other_tenant
):
    with in_tenant(tenant) as session:
        record("test.own_entry", details={"reason": "ours"})
        session.commit()
    with in_tenant(other_tenant) as session:
        record("test.foreign_entry", details={"reason": "theirs"})
        session.commit()

    page = admin_client.get("/admin/audit")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # Actions in words (tests/admin/test_audit_log.py has the rest), never as raw codes.
    assert "Reason: ours" in text
    assert "Signed in" in text
    assert "login.succeeded" not in "".join(audit_rows(text))
    assert "theirs" not in text


def test_the_audit_log_is_paginated(admin_client, in_tenant, tenant, other_tenant):
    with in_tenant(tenant) as session:
        for number in range(60):
            record("test.page_entry", details={"reason": f"number {number}"})
        session.commit()
    with in_tenant(other_tenant) as session:
        for _ in range(5):
            record("test.foreign_entry")
        session.commit()
    with in_tenant(tenant) as session:
        total = len(session.scalars(select(AuditEntry.id)).all())

    first = admin_client.get("/admin/audit").get_data(as_text=True)
    rows = audit_rows(first)
    assert len(rows) == 50
    older = re.search(r'href="(/admin/audit\?before=[^"]+)"', first)
    assert older, "no link to older entries"
    second = admin_client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    later_rows = audit_rows(second)

    assert len(rows) + len(later_rows) == total
    assert not re.search(r'href="/admin/audit\?before=', second)
    assert "test.foreign_entry" not in first + second
    numbers = [int(n) for n in re.findall(r"number (\d+)<", first + second)]
    assert sorted(numbers) == list(range(60))


def test_a_malformed_before_is_a_bad_request(admin_client):
    assert admin_client.get("/admin/audit", query_string={"before": "yesterday"}).status_code == 400
