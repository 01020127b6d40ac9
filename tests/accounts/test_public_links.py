"""Links in e-mails come from the tenant's canonical address (PORTAL_PUBLIC_SCHEME,
``<slug>.<PORTAL_BASE_DOMAIN>``, PORTAL_PUBLIC_PORT), never from the request's Host."""

from __future__ import annotations

import re

import pytest

from portal.accounts.links import public_base_url, public_url
from portal.config import ConfigError, load_settings
from portal.outbox.services import deliver_due
from portal.tenants.context import tenant_context
from portal.testing.fixtures import tenant_host


def reset_link(mailbox, email: str) -> str:
    [message] = mailbox.to(email)
    text = message.get_body(("plain",)).get_content()
    return re.search(r"\S+/password/reset/\S+", text).group(0)


def request_reset(client, email: str):
    return client.post(
        "/password/forgot",
        data={"email": email, "csrf_token": client.csrf_token("/password/forgot")},
    )


def test_a_reset_requested_on_another_port_links_to_the_canonical_address(
    app, client_for, create_user, tenant, mailbox
):
    user = create_user(tenant)
    client = client_for(f"{tenant_host(tenant)}:31337")

    assert request_reset(client, user.email).status_code == 302
    with app.app_context():
        deliver_due()

    link = reset_link(mailbox, user.email)
    assert "31337" not in link
    assert link.startswith(f"http://{tenant_host(tenant)}/password/reset/")


def test_the_configured_scheme_and_port_are_used(
    app, client_for, create_user, tenant, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_PUBLIC_SCHEME", "https")
    monkeypatch.setitem(app.config, "PORTAL_PUBLIC_PORT", 8443)
    user = create_user(tenant)
    request_reset(client_for(f"{tenant_host(tenant)}:31337"), user.email)
    with app.app_context():
        deliver_due()
    assert reset_link(mailbox, user.email).startswith(
        f"https://{tenant_host(tenant)}:8443/password/reset/"
    )


def test_the_default_port_of_the_scheme_is_left_out(app, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_PUBLIC_SCHEME", "https")
    monkeypatch.setitem(app.config, "PORTAL_PUBLIC_PORT", 443)
    with app.app_context(), tenant_context(tenant):
        assert public_base_url() == f"https://{tenant_host(tenant)}/"
        assert public_url("accounts.login") == f"https://{tenant_host(tenant)}/login"


def test_an_invitation_links_to_the_canonical_address(
    app, login_as, create_user, create_client, tenant, mailbox
):
    staff = create_user(tenant, "staff")
    shop = create_client(tenant)
    client = login_as(staff, tenant)
    client.host = f"{tenant_host(tenant)}:31337"
    response = client.post(
        f"/clients/{shop.id}/users",
        data={
            "invite-email": f"invited@{tenant.slug}.test",
            "csrf_token": client.csrf_token(f"/clients/{shop.id}"),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        deliver_due()
    link = reset_link(mailbox, f"invited@{tenant.slug}.test")
    assert link.startswith(f"http://{tenant_host(tenant)}/password/reset/")


def test_production_links_default_to_https(tmp_path):
    settings = load_settings(tmp_path, {"PORTAL_SECRET_KEY": "k" * 40})
    assert settings["PORTAL_PUBLIC_SCHEME"] == "https"
    assert settings["PORTAL_PUBLIC_PORT"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORTAL_PUBLIC_SCHEME", "ftp"),
        ("PORTAL_PUBLIC_PORT", "70000"),
        ("PORTAL_RATE_LIMIT_LOGIN", "often"),
    ],
)
def test_unusable_settings_stop_start_up(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings(tmp_path, {"PORTAL_SECRET_KEY": "k" * 40, name: value})
