"""E-mails carry the tenant's branding: logo, colours, name and footer, with a text part."""

from __future__ import annotations

import io

import pytest

from portal import PROJECT_ROOT
from portal.outbox.services import deliver_due


def test_a_password_reset_email_is_branded(
    app, branding, create_user, client_for, tenant, saved_settings, mailbox, make_image
):
    branding.save(
        primary="#7a1f5c",
        primary_text="#ffffff",
        logo=(io.BytesIO(make_image()), "logo.png"),
        **{"texts_en-footer": "Harbour Ltd · [Imprint](https://example.com/imprint)"},
    )
    logo = saved_settings(tenant)["assets"]["logo"]
    user = create_user(tenant, "client", email="reader@example.com", locale="en")
    client = client_for(tenant)
    client.post(
        "/password/forgot",
        data={"email": user.email, "csrf_token": client.csrf_token("/password/forgot")},
    )
    with app.app_context():
        assert deliver_due() >= 1
    [message] = mailbox.to("reader@example.com")
    assert tenant.name in message["From"]
    html = message.get_body(("html",)).get_content()
    assert "background:#7a1f5c;color:#ffffff" in html
    assert f'<img src="http://{tenant.slug}.localhost/branding/logo?v={logo}"' in html
    assert tenant.name in html
    assert (
        'Harbour Ltd · <a href="https://example.com/imprint" rel="noopener noreferrer">'
        "Imprint</a>" in html
    )
    text = message.get_body(("plain",)).get_content()
    assert "/password/reset/" in text
    assert "<" not in text
    # The logo address in the e-mail works for anyone, without a session.
    assert client_for(tenant).get(f"/branding/logo?v={logo}").status_code == 200


@pytest.mark.parametrize("name", ["invitation", "order_shipped", "password_reset"])
def test_every_html_email_uses_the_branded_layout(name):
    source = (PROJECT_ROOT / "portal" / "templates" / "email" / f"{name}.html").read_text()
    assert source.startswith('{% extends "email/_layout.html" %}')
    assert (PROJECT_ROOT / "portal" / "templates" / "email" / f"{name}.txt").is_file()


def test_the_logo_in_an_email_comes_from_the_public_address_not_the_request(
    app, branding, create_user, client_for, tenant, saved_settings, mailbox, make_image
):
    from portal.testing.fixtures import tenant_host

    branding.save(logo=(io.BytesIO(make_image()), "logo.png"))
    logo = saved_settings(tenant)["assets"]["logo"]
    staff = create_user(tenant, "staff")
    client = create_user(tenant, "client")
    browser = client_for(f"{tenant_host(tenant)}:31337")
    browser.login(staff.email)
    page = f"/clients/{client.client_id}"
    answer = browser.post(
        f"{page}/users",
        data={
            "invite-csrf_token": browser.csrf_token(page),
            "invite-email": "colleague@example.com",
            "invite-name": "Colleague",
        },
    )
    assert answer.status_code == 302
    with app.app_context():
        deliver_due()
    [message] = mailbox.to("colleague@example.com")
    html = message.get_body(("html",)).get_content()
    assert "31337" not in html
    assert f'<img src="http://{tenant_host(tenant)}/branding/logo?v={logo}"' in html
