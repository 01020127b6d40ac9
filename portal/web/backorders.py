"""Backorders: order lines that stock could not cover yet, per product, oldest order first.

They are released automatically when stock arrives (see ``release_backorders``); this page
shows what is still waiting.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core.clients.models import Client
from portal.core.orders.models import OPEN_STATUSES, Order, OrderLine
from portal.core.products.models import Product
from portal.db import contains_any, db
from portal.web.access import client_or_staff, is_staff, visible
from portal.web.navigation import CLIENT_AND_STAFF, NavItem, add_nav_item
from portal.web.orders import client_choices
from portal.web.pagination import keyset_page, page_args

bp = Blueprint("backorders", __name__, url_prefix="/backorders")

add_nav_item(
    NavItem("backorders.index", _l("Backorders"), CLIENT_AND_STAFF, 35, section="backorders.")
)

MISSING = OrderLine.quantity - OrderLine.allocated - OrderLine.shipped


def _waiting_lines(statement):
    """Narrow a statement over order lines to the missing units of open orders."""
    return statement.join(
        Order, (Order.tenant_id == OrderLine.tenant_id) & (Order.id == OrderLine.order_id)
    ).where(Order.status.in_(OPEN_STATUSES), OrderLine.waiting())


@bp.route("/")
@client_or_staff
def index():
    staff = is_staff()
    search = request.args.get("q", "").strip()
    client_id = request.args.get("client", type=uuid.UUID) if staff else None
    # One row per product: what is missing in total. Paged by product code.
    products = visible(
        _waiting_lines(
            select(
                Product.id.label("id"),
                Product.code.label("code"),
                Product.name.label("name"),
                Product.client_id.label("client_id"),
                func.sum(MISSING).label("missing"),
                func.count(OrderLine.id).label("orders"),
            ).select_from(OrderLine)
        ).join(
            Product,
            (Product.tenant_id == OrderLine.tenant_id) & (Product.id == OrderLine.product_id),
        ),
        Order,
    ).group_by(Product.id, Product.code, Product.name, Product.client_id)
    if search:
        products = products.where(contains_any(search, Product.code, Product.name))
    if client_id is not None:
        products = products.where(Order.client_id == client_id)
    cursor, size = page_args()
    page = keyset_page(
        products,
        [(Product.code, False), (Product.id, False)],
        cursor=cursor,
        size=size,
        scalars=False,
    )
    waiting = _orders_waiting([row.id for row in page.items], client_id)
    client_names = _client_names({row.client_id for row in page.items}) if staff else {}
    return render_template(
        "backorders/list.html",
        page=page,
        waiting=waiting,
        client_names=client_names,
        filters={"q": search, "client": client_id},
        staff=staff,
        clients=client_choices() if staff else [],
    )


def _orders_waiting(product_ids: list[uuid.UUID], client_id: uuid.UUID | None):
    """Return ``{product_id: [(order, missing), ...]}``, oldest order first, in one query."""
    if not product_ids:
        return {}
    statement = visible(
        _waiting_lines(select(OrderLine.product_id, Order, MISSING.label("missing"))).where(
            OrderLine.product_id.in_(product_ids)
        ),
        Order,
    ).order_by(Order.submitted_at, Order.id)
    if client_id is not None:
        statement = statement.where(Order.client_id == client_id)
    waiting = defaultdict(list)
    for product_id, order, missing in db.session.execute(statement):
        waiting[product_id].append((order, missing))
    return waiting


def _client_names(client_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not client_ids:
        return {}
    rows = db.session.execute(select(Client.id, Client.name).where(Client.id.in_(client_ids)))
    return dict(rows.all())
