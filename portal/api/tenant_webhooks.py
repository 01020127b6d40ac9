"""The tenant's own webhooks (those an administrator manages on the Webhooks page): list,
create (the secret is answered once), read, change, delete, rotate the secret, send a test
event, its deliveries, send one again.

The same code as the supplier's webhooks (:mod:`portal.api.webhooks`): its schemas and
documents, and :mod:`portal.webhooks.services` for every change, with the tenant as owner. A
partner's or another tenant's endpoint is not found (404).
"""

from __future__ import annotations

from portal.api.tenant_sync import tenant_blueprint
from portal.api.webhooks import add_webhook_routes
from portal.webhooks import services
from portal.webhooks.models import OwnerKind

MANAGE = "webhooks:manage"

bp = tenant_blueprint(
    "api_tenant_webhooks",
    __name__,
    "/webhooks",
    "The tenant's own webhooks: where the portal sends signed events of all clients' data.",
)


add_webhook_routes(bp, lambda: services.Owner(OwnerKind.TENANT), MANAGE, tenant=True)
