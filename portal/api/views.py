"""The "Integration" settings page: a supplier's (or an admin's) integration tokens.

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

HOLDERS = frozenset({Role.SUPPLIER, Role.ADMIN})
add_nav_item(NavItem("integration.index", _l("Integration"), HOLDERS, 90, section="integration."))


def _may_hold_tokens() -> bool:
    if current_user.role == Role.ADMIN:
        return True
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
    read = BooleanField(_l("Read purchase orders"))
    write = BooleanField(_l("Answer purchase orders (acknowledge, confirm, reject)"))
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


def _scopes(form: TokenForm) -> list[str]:
    chosen = []
    if form.read.data:
        chosen.append("purchase_orders:read")
    if form.write.data:
        chosen += ["purchase_orders:read", "purchase_orders:write"]
    return chosen


@bp.route("/", methods=["GET", "POST"])
@token_holders
def index():
    form = TokenForm()
    allowed = tokens.allowed_scopes(current_user)
    if allowed and form.validate_on_submit():
        expires_at = None
        if form.expires_on.data:
            # The token works through the whole day chosen, in the tenant's time zone.
            day = form.expires_on.data
            expires_at = start_of_day(date.fromordinal(day.toordinal() + 1))
        outcome = attempt(
            form,
            lambda: tokens.create_token(current_user, form.name.data, _scopes(form), expires_at),
        )
        if outcome.ok:
            issued = outcome.result
            db.session.commit()
            return render_template("api/secret.html", issued=issued, regenerated=False)
    return render_template(
        "api/index.html",
        form=form,
        allowed=allowed,
        tokens=tokens.tokens_of(current_user),
        scope_labels=tokens.SCOPES,
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
