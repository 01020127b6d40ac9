"""Warehouses of the tenant in context."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core.errors import DomainError
from portal.core.warehouses.models import Warehouse
from portal.db import db


def create_default_warehouse() -> Warehouse:
    """Create the tenant's first warehouse, used for purchase orders unless set otherwise."""
    warehouse = Warehouse(code="MAIN", name="Main warehouse", is_default=True)
    db.session.add(warehouse)
    db.session.flush()
    return warehouse


def default_warehouse() -> Warehouse:
    warehouse = db.session.scalar(
        select(Warehouse).where(Warehouse.is_default.is_(True)).order_by(Warehouse.id).limit(1)
    ) or db.session.scalar(select(Warehouse).order_by(Warehouse.id).limit(1))
    if warehouse is None:
        raise DomainError(_l("No warehouse is set up yet. Please ask your administrator."))
    return warehouse


def purchase_order_warehouse(client) -> Warehouse:
    """Return where the client's purchase orders are delivered."""
    if client is not None and client.purchase_order_warehouse is not None:
        return client.purchase_order_warehouse
    return default_warehouse()
