"""Shipments of the client's orders, with carrier and tracking."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.core.orders.models import Order, Shipment, ShipmentLine
from portal.core.orders.queries import OrderFilter, filter_shipments
from portal.web.access import client_or_staff, get_visible_or_404, is_staff, visible
from portal.web.navigation import CLIENT_AND_STAFF, NavItem, add_nav_item
from portal.web.orders import client_choices, export_links
from portal.web.pagination import keyset_page, page_args

bp = Blueprint("shipments", __name__, url_prefix="/shipments")

add_nav_item(
    NavItem("shipments.index", _l("Shipments"), CLIENT_AND_STAFF, 30, section="shipments.")
)


@bp.route("/")
@client_or_staff
def index():
    staff = is_staff()
    filters = OrderFilter(
        q=request.args.get("q", "").strip(),
        client_id=request.args.get("client", type=uuid.UUID) if staff else None,
    )
    # The same filter as the export's (portal.core.orders.queries), narrowed to the user.
    statement = filter_shipments(
        visible(select(Shipment), Shipment).join(
            Order, (Order.tenant_id == Shipment.tenant_id) & (Order.id == Shipment.order_id)
        ),
        filters,
    ).options(selectinload(Shipment.order), selectinload(Shipment.client))
    cursor, size = page_args()
    page = keyset_page(statement, [(Shipment.id, True)], cursor=cursor, size=size)
    args = {"q": filters.q, "client": filters.client_id}
    return render_template(
        "shipments/list.html",
        page=page,
        filters=args,
        staff=staff,
        clients=client_choices() if staff else [],
        exports=export_links("shipments", **args),
    )


@bp.route("/<uuid:shipment_id>")
@client_or_staff
def detail(shipment_id: uuid.UUID):
    shipment = get_visible_or_404(
        Shipment,
        shipment_id,
        selectinload(Shipment.order),
        selectinload(Shipment.client),
        selectinload(Shipment.lines).selectinload(ShipmentLine.product),
    )
    return render_template("shipments/detail.html", shipment=shipment, staff=is_staff())
