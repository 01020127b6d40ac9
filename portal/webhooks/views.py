"""The webhook pages: a tenant admin's endpoints (the tenant's) and a supplier's (its own).

List, add (URL checked, events picked), change, switch off and on, rotate the secret (shown
once), send a test event, and each delivery with its attempts and a "send again" button.
An id of another tenant's or another owner's endpoint or delivery is not found (404).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

import portal.webhooks.delivery  # noqa: F401 - registers the outbox handler
from portal.accounts.models import Role
from portal.db import db
from portal.i18n import moment
from portal.web.access import _require
from portal.web.navigation import NavItem, add_nav_item
from portal.web.refusals import attempt
from portal.webhooks import services
from portal.webhooks.catalog import EVENT_TYPES, allowed_event_types
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

HOLDERS = frozenset({Role.SUPPLIER, Role.ADMIN})
add_nav_item(NavItem("webhooks.index", _l("Webhooks"), HOLDERS, 91, section="webhooks."))


def _may_hold_webhooks() -> bool:
    if current_user.role == Role.ADMIN:
        return True
    return (
        current_user.role == Role.SUPPLIER
        and current_user.supplier is not None
        and current_user.supplier.active
    )


webhook_holders = _require(_may_hold_webhooks)


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EndpointForm(FlaskForm):
    url = StringField(
        _l("Address (URL)"),
        validators=[
            InputRequired(message=_l("Please enter the receiver's address.")),
            Length(max=2000),
        ],
        description=_l(
            "Where the portal sends the events, for example https://erp.example.com/hooks."
        ),
    )
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    event_types = CheckboxesField(_l("Events"), validate_choice=False)
    enabled = BooleanField(_l("Switched on"), default=True)


class RotateForm(FlaskForm):
    grace_hours = IntegerField(
        _l("Old secret keeps working for (hours)"),
        default=24,
        validators=[
            InputRequired(message=_l("Please enter a whole number.")),
            NumberRange(min=0, max=168, message=_l("Please enter a number from 0 to 168.")),
        ],
        description=_l("During this time both secrets sign each request, so you can switch over."),
    )


class ConfirmForm(FlaskForm):
    """A button that asks first (delete), or just posts (test event, send again)."""


@bp.context_processor
def _formatting():
    def written_moment(value) -> str:
        """Format a time (or an ISO 8601 text of one) for the reader's locale and zone."""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return moment(value) if value else ""

    return {"moment": written_moment}


def _owner() -> services.Owner:
    return services.Owner.of_user(current_user)


def _endpoint(endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = services.find_endpoint(_owner(), endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _delivery(endpoint: WebhookEndpoint, delivery_id: uuid.UUID) -> WebhookDelivery:
    delivery = services.find_delivery(endpoint, delivery_id)
    if delivery is None:
        abort(404)
    return delivery


def _choices(form: EndpointForm) -> None:
    form.event_types.choices = [
        (name, str(EVENT_TYPES[name])) for name in allowed_event_types(_owner().kind)
    ]


@bp.route("/", methods=["GET", "POST"])
@webhook_holders
def index():
    form = EndpointForm()
    _choices(form)
    if form.validate_on_submit():
        outcome = attempt(
            form,
            lambda: services.create_endpoint(
                _owner(), form.url.data, form.event_types.data or [], form.description.data or ""
            ),
        )
        if outcome.ok:
            endpoint, secret = outcome.result
            db.session.commit()
            return render_template("webhooks/secret.html", endpoint=endpoint, secret=secret)
    return render_template(
        "webhooks/index.html", form=form, endpoints=services.endpoints_of(_owner())
    )


@bp.route("/<uuid:endpoint_id>", methods=["GET", "POST"])
@webhook_holders
def detail(endpoint_id: uuid.UUID):
    endpoint = _endpoint(endpoint_id)
    form = EndpointForm(obj=endpoint)
    _choices(form)
    if form.validate_on_submit():
        outcome = attempt(
            form,
            lambda: services.update_endpoint(
                endpoint,
                url=form.url.data,
                description=form.description.data or "",
                event_types=form.event_types.data or [],
                enabled=form.enabled.data,
            ),
        )
        if outcome.ok:
            db.session.commit()
            flash(_("The webhook was saved."), "success")
            return redirect(url_for(".detail", endpoint_id=endpoint.id))
        endpoint = _endpoint(endpoint_id)
    return render_template(
        "webhooks/detail.html",
        endpoint=endpoint,
        form=form,
        action=ConfirmForm(),
        deliveries=services.deliveries_of(endpoint),
        event_labels=EVENT_TYPES,
    )


@bp.route("/<uuid:endpoint_id>/rotate", methods=["GET", "POST"])
@webhook_holders
def rotate(endpoint_id: uuid.UUID):
    endpoint = _endpoint(endpoint_id)
    form = RotateForm()
    if form.validate_on_submit():
        secret = services.rotate_secret(endpoint, timedelta(hours=form.grace_hours.data))
        db.session.commit()
        return render_template(
            "webhooks/secret.html", endpoint=endpoint, secret=secret, rotated=True
        )
    return render_template("webhooks/rotate.html", endpoint=endpoint, form=form)


@bp.route("/<uuid:endpoint_id>/test", methods=["POST"])
@webhook_holders
def send_test(endpoint_id: uuid.UUID):
    endpoint = _endpoint(endpoint_id)
    if ConfirmForm().validate_on_submit():
        services.send_test_event(endpoint)
        db.session.commit()
        flash(_("A test event is on its way. Its delivery is listed below."), "success")
    return redirect(url_for(".detail", endpoint_id=endpoint.id))


@bp.route("/<uuid:endpoint_id>/delete", methods=["GET", "POST"])
@webhook_holders
def delete(endpoint_id: uuid.UUID):
    endpoint = _endpoint(endpoint_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_endpoint(endpoint)
        db.session.commit()
        flash(_("The webhook to %(url)s was deleted.", url=endpoint.url), "success")
        return redirect(url_for(".index"))
    return render_template("webhooks/delete.html", endpoint=endpoint, form=form)


@bp.route("/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>")
@webhook_holders
def delivery(endpoint_id: uuid.UUID, delivery_id: uuid.UUID):
    endpoint = _endpoint(endpoint_id)
    return render_template(
        "webhooks/delivery.html",
        endpoint=endpoint,
        delivery=_delivery(endpoint, delivery_id),
        action=ConfirmForm(),
    )


@bp.route("/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/replay", methods=["POST"])
@webhook_holders
def replay(endpoint_id: uuid.UUID, delivery_id: uuid.UUID):
    endpoint = _endpoint(endpoint_id)
    found = _delivery(endpoint, delivery_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        outcome = attempt(form, lambda: services.replay(found))
        if outcome.ok:
            db.session.commit()
            flash(_("The event is sent once more."), "success")
        else:
            for message in form.form_errors:
                flash(message, "error")
    return redirect(url_for(".delivery", endpoint_id=endpoint.id, delivery_id=found.id))
