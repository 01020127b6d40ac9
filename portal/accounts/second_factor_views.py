"""The second step of a login, and the pages where users set up their second factors.

After the password, a user with a second factor (or one the tenant requires to have one) is
not logged in yet: the session only names them as *pending* for a few minutes
(:data:`PENDING`). They either prove a factor (:func:`verify`, :func:`passkey_login`) or,
when they must have one and have none, set one up first (:func:`manage` and the pages after
it accept the pending user). Only then :func:`portal.accounts.views.finish_login` opens the
session, with a new session id. A logged-in user whose tenant starts requiring a second
factor is held on the set-up pages by :func:`_hold_until_enrolled`.
"""

from __future__ import annotations

import time
import uuid

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select

from portal.accounts import second_factor, services
from portal.accounts.forms import (
    ConfirmAuthenticatorForm,
    PasswordConfirmForm,
    SecondFactorCodeForm,
)
from portal.accounts.models import User
from portal.accounts.views import SECOND_FACTOR_DONE, finish_login
from portal.db import db
from portal.tenants.resolver import host_name
from portal.web.helpers import form_errors_to_fields

bp = Blueprint("second_factor", __name__)

PENDING = "second_factor_pending"
PENDING_SECONDS = 10 * 60
# Reachable while a logged-in user is held until they set up a second factor.
OPEN_WHILE_HELD = frozenset(
    {
        "accounts.logout",
        "static",
        "themes.static",
        "branding.asset",
        "web.theme_css",
        "web.favicon",
        "web.set_language",
        "health.healthz",
    }
)


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


# --- who is at the second step ----------------------------------------------------------------


def begin_second_step(user: User, next_url: str):
    """Remember ``user`` as pending (the password was right) and go to the second step."""
    chosen_locale = session.get("locale")
    session.clear()
    if chosen_locale:
        session["locale"] = chosen_locale
    session[PENDING] = {"user": str(user.id), "since": int(time.time()), "next": next_url}
    db.session.commit()
    if second_factor.has_second_factor(user):
        return redirect(url_for("second_factor.verify"))
    flash(_("Your portal requires a second factor. Please set one up to continue."), "info")
    return redirect(url_for("second_factor.manage"))


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if time.time() - pending.get("since", 0) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    try:
        user_id = uuid.UUID(pending.get("user", ""))
    except (TypeError, ValueError):
        return None
    user = db.session.scalar(select(User).where(User.id == user_id))
    return user if user is not None and user.active else None


def _complete(user: User, method: str, *, json_answer: bool = False):
    """Finish the pending login of ``user`` after the second factor ``method``."""
    pending = session.get(PENDING) or {}
    target = pending.get("next") or url_for("web.dashboard")
    second_factor.record_login(user, method)
    response = jsonify(redirect=target) if json_answer else redirect(target)
    return finish_login(user, response, second_factor_used=True)


def _enrolling_user() -> tuple[User | None, bool]:
    """Return the user setting up a factor and whether they are still at the login."""
    if current_user.is_authenticated:
        return current_user, False
    return _pending_user(), True


def _relying_party() -> second_factor.RelyingParty:
    # The tenant's host the browser shows (no port), and the page's origin.
    return second_factor.RelyingParty(
        id=host_name(request.host),
        name=g.tenant.name,
        origin=request.host_url.rstrip("/"),
    )


# --- the second step --------------------------------------------------------------------------


@bp.route("/login/second-factor", methods=["GET", "POST"])
def verify():
    user = _pending_user()
    if user is None:
        flash(_("Please log in again."), "info")
        return redirect(url_for("accounts.login"))
    if not second_factor.has_second_factor(user):
        return redirect(url_for("second_factor.manage"))
    form = SecondFactorCodeForm()
    has_app = second_factor.authenticator_of(user) is not None
    status = 200
    headers = {}
    if form.validate_on_submit():
        try:
            method = second_factor.verify_code(user, form.code.data)
        except second_factor.SecondFactorRefused as refused:
            db.session.commit()  # the failed attempt is audited
            form_errors_to_fields(form, refused)
            if isinstance(refused, second_factor.SecondFactorThrottled):
                status, headers = 429, {"Retry-After": str(refused.retry_after)}
        else:
            left = second_factor.unused_recovery_codes(user)
            response = _complete(user, method)
            if method == "recovery_code":
                # After the login: it starts a fresh session, without earlier messages.
                flash(
                    _(
                        "You logged in with a recovery code. Recovery codes left: %(left)d.",
                        left=left,
                    ),
                    "info",
                )
            return response
    page = render_template(
        "accounts/second_factor.html",
        form=form,
        has_app=has_app,
        has_passkeys=bool(second_factor.passkeys_of(user)),
    )
    return page, status, headers


@bp.route("/login/second-factor/passkey/options", methods=["POST"])
def passkey_login_options():
    user = _pending_user()
    if user is None:
        abort(403)
    options, challenge = second_factor.passkey_authentication_options(user, _relying_party())
    session[PENDING] = {**session[PENDING], "challenge": challenge}
    return options, 200, {"Content-Type": "application/json"}


@bp.route("/login/second-factor/passkey", methods=["POST"])
def passkey_login():
    user = _pending_user()
    challenge = (session.get(PENDING) or {}).get("challenge")
    if user is None or not challenge:
        abort(403)
    # The challenge is good for one answer.
    session[PENDING] = {k: v for k, v in session[PENDING].items() if k != "challenge"}
    try:
        second_factor.verify_passkey(
            user, request.get_json(silent=True) or {}, challenge, _relying_party()
        )
    except second_factor.SecondFactorRefused as refused:
        db.session.commit()
        status = 429 if isinstance(refused, second_factor.SecondFactorThrottled) else 400
        return jsonify(error=str(refused.message)), status
    return _complete(user, "passkey", json_answer=True)


# --- setting up second factors ----------------------------------------------------------------


def _user_or_login():
    user, at_login = _enrolling_user()
    if user is None:
        return None, at_login, redirect(url_for("accounts.login"))
    return user, at_login, None


@bp.route("/account/second-factor")
def manage():
    user, at_login, away = _user_or_login()
    if away:
        return away
    return render_template(
        "accounts/second_factors.html",
        at_login=at_login,
        authenticator=second_factor.authenticator_of(user),
        passkeys=second_factor.passkeys_of(user),
        recovery_codes_left=second_factor.unused_recovery_codes(user),
        required=second_factor.required_for(user, g.tenant.second_factor_policy),
        password_form=PasswordConfirmForm(),
    )


@bp.route("/account/second-factor/app/start", methods=["POST"])
def start_authenticator():
    user, _at_login, away = _user_or_login()
    if away:
        return away
    second_factor.start_authenticator(user)
    db.session.commit()
    return redirect(url_for("second_factor.authenticator"))


@bp.route("/account/second-factor/app", methods=["GET", "POST"])
def authenticator():
    user, at_login, away = _user_or_login()
    if away:
        return away
    being_set_up = second_factor.authenticator_being_set_up(user)
    secret = second_factor.secret_of(being_set_up) if being_set_up else None
    if secret is None:
        return redirect(url_for("second_factor.manage"))
    form = ConfirmAuthenticatorForm()
    if form.validate_on_submit():
        try:
            codes = second_factor.confirm_authenticator(user, form.code.data)
        except second_factor.SecondFactorRefused as refused:
            db.session.rollback()
            form_errors_to_fields(form, refused)
        else:
            page = make_response(
                render_template(
                    "accounts/recovery_codes.html", codes=codes, continue_url=_after_enrolment()
                )
            )
            if at_login:
                second_factor.record_login(user, "totp")
                return finish_login(user, page, second_factor_used=True)
            session[SECOND_FACTOR_DONE] = True
            db.session.commit()
            return page
    uri = second_factor.provisioning_uri(being_set_up, user, g.tenant.name)
    return render_template(
        "accounts/authenticator.html",
        form=form,
        qr_code=second_factor.qr_code_svg(uri, _("QR code to scan with the authenticator app")),
        secret=second_factor.grouped_secret(secret),
    )


def _after_enrolment() -> str:
    pending = session.get(PENDING) or {}
    return pending.get("next") or url_for("second_factor.manage")


def _password_checked_change(change, success_message: str):
    """Run ``change(user, password)`` for the logged-in user with the password they typed."""
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    form = PasswordConfirmForm()
    if not form.validate_on_submit():
        flash(_("Enter your password to make this change."), "error")
        return None
    try:
        result = change(current_user, form.password.data)
    except services.AccountError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("second_factor.manage"))
    db.session.commit()
    if success_message:
        flash(success_message, "success")
    return result


@bp.route("/account/second-factor/app/remove", methods=["POST"])
def remove_authenticator():
    _password_checked_change(
        second_factor.remove_authenticator, _("The authenticator app was removed.")
    )
    return redirect(url_for("second_factor.manage"))


@bp.route("/account/second-factor/recovery-codes", methods=["POST"])
def new_recovery_codes():
    def issue(user, password):
        second_factor.check_password(user, password)
        return second_factor.issue_recovery_codes(user)

    codes = _password_checked_change(issue, "")
    if not isinstance(codes, list):
        return codes or redirect(url_for("second_factor.manage"))
    return render_template(
        "accounts/recovery_codes.html",
        codes=codes,
        continue_url=url_for("second_factor.manage"),
    )


@bp.route("/account/second-factor/passkeys/options", methods=["POST"])
def passkey_options():
    user, _at_login, away = _user_or_login()
    if away:
        abort(403)
    options, challenge = second_factor.passkey_registration_options(user, _relying_party())
    session["passkey_registration"] = challenge
    return options, 200, {"Content-Type": "application/json"}


@bp.route("/account/second-factor/passkeys", methods=["POST"])
def add_passkey():
    user, at_login, away = _user_or_login()
    challenge = session.pop("passkey_registration", None)
    if away or not challenge:
        abort(403)
    answer = request.get_json(silent=True) or {}
    credential = answer.get("credential") if isinstance(answer, dict) else None
    name = answer.get("name") if isinstance(answer, dict) else ""
    try:
        second_factor.register_passkey(
            user, credential or {}, challenge, _relying_party(), str(name or "")
        )
    except second_factor.SecondFactorRefused as refused:
        db.session.rollback()
        return jsonify(error=str(refused.message)), 400
    target = url_for("second_factor.manage")
    if at_login:
        response = finish_login(user, jsonify(redirect=target), second_factor_used=True)
    else:
        session[SECOND_FACTOR_DONE] = True
        db.session.commit()
        response = jsonify(redirect=target)
    flash(_("The security key was added."), "success")
    return response


@bp.route("/account/second-factor/passkeys/<uuid:passkey_id>/remove", methods=["POST"])
def remove_passkey(passkey_id: uuid.UUID):
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if second_factor.passkey_of(current_user, passkey_id) is None:
        abort(404)
    _password_checked_change(
        lambda user, password: second_factor.remove_passkey(user, passkey_id, password),
        _("The security key was removed."),
    )
    return redirect(url_for("second_factor.manage"))


# --- holding users who must set one up --------------------------------------------------------


@bp.before_app_request
def _hold_until_enrolled():
    """Keep a user half-way through a login on its second step, and a logged-in user whom
    the tenant requires to have a second factor on the set-up pages until they have one; a
    session opened without it (before the requirement) ends."""
    if g.get("tenant") is None:
        return None
    endpoint = request.endpoint or ""
    if endpoint in OPEN_WHILE_HELD or endpoint.startswith("second_factor."):
        return None
    if not current_user.is_authenticated:
        # Half-way through a login: back to its second step (the login page stays open,
        # to start over).
        if session.get(PENDING) and endpoint != "accounts.login":
            return redirect(url_for("second_factor.verify"))
        return None
    if session.get(SECOND_FACTOR_DONE):
        return None
    if not second_factor.required_for(current_user, g.tenant.second_factor_policy):
        return None
    if second_factor.has_second_factor(current_user):
        services.end_session(current_user)
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("Please log in again, now with your second factor."), "info")
        return redirect(url_for("accounts.login"))
    flash(_("Your portal requires a second factor. Please set one up to continue."), "info")
    return redirect(url_for("second_factor.manage"))
