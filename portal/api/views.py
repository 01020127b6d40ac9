"""The "Integration" settings page: a supplier's, a client's (or an admin's) integration
tokens.

Create a token (its secret is shown once, on the page that answers the form, never in a
redirect or the session), regenerate it (the old secret stops at once: the page says so
before and after) and revoke it. The token's actions go through :mod:`portal.api.tokens`.
"""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import Length, Optional

from portal.accounts.models import Role
from portal.api import tokens
from portal.api.models import ApiToken
from portal.db import db
from portal.i18n import start_of_day
from portal.web.access import _require
from portal.web.navigation import NavItem, add_nav_item
from portal.web.refusals import attempt

bp = Blueprint("integration", __name__, url_prefix="/integration")

HOLDERS = frozenset({Role.SUPPLIER, Role.CLIENT, Role.ADMIN})
add_nav_item(NavItem("integration.index", _l("Integration"), HOLDERS, 90, section="integration."))


def _may_hold_tokens() -> bool:
    if current_user.role == Role.ADMIN:
        return True
    if current_user.role == Role.CLIENT:
        # The same condition as the client's pages: its company has portal access.
        return current_user.client is not None and current_user.client.portal_access
    return (
        current_user.role == Role.SUPPLIER
        and current_user.supplier is not None
        and current_user.supplier.active
    )


token_holders = _require(_may_hold_tokens)


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[Length(max=100)],
        description=_l("Which software uses the token, for example: our ERP."),
    )
    expires_on = DateField(
        _l("Expires on"),
        validators=[Optional()],
        description=_l("Optional. Leave empty for a token that does not expire."),
    )


class ConfirmForm(FlaskForm):
    """A button that asks first (regenerate, revoke)."""


def _token(token_id: uuid.UUID) -> ApiToken:
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.owner_id == current_user.id)
    )
    if token is None or token.revoked_at is not None:
        abort(404)
    return token


def _token_form(permissions) -> TokenForm:
    """Return the form with one box per permission that the user's role may grant."""

    class RoleTokenForm(TokenForm):
        pass

    for permission in permissions:
        setattr(RoleTokenForm, permission.field, BooleanField(permission.label))
    return RoleTokenForm()


def _scopes(form: TokenForm, permissions) -> list[str]:
    chosen: list[str] = []
    for permission in permissions:
        if form[permission.field].data:
            chosen += permission.scopes
    return chosen


@bp.route("/", methods=["GET", "POST"])
@token_holders
def index():
    permissions = tokens.permissions_for(current_user)
    form = _token_form(permissions)
    allowed = tokens.allowed_scopes(current_user)
    if allowed and form.validate_on_submit():
        expires_at = None
        if form.expires_on.data:
            # The token works through the whole day chosen, in the tenant's time zone.
            day = form.expires_on.data
            expires_at = start_of_day(date.fromordinal(day.toordinal() + 1))
        outcome = attempt(
            form,
            lambda: tokens.create_token(
                current_user, form.name.data, _scopes(form, permissions), expires_at
            ),
        )
        if outcome.ok:
            issued = outcome.result
            db.session.commit()
            return render_template("api/secret.html", issued=issued, regenerated=False)
    return render_template(
        "api/index.html",
        form=form,
        allowed=allowed,
        permissions=[form[permission.field] for permission in permissions],
        tokens=tokens.tokens_of(current_user),
        scope_labels=tokens.scope_labels(current_user),
    )


@bp.route("/<uuid:token_id>/regenerate", methods=["GET", "POST"])
@token_holders
def regenerate(token_id: uuid.UUID):
    token = _token(token_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        issued = tokens.regenerate_token(token)
        db.session.commit()
        return render_template("api/secret.html", issued=issued, regenerated=True)
    return render_template("api/regenerate.html", token=token, form=form)


@bp.route("/<uuid:token_id>/revoke", methods=["GET", "POST"])
@token_holders
def revoke(token_id: uuid.UUID):
    token = _token(token_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        tokens.revoke_token(token)
        db.session.commit()
        flash(_("The token %(name)s was revoked.", name=token.name), "success")
        return redirect(url_for("integration.index"))
    return render_template("api/revoke.html", token=token, form=form)
