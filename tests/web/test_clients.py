"""Staff manage the tenant's clients: settings, permissions, warehouse, users by invitation."""

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.core.clients.models import Client
from portal.core.warehouses.models import Warehouse
from portal.outbox.services import deliver_due
from portal.testing.fixtures import tenant_host

NEW_PASSWORD = "a long and fresh passphrase"


@pytest.fixture
def staff(create_user, tenant):
    return create_user(tenant, "staff", name="Sam Staff")


@pytest.fixture
def staff_browser(login_as, staff, tenant):
    return login_as(staff, tenant)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def fresh(in_tenant, tenant, client_id) -> Client:
    with in_tenant(tenant) as session:
        return session.scalar(select(Client).where(Client.id == client_id))


def save(browser, path, **fields):
    data = {"csrf_token": browser.csrf_token("/clients/new"), "purchase_order_warehouse_id": ""}
    for key, value in fields.items():
        if value is True:
            data[key] = "y"
        elif value is not False:
            data[key] = value
    return browser.post(path, data=data)


# --- create and edit ---------------------------------------------------------------------


def test_staff_add_a_client_with_permissions_and_a_warehouse(
    staff_browser, staff, tenant, in_tenant
):
    with in_tenant(tenant) as session:
        north = Warehouse(code="NORTH", name="North hall")
        session.add(north)
        session.commit()
    form = text_of(staff_browser.get("/clients/new"))
    assert "The tenant&#39;s default (Main warehouse)" in form
    assert "North hall (NORTH)" in form
    response = save(
        staff_browser,
        "/clients/new",
        name="Fresh Foods",
        email="Office@Fresh.example",
        portal_access=True,
        product_management=True,
        purchase_order_warehouse_id=str(north.id),
    )
    assert response.status_code == 302, text_of(response)[:2000]
    with in_tenant(tenant) as session:
        client = session.scalar(select(Client).where(Client.name == "Fresh Foods"))
        assert (
            client.email,
            client.portal_access,
            client.product_management,
            client.purchase_order_warehouse_id,
        ) == ("office@fresh.example", True, True, north.id)
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "client.created", AuditEntry.object_id == str(client.id)
            )
        )
        assert entry.actor_id == staff.id
        assert entry.changes["name"] == [None, "Fresh Foods"]


def test_edits_are_saved_and_shown_as_changes(staff_browser, create_client, tenant, in_tenant):
    client = create_client(tenant, name="Old Name", portal_access=True)
    page = text_of(staff_browser.get(f"/clients/{client.id}"))
    assert 'value="Old Name"' in page
    response = save(
        staff_browser,
        f"/clients/{client.id}",
        name="New Name",
        portal_access=False,
        product_management=True,
    )
    assert response.status_code == 302
    saved = fresh(in_tenant, tenant, client.id)
    assert (saved.name, saved.portal_access, saved.product_management) == (
        "New Name",
        False,
        True,
    )
    with in_tenant(tenant) as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "client.updated", AuditEntry.object_id == str(client.id)
            )
        )
        assert entry.changes == {
            "name": ["Old Name", "New Name"],
            "portal_access": [True, False],
            "product_management": [False, True],
        }
    page = text_of(staff_browser.get(f"/clients/{client.id}"))
    assert "Settings changed" in page
    assert "Old Name → New Name" in page
    assert "Access to the portal: Yes → No" in page
    assert "Access to the portal is switched off for this client" in page


def test_a_taken_name_and_a_bad_email_are_refused(staff_browser, create_client, tenant, in_tenant):
    create_client(tenant, name="Taken Ltd")
    page = text_of(save(staff_browser, "/clients/new", name="taken ltd"))
    assert "A client with the name taken ltd already exists." in page
    page = text_of(save(staff_browser, "/clients/new", name="Other Ltd", email="not-an-email"))
    assert "not-an-email is not a valid e-mail address." in page
    page = text_of(
        save(
            staff_browser,
            "/clients/new",
            name="Other Ltd",
            purchase_order_warehouse_id="00000000-0000-7000-8000-000000000000",
        )
    )
    assert "Not a valid choice" in page
    with in_tenant(tenant) as session:
        assert session.scalar(select(Client).where(Client.name == "Other Ltd")) is None


def test_the_list_searches_and_pages(staff_browser, create_client, tenant, other_tenant):
    for number in range(5):
        create_client(tenant, name=f"Alpha {number}", email=f"alpha{number}@example.com")
    create_client(tenant, name="Beta", email="special@beta.example")
    create_client(other_tenant, name="Alpha Foreign")
    page = text_of(staff_browser.get("/clients/", query_string={"q": "special@"}))
    assert "Beta" in page
    assert "Alpha 1" not in page
    page = text_of(staff_browser.get("/clients/", query_string={"q": "100%"}))
    assert "No clients found." in page

    seen, url = [], "/clients/?size=2&q=alpha"
    while url:
        page = text_of(staff_browser.get(url))
        seen += re.findall(r">(Alpha[^<]*)</a>", page)
        link = re.search(r'href="([^"]+)" rel="next"', page)
        url = link.group(1).replace("&amp;", "&") if link else None
    assert seen == [f"Alpha {n}" for n in range(5)]


def test_the_list_needs_the_same_number_of_queries_for_3_and_30_rows(
    staff_browser, create_client, create_user, tenant, count_queries
):
    def queries() -> int:
        staff_browser.get("/clients/")
        with count_queries() as counter:
            assert staff_browser.get("/clients/").status_code == 200
        return counter.count

    def add(count):
        for _ in range(count):
            client = create_client(tenant)
            create_user(tenant, "client", client=client)

    add(3)
    few = queries()
    add(27)
    assert queries() == few


# --- permissions and isolation -----------------------------------------------------------


@pytest.mark.parametrize("role", ["client", "supplier"])
def test_clients_pages_are_for_staff_only(login_as, create_user, create_client, tenant, role):
    client = create_client(tenant)
    browser = login_as(create_user(tenant, role), tenant)
    token = browser.csrf_token("/account")
    for path in ("/clients/", "/clients/new", f"/clients/{client.id}"):
        assert browser.get(path).status_code == 403, path
    for path in ("/clients/new", f"/clients/{client.id}", f"/clients/{client.id}/users"):
        response = browser.post(path, data={"csrf_token": token, "name": "X", "email": "x@y.test"})
        assert response.status_code == 403, path


def test_another_tenants_client_is_not_found(staff_browser, create_client, other_tenant):
    foreign = create_client(other_tenant)
    assert staff_browser.get(f"/clients/{foreign.id}").status_code == 404


def test_without_portal_access_client_users_cannot_open_client_pages(
    login_as, create_user, create_client, tenant, in_tenant
):
    client = create_client(tenant)
    user = create_user(tenant, "client", client=client)
    browser = login_as(user, tenant)
    assert browser.get("/purchase-orders/").status_code == 200
    with in_tenant(tenant) as session:
        session.merge(client).portal_access = False
        session.commit()
    for path in ("/purchase-orders/", "/purchase-orders/new", "/returns/"):
        assert browser.get(path).status_code == 403, path
    dashboard = text_of(browser.get("/dashboard"))
    assert "access to the portal is switched off" in dashboard


# --- users -------------------------------------------------------------------------------


def test_an_invited_client_user_gets_the_mail_sets_a_password_and_logs_in(
    app, staff_browser, create_client, client_for, tenant, in_tenant, mailbox
):
    client = create_client(tenant, name="Invite Co")
    email = f"new.person@{tenant.slug}.test"
    response = staff_browser.post(
        f"/clients/{client.id}/users",
        data={
            "invite-email": email,
            "invite-name": "Nora New",
            "csrf_token": staff_browser.csrf_token(f"/clients/{client.id}"),
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    with in_tenant(tenant) as session:
        user = session.scalar(select(User).where(User.email == email))
        assert (user.role, user.client_id, user.name) == (Role.CLIENT, client.id, "Nora New")
    page = text_of(staff_browser.get(f"/clients/{client.id}"))
    assert email in page
    assert "User invited" in page

    with app.app_context():
        assert deliver_due() == 1
    [message] = mailbox.to(email)
    assert tenant.name in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://\S+/password/reset/\S+", text).group(0)
    prefix = f"http://{tenant_host(tenant)}"
    path = link[len(prefix) :]

    newcomer = client_for(tenant)
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
    assert newcomer.get("/purchase-orders/").status_code == 200
    assert newcomer.get("/clients/").status_code == 403


def test_inviting_a_taken_or_bad_address_is_refused(
    staff_browser, create_client, create_user, tenant, in_tenant, mailbox
):
    client = create_client(tenant)
    taken = create_user(tenant, "staff")
    token = staff_browser.csrf_token(f"/clients/{client.id}")
    page = text_of(
        staff_browser.post(
            f"/clients/{client.id}/users", data={"invite-email": taken.email, "csrf_token": token}
        )
    )
    assert "A user with this e-mail address already exists." in page
    page = text_of(
        staff_browser.post(
            f"/clients/{client.id}/users", data={"invite-email": "nobody", "csrf_token": token}
        )
    )
    assert "nobody is not a valid e-mail address." in page
    with in_tenant(tenant) as session:
        assert session.scalar(select(User).where(User.client_id == client.id)) is None
