"""The accounts' e-mails: a link to choose a password (reset, invitation) and the notice
about failed logins, each in the recipient's language and with the tenant's branding.

A password-reset request is not answered in the request: the form only queues an outbox row
of kind ``password_reset_request`` holding the typed address, the same row whether or not
the address has an account, so the answer takes as long for both and tells nobody which
addresses exist. The worker looks the address up and sends the link, or drops the row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, g, has_request_context, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from portal.accounts import services
from portal.accounts.links import public_base_url, public_url
from portal.audit.services import record
from portal.db import db
from portal.mail import queue_email, send_email
from portal.outbox.services import enqueue, handler
from portal.tenants.context import require_tenant
from portal.tenants.models import Tenant

RESET_REQUEST = "password_reset_request"

# Subjects of the e-mails that carry a link to choose a password, per template.
PASSWORD_LINK_SUBJECTS = {
    "password_reset": lambda portal: _("Reset your password for %(portal)s", portal=portal),
    "invitation": lambda portal: _("Your account for %(portal)s", portal=portal),
}


def _tenant():
    return g.get("tenant") or require_tenant()


def compose(template: str, subject: str, locale: str, **context: Any) -> dict[str, Any]:
    """Return the payload of an e-mail written from ``email/<template>.{txt,html}``."""
    tenant = _tenant()
    with force_locale(locale):
        values = {"tenant": tenant, **context}
        return {
            "subject": subject if isinstance(subject, str) else str(subject),
            "text": render_template(f"email/{template}.txt", **values),
            "html": render_template(f"email/{template}.html", **values),
            "sender_name": tenant.name,
        }


def _password_link_payload(user, template: str, locale: str) -> dict[str, Any]:
    tenant = _tenant()
    link = public_url("accounts.reset_password", token=services.password_reset_token(user))
    with force_locale(locale):
        subject = PASSWORD_LINK_SUBJECTS[template](tenant.name)
    return {
        "to": user.email,
        **compose(
            template,
            subject,
            locale,
            user=user,
            link=link,
            hours=current_app.config["PORTAL_PASSWORD_RESET_HOURS"],
        ),
    }


def send_password_link(user, template: str) -> None:
    """Queue an e-mail with a link to choose a password, in the user's language."""
    payload = _password_link_payload(user, template, user.locale or str(get_locale()))
    queue_email(
        payload["to"],
        payload["subject"],
        payload["text"],
        payload["html"],
        sender_name=payload["sender_name"],
    )


def request_password_reset(email: str) -> None:
    """Queue the answer to a "forgot password" form for ``email``, whoever it belongs to.

    The same row for every address, without looking it up: see the module's docstring.
    """
    enqueue(RESET_REQUEST, {"email": email.strip().lower()[:254], "locale": str(get_locale())})


@contextmanager
def _mail_context(tenant) -> Iterator[None]:
    """Give the templates what they have in a request: the tenant, and a request on its
    public address so that the e-mail layout can link the logo."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context(base_url=public_base_url(tenant)):
        previous = g.get("tenant")
        g.tenant = tenant
        try:
            yield
        finally:
            g.tenant = previous


@handler(RESET_REQUEST)
def answer_password_reset_request(payload: dict[str, Any], idempotency_key: str) -> None:
    """Send the reset link to the address of a "forgot password" form if an active user of
    the tenant has it; drop the request otherwise."""
    user = services.find_user_by_email(payload["email"])
    if user is None or not user.active:
        return
    tenant = db.session.get(Tenant, require_tenant().id)
    with _mail_context(tenant):
        message = _password_link_payload(
            user, "password_reset", user.locale or payload.get("locale") or "en"
        )
    send_email(message, idempotency_key)
    record("password.reset_requested", user)


def send_failed_logins_notice(user, failures: int) -> None:
    """Queue the e-mail that tells ``user`` of repeated failed logins to their account."""
    tenant = _tenant()
    locale = user.locale or str(tenant.default_locale)
    with force_locale(locale):
        subject = _("Failed logins to your account at %(portal)s", portal=tenant.name)
    message = compose(
        "login_failures",
        subject,
        locale,
        user=user,
        failures=failures,
        minutes=current_app.config["PORTAL_LOGIN_WINDOW_MINUTES"],
        reset_link=public_url("accounts.forgot_password"),
    )
    queue_email(
        user.email,
        message["subject"],
        message["text"],
        message["html"],
        sender_name=message["sender_name"],
    )
