"""Second factors in the browser: an authenticator app set up from its QR page and used at
login, recovery codes, wrong and throttled codes, a passkey on Chromium's virtual
authenticator, and a tenant that requires a second factor."""

from __future__ import annotations

import time

import pyotp
from playwright.sync_api import Page, expect

from portal.accounts.second_factor import STEP_SECONDS
from portal.db import db
from portal.tenants.models import SecondFactorPolicy, Tenant

WRONG_CODE = "This code is not correct, or it was already used. Please try again."


def set_up_app(page: Page, user, visit, submit) -> tuple[pyotp.TOTP, list[str]]:
    """Set up an authenticator app on the account page, as a person with a phone would:
    type the key shown on the page into the app and the app's code into the page."""
    visit(page, user.tenant.url("/account/second-factor"))
    submit(page, page.get_by_role("button", name="Set up an authenticator app"))
    expect(page.locator("figure.qr-code svg")).to_be_visible()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    submit(page, page.get_by_role("button", name="Confirm"))
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    submit(page, page.get_by_role("link", name="I have saved the codes"))
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    # The current step's code was used to confirm the app and cannot be used again; the next
    # step's code is accepted already (one step of clock drift is tolerated).
    return totp.at(time.time() + STEP_SECONDS)


def log_out(page: Page, submit) -> None:
    submit(page, page.locator("form.logout button[type=submit]"))


def enter_code(page: Page, code: str, submit) -> None:
    page.get_by_label("Code", exact=True).fill(code)
    submit(page, page.get_by_role("button", name="Continue"))


def test_app_code_recovery_code_and_wrong_code(
    new_context, create_site_tenant, create_site_user, log_in, log_in_as, visit, submit
):
    tenant = create_site_tenant()
    user = create_site_user(tenant, name="Tessa Two-Step")
    page = new_context().new_page()
    log_in_as(page, user)
    totp, codes = set_up_app(page, user, visit, submit)
    log_out(page, submit)

    log_in(page, tenant, user.email, user.password)
    expect(page).to_have_url(tenant.url("/login/second-factor"))
    enter_code(page, "000000", submit)
    expect(page.locator(".errors")).to_contain_text(WRONG_CODE)
    enter_code(page, next_code(totp), submit)
    expect(page).to_have_url(tenant.url("/dashboard"))
    log_out(page, submit)

    log_in(page, tenant, user.email, user.password)
    enter_code(page, codes[0], submit)
    expect(page).to_have_url(tenant.url("/dashboard"))
    expect(page.locator(".flashes")).to_contain_text("Recovery codes left: 9")
    log_out(page, submit)

    log_in(page, tenant, user.email, user.password)
    enter_code(page, codes[0], submit)
    expect(page).to_have_url(tenant.url("/login/second-factor"))
    expect(page.locator(".errors")).to_contain_text(WRONG_CODE)


def test_repeated_wrong_codes_are_throttled(
    live_server,
    monkeypatch,
    new_context,
    create_site_tenant,
    create_site_user,
    log_in,
    log_in_as,
    visit,
    submit,
):
    monkeypatch.setitem(
        live_server.app.config, "PORTAL_RATE_LIMIT_SECOND_FACTOR", "3 per 5 minutes"
    )
    tenant = create_site_tenant()
    user = create_site_user(tenant)
    page = new_context().new_page()
    log_in_as(page, user)
    totp, _codes = set_up_app(page, user, visit, submit)
    log_out(page, submit)

    log_in(page, tenant, user.email, user.password)
    for _ in range(3):
        enter_code(page, "999999", submit)
        expect(page.locator(".errors")).to_contain_text(WRONG_CODE)
    enter_code(page, next_code(totp), submit)

    expect(page.locator(".errors")).to_contain_text("Too many codes were tried.")
    expect(page).to_have_url(tenant.url("/login/second-factor"))


def add_virtual_authenticator(page: Page) -> None:
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def test_a_passkey_is_registered_and_used_at_login(
    new_context, create_site_tenant, create_site_user, log_in, log_in_as, visit, submit
):
    tenant = create_site_tenant()
    user = create_site_user(tenant)
    page = new_context().new_page()
    add_virtual_authenticator(page)
    log_in_as(page, user)

    visit(page, tenant.url("/account/second-factor"))
    page.get_by_label("Name of the key").fill("Test laptop")
    submit(page, page.get_by_role("button", name="Add a passkey or security key"))
    expect(page.locator("main")).to_contain_text("Test laptop")
    log_out(page, submit)

    log_in(page, tenant, user.email, user.password)
    expect(page).to_have_url(tenant.url("/login/second-factor"))
    submit(page, page.get_by_role("button", name="Use a security key"))
    expect(page).to_have_url(tenant.url("/dashboard"))


def test_a_required_second_factor_sends_staff_to_enrolment(
    live_server, new_context, create_site_tenant, create_site_user, log_in, log_in_as, visit, submit
):
    tenant = create_site_tenant()
    admin = create_site_user(tenant, role="admin")
    staff = create_site_user(tenant, role="staff")
    page = new_context().new_page()
    log_in_as(page, admin)
    visit(page, tenant.url("/admin/login-security"))
    page.get_by_label("Administrators and staff").check()
    submit(page, page.get_by_role("button", name="Save"))
    with live_server.app.app_context():
        assert db.session.get(Tenant, tenant.id).second_factor_policy == SecondFactorPolicy.STAFF
    # The admin is staff too: held until they set one up.
    expect(page).to_have_url(tenant.url("/account/second-factor"))

    other = new_context().new_page()
    log_in(other, tenant, staff.email, staff.password)
    expect(other).to_have_url(tenant.url("/account/second-factor"))
    expect(other.locator("main")).to_contain_text(
        "Your portal requires a second factor for your account."
    )
    visit(other, tenant.url("/orders"))
    expect(other).to_have_url(tenant.url("/account/second-factor"))
    submit(other, other.get_by_role("button", name="Set up an authenticator app"))
    secret = other.locator("code.secret").inner_text().replace(" ", "")
    other.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    submit(other, other.get_by_role("button", name="Confirm"))
    submit(other, other.get_by_role("link", name="I have saved the codes"))
    expect(other).to_have_url(tenant.url("/dashboard"))
