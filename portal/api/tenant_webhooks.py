"""The tenant's own webhooks (those an administrator manages on the Webhooks page): list,
create (the secret is answered once), read, change, delete, rotate the secret, send a test
event, its deliveries, send one again.

The same code as the supplier's webhooks (:mod:`portal.api.webhooks`): its schemas and
documents, and :mod:`portal.webhooks.services` for every change, with the tenant as owner. A
partner's or another tenant's endpoint is not found (404).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from portal.api.auth import requires
from portal.api.idempotency import idempotent
from portal.api.problems import Problem
from portal.api.tenant_sync import tenant_blueprint
from portal.api.webhooks import (
    WebhookCreateSchema,
    WebhookDeliveryListSchema,
    WebhookDeliverySchema,
    WebhookListSchema,
    WebhookRotateSchema,
    WebhookSchema,
    WebhookUpdateSchema,
    WebhookWithSecretSchema,
)
from portal.api.webhooks import _delivery as delivery_document
from portal.api.webhooks import _document as webhook_document
from portal.db import db
from portal.webhooks import services
from portal.webhooks.models import OwnerKind, WebhookEndpoint

MANAGE = "webhooks:manage"

bp = tenant_blueprint(
    "api_tenant_webhooks",
    __name__,
    "/webhooks",
    "The tenant's own webhooks: where the portal sends signed events of all clients' data.",
)


def _owner() -> services.Owner:
    return services.Owner(OwnerKind.TENANT)


def _load(webhook_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = services.find_endpoint(_owner(), webhook_id)
    if endpoint is None:
        raise Problem(404)
    return endpoint


@bp.route("")
@requires(MANAGE, tenant=True)
@bp.response(200, WebhookListSchema)
def list_webhooks():
    """List the tenant's webhooks, oldest first."""
    return {"items": [webhook_document(e) for e in services.endpoints_of(_owner())]}


@bp.route("", methods=["POST"])
@requires(MANAGE, tenant=True)
@idempotent
@bp.arguments(WebhookCreateSchema())
@bp.response(201, WebhookWithSecretSchema)
def create_webhook(body):
    """Add a webhook. The answer carries its signing secret, which is never shown again.

    The URL must reach a public address (not a private network or this server).
    """
    endpoint, secret = services.create_endpoint(
        _owner(), body["url"], body["event_types"], body.get("description", "")
    )
    db.session.flush()
    return {**webhook_document(endpoint), "secret": secret}


@bp.route("/<uuid:webhook_id>")
@requires(MANAGE, tenant=True)
@bp.response(200, WebhookSchema)
def get_webhook(webhook_id: uuid.UUID):
    """Return one webhook (without its secret)."""
    return webhook_document(_load(webhook_id))


@bp.route("/<uuid:webhook_id>", methods=["PATCH"])
@requires(MANAGE, tenant=True)
@bp.arguments(WebhookUpdateSchema())
@bp.response(200, WebhookSchema)
def update_webhook(body, webhook_id: uuid.UUID):
    """Change URL, description or events, or switch the webhook off or on again."""
    endpoint = _load(webhook_id)
    services.update_endpoint(endpoint, **body)
    db.session.flush()
    answer = webhook_document(endpoint)
    db.session.commit()
    return answer


@bp.route("/<uuid:webhook_id>", methods=["DELETE"])
@requires(MANAGE, tenant=True)
@bp.response(204)
def delete_webhook(webhook_id: uuid.UUID):
    """Delete the webhook and its deliveries."""
    services.delete_endpoint(_load(webhook_id))
    db.session.commit()
    return ""


@bp.route("/<uuid:webhook_id>/rotate", methods=["POST"])
@requires(MANAGE, tenant=True)
@idempotent
@bp.arguments(WebhookRotateSchema(), required=False)
@bp.response(200, WebhookWithSecretSchema)
def rotate_webhook_secret(body, webhook_id: uuid.UUID):
    """Make a new signing secret; the old one signs too until the grace period ends."""
    endpoint = _load(webhook_id)
    secret = services.rotate_secret(endpoint, timedelta(hours=body.get("grace_hours", 24)))
    db.session.flush()
    return {**webhook_document(endpoint), "secret": secret}


@bp.route("/<uuid:webhook_id>/test", methods=["POST"])
@requires(MANAGE, tenant=True)
@idempotent
@bp.response(202, WebhookDeliverySchema)
def send_test_event(webhook_id: uuid.UUID):
    """Send a ``webhook.ping`` event to this webhook; answers its delivery."""
    return delivery_document(services.send_test_event(_load(webhook_id)))


@bp.route("/<uuid:webhook_id>/deliveries")
@requires(MANAGE, tenant=True)
@bp.response(200, WebhookDeliveryListSchema)
def list_deliveries(webhook_id: uuid.UUID):
    """List the webhook's latest 50 deliveries with their attempts, newest first."""
    endpoint = _load(webhook_id)
    return {"items": [delivery_document(d) for d in services.deliveries_of(endpoint)]}


@bp.route("/<uuid:webhook_id>/deliveries/<uuid:delivery_id>/replay", methods=["POST"])
@requires(MANAGE, tenant=True)
@idempotent
@bp.response(202, WebhookDeliverySchema)
def replay_delivery(webhook_id: uuid.UUID, delivery_id: uuid.UUID):
    """Send the delivery once more, with the same webhook-id and body."""
    delivery = services.find_delivery(_load(webhook_id), delivery_id)
    if delivery is None:
        raise Problem(404)
    services.replay(delivery)
    return delivery_document(delivery)
