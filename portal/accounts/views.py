"""Log in and out, reset a forgotten password, and the user's own account settings."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from portal.accounts import devices, mails, second_factor, services
from portal.accounts.forms import (
    AccountForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
)
from portal.accounts.mails import send_password_link
from portal.db import db
from portal.i18n import enabled_locales, locale_name
from portal.web.helpers import form_errors_to_fields, safe_next
from portal.web.navigation import EVERYONE, NavItem, add_nav_item
from portal.web.submissions import record_outcome

bp = Blueprint("accounts", __name__)
# In the session: this login was completed with a second factor.
SECOND_FACTOR_DONE = "second_factor_done"
add_nav_item(NavItem("accounts.settings", _l("My account"), EVERYONE, 100, section="accounts."))


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.email.data,
                form.password.data,
                request.remote_addr,
                known_device=devices.device_id,
            )
        except services.LoginRefused as refused:
            db.session.commit()  # the failed attempt counts towards the throttle
            form.form_errors.append(refused.message)
            page = render_template("accounts/login.html", form=form)
            if isinstance(refused, services.LoginThrottled):
                return page, 429, {"Retry-After": str(refused.retry_after)}
            return page, 200
        if second_factor.has_second_factor(user) or second_factor.required_for(
            user, g.tenant.second_factor_policy
        ):
            from portal.accounts.second_factor_views import begin_second_step

            return begin_second_step(user, safe_next())
        return finish_login(user, redirect(safe_next()))
    return render_template("accounts/login.html", form=form)


def finish_login(user, response, *, second_factor_used: bool = False):
    """Open the session of ``user`` (the password, and the second factor where there is
    one, were checked), commit, and return ``response`` marked as a known device."""
    # A fresh session at login: nothing from before the login survives into it.
    chosen_locale = session.get("locale")
    session.clear()
    if chosen_locale:
        session["locale"] = chosen_locale
    if second_factor_used:
        session[SECOND_FACTOR_DONE] = True
    services.start_session(user, request.remote_addr, request.user_agent.string)
    login_user(user)
    db.session.commit()
    devices.remember_device(response, user)
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    services.end_session(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have been logged out."), "success")
    return redirect(url_for("accounts.login"))


def invited(user, back_url: str):
    """Send a newly invited ``user`` the e-mail, commit, say so and go back to ``back_url``."""
    send_password_link(user, "invitation")
    record_outcome(back_url)
    db.session.commit()
    flash(_("%(email)s was invited by e-mail to use the portal.", email=user.email), "success")
    return redirect(back_url)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same work for every address: the worker looks it up (see accounts.mails).
        mails.request_password_reset(form.email.data)
        db.session.commit()
        # The same answer whether or not the address has an account.
        flash(
            _(
                "If an account exists for this address, we have sent it a link to choose a new password."
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = services.user_for_reset_token(token)
    if user is None:
        flash(_("This link is invalid or has expired. Please ask for a new one."), "error")
        return redirect(url_for("accounts.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password(user, form.new_password.data, action="password.reset")
        except services.AccountError as error:
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            flash(_("Your password has been changed. You can now log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form, token=token)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def settings():
    form = AccountForm(obj=current_user) if request.method == "GET" else AccountForm()
    form.locale.choices = [("", _("Automatic (browser language)"))] + [
        (code, locale_name(code)) for code in enabled_locales()
    ]
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        try:
            services.update_account(
                current_user,
                name=form.name.data or "",
                email=form.email.data,
                locale=form.locale.data or None,
                current_password=form.current_password.data,
                email_notifications=form.email_notifications.data,
            )
        except services.AccountError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            flash(_("Your settings have been saved."), "success")
            return redirect(url_for("accounts.settings"))
    return render_template("accounts/settings.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except services.AccountError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            flash(
                _("Your password has been changed. Your other sessions were logged out."), "success"
            )
            return redirect(url_for("accounts.settings"))
    return render_template("accounts/change_password.html", form=form)
