"""Observer hooks: tell enabled plugins about committed changes of orders.

Changes are collected on the session while the transaction runs; just before the commit the
host turns each changed purchase order into plain data (the ORM rows may not be read after
the commit), and after a successful commit the enabled plugins' observers are called. A
rolled-back change is never reported.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.plugins.contracts import OrderEvent, PurchaseOrderEvent

PENDING = "portal_plugin_events"
READY = "portal_plugin_events_ready"


def _host():
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    return current_app.extensions.get("portal.plugins")


def _wanted(host, hook_name: str) -> bool:
    return host is not None and bool(getattr(host.manager.hook, hook_name).get_hookimpls())


def purchase_order_changed(po, action: str, old_status: str, new_status: str) -> None:
    """Note a purchase order's change for ``portal_purchase_order_event``."""
    from portal.db import db

    if not _wanted(_host(), "portal_purchase_order_event"):
        return
    db.session.info.setdefault(PENDING, []).append(("po", po, action, old_status, new_status))


def order_changed(order, action: str, old_status: str, new_status: str) -> None:
    """Note a client order's change for ``portal_order_event``."""
    from portal.db import db

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
