"""The user's own account settings: name, language and e-mail address."""

import re

from sqlalchemy import select

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.testing.factories import DEFAULT_PASSWORD


def save_settings(client, **fields):
    """Post the settings form with the current values overridden by ``fields``."""
    page = client.get("/account").get_data(as_text=True)
    data = {
        "name": re.search(r'name="name"[^>]*value="([^"]*)"', page).group(1),
        "email": re.search(r'name="email"[^>]*value="([^"]*)"', page).group(1),
        "locale": "",
        "current_password": "",
        "csrf_token": client.csrf_token("/account"),
    }
    # A checked box is sent as "y"; an unchecked one is not sent at all.
    box = re.search(r'<input[^>]*name="email_notifications"[^>]*>', page).group(0)
    if " checked" in box:
        data["email_notifications"] = "y"
    data.update(fields)
    return client.post("/account", data=data)


def field_errors(response, field: str) -> str:
    """Return the text of the error list the form shows under ``field``."""
    page = response.get_data(as_text=True)
    match = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


def fresh(in_tenant, tenant, user) -> User:
    with in_tenant(tenant) as session:
        return session.scalar(select(User).where(User.id == user.id))


def updates_of(in_tenant, tenant, user) -> list[AuditEntry]:
    with in_tenant(tenant) as session:
        return session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "account.updated", AuditEntry.object_id == str(user.id)
            )
        ).all()


def test_the_settings_page_shows_the_users_data(login_as, create_user, tenant):
    user = create_user(tenant, name="Sam Settings")
    page = login_as(user, tenant).get("/account")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'value="Sam Settings"' in text
    assert f'value="{user.email}"' in text


def test_the_settings_page_needs_a_login(client_for, tenant):
    response = client_for(tenant).get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_name_and_language_change_and_the_language_is_used(
    login_as, create_user, in_tenant, tenant
):
    user = create_user(tenant, name="Old Name")
    client = login_as(user, tenant)
    assert '<html lang="en"' in client.get("/dashboard").get_data(as_text=True)

    response = save_settings(client, name="  New Name ", locale="de")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    saved = fresh(in_tenant, tenant, user)
    assert saved.name == "New Name"
    assert saved.locale == "de"
    assert saved.email == user.email
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="de"' in page
    # The user's language wins over the browser's.
    page = client.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de"' in page

    [entry] = updates_of(in_tenant, tenant, user)
    assert entry.changes == {"name": ["Old Name", "New Name"], "locale": [None, "de"]}
    assert entry.actor_id == user.id
    assert entry.ip_address == "127.0.0.1"


def test_a_language_the_tenant_does_not_offer_is_refused(login_as, create_user, in_tenant, tenant):
    user = create_user(tenant)
    client = login_as(user, tenant)
    response = save_settings(client, locale="fr")
    assert response.status_code == 200
    assert field_errors(response, "locale")
    assert fresh(in_tenant, tenant, user).locale is None


def test_changing_the_email_needs_the_current_password(
    client_for, login_as, create_user, in_tenant, tenant
):
    user = create_user(tenant)
    client = login_as(user, tenant)
    new_email = f"renamed@{tenant.slug}.test"

    for password in ("", "not my password"):
        response = save_settings(client, email=new_email, current_password=password)
        assert response.status_code == 200
        assert "Enter your current password to change your e-mail address." in field_errors(
            response, "current_password"
        )
        assert fresh(in_tenant, tenant, user).email == user.email

    response = save_settings(client, email=new_email.upper(), current_password=DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert fresh(in_tenant, tenant, user).email == new_email
    assert client_for(tenant).login(new_email).status_code == 302
    assert client_for(tenant).login(user.email).status_code == 200
    [entry] = updates_of(in_tenant, tenant, user)
    assert entry.changes == {"email": [user.email, new_email]}


def test_the_name_changes_without_the_password(login_as, create_user, in_tenant, tenant):
    user = create_user(tenant)
    client = login_as(user, tenant)
    assert save_settings(client, name="Just A Name").status_code == 302
    assert fresh(in_tenant, tenant, user).name == "Just A Name"


def test_an_invalid_email_is_refused(login_as, create_user, in_tenant, tenant):
    user = create_user(tenant)
    client = login_as(user, tenant)
    response = save_settings(client, email="not-an-address", current_password=DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert "not a valid e-mail address" in field_errors(response, "email")
    assert fresh(in_tenant, tenant, user).email == user.email


def test_an_email_of_another_user_of_the_tenant_is_refused(
    login_as, create_user, in_tenant, tenant
):
    user = create_user(tenant, name="Keeps Name")
    taken = create_user(tenant)
    client = login_as(user, tenant)

    response = save_settings(
        client, name="Other Name", email=taken.email, current_password=DEFAULT_PASSWORD
    )

    assert response.status_code == 200
    assert "A user with this e-mail address already exists." in field_errors(response, "email")
    saved = fresh(in_tenant, tenant, user)
    assert (saved.email, saved.name) == (user.email, "Keeps Name")
    assert updates_of(in_tenant, tenant, user) == []


def test_the_same_email_may_exist_in_another_tenant(
    client_for, login_as, create_user, in_tenant, tenant, other_tenant
):
    user = create_user(tenant)
    elsewhere = create_user(other_tenant, name="Other Tenant's User")
    client = login_as(user, tenant)

    response = save_settings(client, email=elsewhere.email, current_password=DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert fresh(in_tenant, tenant, user).email == elsewhere.email
    # Both accounts live on, each on its own host, each with its own password check.
    assert client_for(tenant).login(elsewhere.email).status_code == 302
    assert client_for(other_tenant).login(elsewhere.email).status_code == 302
    assert fresh(in_tenant, other_tenant, elsewhere).name == "Other Tenant's User"


def test_saving_unchanged_settings_writes_no_audit_entry(login_as, create_user, in_tenant, tenant):
    user = create_user(tenant, name="Same")
    client = login_as(user, tenant)
    assert save_settings(client).status_code == 302
    assert updates_of(in_tenant, tenant, user) == []


def test_the_language_switcher_saves_the_choice_for_a_logged_in_user(
    login_as, create_user, in_tenant, tenant
):
    user = create_user(tenant)
    client = login_as(user, tenant)
    response = client.post(
        "/language",
        data={"locale": "de", "next": "/account", "csrf_token": client.csrf_token("/dashboard")},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert fresh(in_tenant, tenant, user).locale == "de"
    [entry] = updates_of(in_tenant, tenant, user)
    assert entry.changes == {"locale": [None, "de"]}
