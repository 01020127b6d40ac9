"""Forms of the accounts pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from portal.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from portal.web.fields import TextLength


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])


def _new_password_fields():
    new_password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            TextLength(
                minimum=MIN_LENGTH,
                maximum=MAX_LENGTH,
                too_short=lazy_ngettext(
                    "The password must be at least %(num)d character long.",
                    "The password must be at least %(num)d characters long.",
                    MIN_LENGTH,
                ),
            ),
        ],
        description=lazy_ngettext(
            "At least %(num)d character.", "At least %(num)d characters.", MIN_LENGTH
        ),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two passwords do not match.")),
        ],
    )
    return new_password, confirm


class ResetPasswordForm(FlaskForm):
    new_password, confirm = _new_password_fields()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password, confirm = _new_password_fields()


class AccountForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    locale = SelectField(_l("Language"), choices=[], validate_choice=True)
    email_notifications = BooleanField(
        _l("Send me e-mails about my orders"),
        description=_l("For example when an order has been shipped."),
    )
    current_password = PasswordField(
        _l("Current password"),
        validators=[Optional()],
        description=_l("Needed only when you change your e-mail address."),
    )


class UserForm(FlaskForm):
    """Tenant admin: add or edit a staff or admin user."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=[])
    active = BooleanField(_l("May log in"), default=True)


class SecondFactorCodeForm(FlaskForm):
    """The second step of a login: the app's code, or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l(
            "The 6-digit code your authenticator app shows, or one of your recovery codes."
        ),
    )


class ConfirmAuthenticatorForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("The 6-digit code the app shows after you added the portal to it."),
    )


class PasswordConfirmForm(FlaskForm):
    """A change to how someone logs in: the person acting re-enters their own password."""

    password = PasswordField(
        _l("Your password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )


class SecondFactorPolicyForm(FlaskForm):
    policy = RadioField(
        _l("Who must log in with a second factor"),
        choices=[
            SelectChoice("optional", _l("Nobody: each user decides")),
            SelectChoice("staff", _l("Administrators and staff")),
            SelectChoice("everyone", _l("Everyone")),
        ],
        validators=[DataRequired()],
    )
