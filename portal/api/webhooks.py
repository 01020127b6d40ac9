"""Webhooks of the token's supplier: list, create (the secret is answered once), read,
change, delete, rotate the secret, send a test event, its deliveries, send one again.

Every change goes through :mod:`portal.webhooks.services`, as the pages do. Another
supplier's or another tenant's endpoint is not found (404). Managing webhooks needs the
``purchase_orders:read`` permission: webhooks only tell what the token may read anyway.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from portal.api.auth import current_token, requires
from portal.api.blueprints import resource_blueprint
from portal.api.idempotency import idempotent
from portal.api.problems import Problem
from portal.api.schemas import InputSchema, messages
from portal.db import db
from portal.webhooks import services
from portal.webhooks.catalog import allowed_event_types
from portal.webhooks.models import OwnerKind, WebhookDelivery, WebhookEndpoint

READ = "purchase_orders:read"
TEXT = _l("Please enter text.")
WHOLE_NUMBER = _l("Please enter a whole number.")
EVENT_DESCRIPTION = {
    "description": "Event types: " + ", ".join(allowed_event_types(OwnerKind.SUPPLIER))
}

bp = resource_blueprint(
    "api_webhooks",
    __name__,
    "/webhooks",
    "The token's supplier's webhooks: where the portal sends signed events of its purchase orders.",
)


# --- schemas ---------------------------------------------------------------------------------


class WebhookSchema(InputSchema):
    id = fields.UUID()
    url = fields.String()
    description = fields.String()
    event_types = fields.List(fields.String(), metadata=EVENT_DESCRIPTION)
    enabled = fields.Boolean()
    disabled_reason = fields.String(
        allow_none=True, metadata={"enum": ["manual", "gone", "failing", None]}
    )
    failing_since = fields.AwareDateTime(allow_none=True)
    previous_secret_until = fields.AwareDateTime(
        allow_none=True, metadata={"description": "Until then the old secret signs too"}
    )
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "Shown only in this answer"})


class WebhookListSchema(InputSchema):
    items = fields.List(fields.Nested(WebhookSchema))


class WebhookCreateSchema(InputSchema):
    url = fields.String(
        required=True, validate=validate.Length(max=2000), error_messages=messages(TEXT)
    )
    description = fields.String(validate=validate.Length(max=200), error_messages=messages(TEXT))
    event_types = fields.List(
        fields.String(error_messages=messages(TEXT)),
        required=True,
        error_messages=messages(_l("Please send a list of event types.")),
        metadata=EVENT_DESCRIPTION,
    )


class WebhookUpdateSchema(InputSchema):
    url = fields.String(validate=validate.Length(max=2000), error_messages=messages(TEXT))
    description = fields.String(validate=validate.Length(max=200), error_messages=messages(TEXT))
    event_types = fields.List(
        fields.String(error_messages=messages(TEXT)),
        error_messages=messages(_l("Please send a list of event types.")),
        metadata=EVENT_DESCRIPTION,
    )
    enabled = fields.Boolean(error_messages=messages(_l("Please send true or false.")))


class WebhookRotateSchema(InputSchema):
    grace_hours = fields.Integer(
        load_default=24,
        validate=validate.Range(min=0, max=168, error=_l("Please enter a number from 0 to 168.")),
        error_messages=messages(WHOLE_NUMBER),
        metadata={"description": "How long the old secret keeps signing too (hours)"},
    )


class WebhookAttemptSchema(InputSchema):
    at = fields.String(metadata={"description": "ISO 8601 time of the attempt"})
    manual = fields.Boolean(metadata={"description": "Sent again by hand"})
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer()
    response = fields.String(metadata={"description": "The start of the receiver's answer"})
    error = fields.String()


class WebhookDeliverySchema(InputSchema):
    id = fields.UUID()
    event_id = fields.String(metadata={"description": "The webhook-id header"})
    event_type = fields.String()
    status = fields.String(metadata={"enum": ["pending", "succeeded", "failed"]})
    attempts = fields.List(fields.Nested(WebhookAttemptSchema))
    created_at = fields.AwareDateTime()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    succeeded_at = fields.AwareDateTime(allow_none=True)


class WebhookDeliveryListSchema(InputSchema):
    items = fields.List(fields.Nested(WebhookDeliverySchema))


# --- helpers ---------------------------------------------------------------------------------


def _document(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason.value if endpoint.disabled_reason else None,
        "failing_since": endpoint.failing_since,
        "previous_secret_until": endpoint.previous_secret_until,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def _delivery(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status.value,
        "attempts": [
            {key: value for key, value in entry.items() if value is not None}
            for entry in delivery.attempts or []
        ],
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "succeeded_at": delivery.succeeded_at,
    }


# --- endpoints -------------------------------------------------------------------------------


def add_webhook_routes(bp, owner, permission: str, **bound: bool) -> None:
    """Add the webhook endpoints to ``bp`` for the webhooks of ``owner()``.

    The supplier's and the tenant's webhooks are the same resource with another owner;
    ``permission`` and ``bound`` (``supplier=True``, ``tenant=True``) go to :func:`requires`.
    """

    def load(webhook_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = services.find_endpoint(owner(), webhook_id)
        if endpoint is None:
            raise Problem(404)
        return endpoint

    @bp.route("")
    @requires(permission, **bound)
    @bp.response(200, WebhookListSchema)
    def list_webhooks():
        """List the webhooks, oldest first."""
        return {"items": [_document(e) for e in services.endpoints_of(owner())]}

    @bp.route("", methods=["POST"])
    @requires(permission, **bound)
    @idempotent
    @bp.arguments(WebhookCreateSchema())
    @bp.response(201, WebhookWithSecretSchema)
    def create_webhook(body):
        """Add a webhook. The answer carries its signing secret, which is never shown again.

        The URL must reach a public address (not a private network or this server).
        """
        endpoint, secret = services.create_endpoint(
            owner(), body["url"], body["event_types"], body.get("description", "")
        )
        db.session.flush()
        return {**_document(endpoint), "secret": secret}

    @bp.route("/<uuid:webhook_id>")
    @requires(permission, **bound)
    @bp.response(200, WebhookSchema)
    def get_webhook(webhook_id: uuid.UUID):
        """Return one webhook (without its secret)."""
        return _document(load(webhook_id))

    @bp.route("/<uuid:webhook_id>", methods=["PATCH"])
    @requires(permission, **bound)
    @bp.arguments(WebhookUpdateSchema())
    @bp.response(200, WebhookSchema)
    def update_webhook(body, webhook_id: uuid.UUID):
        """Change URL, description or events, or switch the webhook off or on again."""
        endpoint = load(webhook_id)
        services.update_endpoint(endpoint, **body)
        db.session.flush()
        answer = _document(endpoint)
        db.session.commit()
        return answer

    @bp.route("/<uuid:webhook_id>", methods=["DELETE"])
    @requires(permission, **bound)
    @bp.response(204)
    def delete_webhook(webhook_id: uuid.UUID):
        """Delete the webhook and its deliveries."""
        services.delete_endpoint(load(webhook_id))
        db.session.commit()
        return ""

    @bp.route("/<uuid:webhook_id>/rotate", methods=["POST"])
    @requires(permission, **bound)
    @idempotent
    @bp.arguments(WebhookRotateSchema(), required=False)
    @bp.response(200, WebhookWithSecretSchema)
    def rotate_webhook_secret(body, webhook_id: uuid.UUID):
        """Make a new signing secret; the old one signs too until the grace period ends."""
        endpoint = load(webhook_id)
        secret = services.rotate_secret(endpoint, timedelta(hours=body.get("grace_hours", 24)))
        db.session.flush()
        return {**_document(endpoint), "secret": secret}

    @bp.route("/<uuid:webhook_id>/test", methods=["POST"])
    @requires(permission, **bound)
    @idempotent
    @bp.response(202, WebhookDeliverySchema)
    def send_test_event(webhook_id: uuid.UUID):
        """Send a ``webhook.ping`` event to this webhook; answers its delivery."""
        return _delivery(services.send_test_event(load(webhook_id)))

    @bp.route("/<uuid:webhook_id>/deliveries")
    @requires(permission, **bound)
    @bp.response(200, WebhookDeliveryListSchema)
    def list_deliveries(webhook_id: uuid.UUID):
        """List the webhook's latest 50 deliveries with their attempts, newest first."""
        endpoint = load(webhook_id)
        return {"items": [_delivery(d) for d in services.deliveries_of(endpoint)]}

    @bp.route("/<uuid:webhook_id>/deliveries/<uuid:delivery_id>/replay", methods=["POST"])
    @requires(permission, **bound)
    @idempotent
    @bp.response(202, WebhookDeliverySchema)
    def replay_delivery(webhook_id: uuid.UUID, delivery_id: uuid.UUID):
        """Send the delivery once more, with the same webhook-id and body."""
        delivery = services.find_delivery(load(webhook_id), delivery_id)
        if delivery is None:
            raise Problem(404)
        services.replay(delivery)
        return _delivery(delivery)


add_webhook_routes(
    bp,
    lambda: services.Owner(OwnerKind.SUPPLIER, supplier_id=current_token().supplier_id),
    READ,
    supplier=True,
)
