"""Observer hooks and webhooks: the one place where core services announce their changes.

Changes are collected on the session while the transaction runs; just before the commit the
host turns each changed purchase order into plain data (the ORM rows may not be read after
the commit), and after a successful commit the enabled plugins' observers are called. A
rolled-back change is never reported.

The same notes (and :func:`webhook_event` for changes that plugins are not told about) become
webhook deliveries with their outbox rows just before the commit, in the same transaction
(:func:`portal.webhooks.services.write_deliveries`): a rolled-back change sends nothing.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.plugins.contracts import OrderEvent, PurchaseOrderEvent

PENDING = "portal_plugin_events"
READY = "portal_plugin_events_ready"
WEBHOOK_EVENTS = "portal_webhook_events"


def _host():
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    return current_app.extensions.get("portal.plugins")


def _wanted(host, hook_name: str) -> bool:
    return host is not None and bool(getattr(host.manager.hook, hook_name).get_hookimpls())


def webhook_event(event_type: str, obj) -> None:
    """Note an event (``order.created``, ``product.stock_changed``...) about ``obj`` for the
    webhook endpoints that want it; the deliveries are written just before the commit."""
    from portal.db import db

    db.session.info.setdefault(WEBHOOK_EVENTS, []).append((event_type, obj))


def purchase_order_changed(po, action: str, old_status: str, new_status: str) -> None:
    """Note a purchase order's change for ``portal_purchase_order_event`` and webhooks."""
    from portal.db import db
    from portal.webhooks.catalog import PURCHASE_ORDER_ACTIONS

    if action in PURCHASE_ORDER_ACTIONS:
        webhook_event(PURCHASE_ORDER_ACTIONS[action], po)
    if not _wanted(_host(), "portal_purchase_order_event"):
        return
    db.session.info.setdefault(PENDING, []).append(("po", po, action, old_status, new_status))


def order_changed(order, action: str, old_status: str, new_status: str) -> None:
    """Note a client order's change for ``portal_order_event`` and webhooks."""
    from portal.db import db
    from portal.webhooks.catalog import order_event_types

    for event_type in order_event_types(action, old_status, new_status):
        webhook_event(event_type, order)
    if not _wanted(_host(), "portal_order_event"):
        return
    db.session.info.setdefault(PENDING, []).append(("order", order, action, old_status, new_status))


@event.listens_for(Session, "before_commit")
def _prepare(session) -> None:
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    from portal.core.purchasing.rules import order_data
    from portal.tenants.models import Tenant

    host = _host()
    ready = []
    for kind, obj, action, old, new in pending:
        tenant = session.get(Tenant, obj.tenant_id)
        slug = tenant.slug if tenant is not None else ""
        if kind == "po":
            data = order_data(obj)
            ready.append(
                (
                    obj.tenant_id,
                    "portal_purchase_order_event",
                    PurchaseOrderEvent(slug, action, old, new, data),
                )
            )
        else:
            ready.append(
                (
                    obj.tenant_id,
                    "portal_order_event",
                    OrderEvent(slug, action, obj.number, old, new),
                )
            )
    enabled = {}
    for tenant_id, _hook, _event in ready:
        if tenant_id not in enabled:
            enabled[tenant_id] = host.enabled_names() if host else set()
    session.info[READY] = [(hook, evt, enabled[tenant_id]) for tenant_id, hook, evt in ready]


@event.listens_for(Session, "before_commit")
def _write_webhooks(session) -> None:
    noted = session.info.pop(WEBHOOK_EVENTS, None)
    if not noted:
        return
    from portal.tenants.context import tenant_context
    from portal.tenants.models import Tenant
    from portal.webhooks.services import write_deliveries

    by_tenant: dict = {}
    seen = set()
    for event_type, obj in noted:
        if (event_type, id(obj)) in seen:
            continue  # the same change noted twice in one transaction is one event
        seen.add((event_type, id(obj)))
        by_tenant.setdefault(obj.tenant_id, []).append((event_type, obj))
    for tenant_id, events in by_tenant.items():
        with tenant_context(session.get(Tenant, tenant_id)):
            write_deliveries(events)


@event.listens_for(Session, "after_commit")
def _notify(session) -> None:
    ready = session.info.pop(READY, None)
    host = _host()
    if not ready or host is None:
        return
    for hook_name, evt, enabled in ready:
        host.notify(hook_name, evt, enabled)


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(READY, None)
    session.info.pop(WEBHOOK_EVENTS, None)
