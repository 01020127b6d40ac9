"""Dispatch notices for a supplier's token: the goods of a purchase order on their way, with
carrier, tracking code, expected date and the units per line; in parts and several times, as
the supplier portal allows.

A notice goes through :func:`portal.core.purchasing.responses.dispatch` and the store is told
by :func:`portal.purchase_notifications.notify_store_of_dispatch`, as on the supplier
portal's dispatch page. The time of a notice (``dispatched_at``) is the ship date: the moment
the supplier announced that the goods left.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.idempotency import idempotent
from portal.api.problems import Problem, domain_problem
from portal.api.purchase_orders import DATE, READ, TEXT, VERSION, WHOLE_NUMBER, WRITE, _load
from portal.api.schemas import InputSchema, messages
from portal.core.errors import DomainError
from portal.core.orders.carriers import tracking_url
from portal.core.purchasing import responses
from portal.core.purchasing.models import DispatchNotice, PurchaseOrder
from portal.db import db
from portal.purchase_notifications import notify_store_of_dispatch

bp = resource_blueprint(
    "api_supplier_dispatch",
    __name__,
    "/purchase-orders",
    "Dispatch notices: the supplier announces goods on their way, in parts if need be.",
)


# --- schemas ---------------------------------------------------------------------------------


class DispatchNoticeLineSchema(InputSchema):
    line_id = fields.UUID(metadata={"description": "The purchase order line"})
    position = fields.Integer(metadata={"description": "1 for the order's first line"})
    product_code = fields.String()
    quantity = fields.Integer(metadata={"description": "Units on their way"})


class DispatchNoticeSchema(InputSchema):
    id = fields.UUID()
    carrier = fields.String()
    tracking_code = fields.String()
    tracking_url = fields.String(allow_none=True)
    expected_date = fields.Date(allow_none=True, metadata={"description": "Expected arrival"})
    note = fields.String()
    dispatched_at = fields.AwareDateTime(metadata={"description": "When it was announced"})
    lines = fields.List(fields.Nested(DispatchNoticeLineSchema))


class DispatchOpenLineSchema(InputSchema):
    line_id = fields.UUID()
    position = fields.Integer()
    product_code = fields.String()
    quantity = fields.Integer(metadata={"description": "Units ordered (as confirmed)"})
    dispatched = fields.Integer(metadata={"description": "Units announced so far"})
    open = fields.Integer(metadata={"description": "Units still to be announced"})


class DispatchNoticeListSchema(InputSchema):
    items = fields.List(fields.Nested(DispatchNoticeSchema))
    lines = fields.List(fields.Nested(DispatchOpenLineSchema))
    status = fields.String(metadata={"description": "The purchase order's status now"})
    version = fields.Integer(metadata={"description": "The purchase order's version now"})


class DispatchLineSchema(InputSchema):
    id = fields.UUID(error_messages=messages(_l("Please send the line's id.")))
    position = fields.Integer(error_messages=messages(WHOLE_NUMBER))
    quantity = fields.Integer(required=True, strict=True, error_messages=messages(WHOLE_NUMBER))

    @validates_schema
    def _one_line(self, data, **kwargs):
        if ("id" in data) == ("position" in data):
            raise ValidationError(
                _l("Please name the line by its id or its position."), field_name="id"
            )


class DispatchNoticeInputSchema(InputSchema):
    version = fields.Integer(
        allow_none=True, error_messages=messages(WHOLE_NUMBER), metadata=VERSION
    )
    carrier = fields.String(
        load_default="", validate=validate.Length(max=100), error_messages=messages(TEXT)
    )
    tracking_code = fields.String(
        load_default="", validate=validate.Length(max=100), error_messages=messages(TEXT)
    )
    expected_date = fields.Date(
        allow_none=True,
        error_messages=messages(DATE),
        metadata={"description": "Expected arrival at the warehouse"},
    )
    note = fields.String(
        load_default="", validate=validate.Length(max=2000), error_messages=messages(TEXT)
    )
    lines = fields.List(
        fields.Nested(DispatchLineSchema),
        allow_none=True,
        metadata={
            "description": "The units on their way per line; left out, everything not yet "
            "announced goes"
        },
    )


# --- documents -------------------------------------------------------------------------------


def _notice(notice: DispatchNotice, po: PurchaseOrder) -> dict[str, Any]:
    position_of = {line.id: (position, line) for position, line in enumerate(po.lines, start=1)}
    lines = []
    for item in notice.lines:
        position, line = position_of[item.purchase_order_line_id]
        lines.append(
            {
                "line_id": line.id,
                "position": position,
                "product_code": line.product.code,
                "quantity": item.quantity,
            }
        )
    return {
        "id": notice.id,
        "carrier": notice.carrier,
        "tracking_code": notice.tracking_code,
        "tracking_url": tracking_url(notice.carrier, notice.tracking_code),
        "expected_date": notice.expected_date,
        "note": notice.note,
        "dispatched_at": notice.created_at,
        "lines": sorted(lines, key=lambda entry: entry["position"]),
    }


def _notices(po: PurchaseOrder) -> list[DispatchNotice]:
    return list(
        db.session.scalars(
            select(DispatchNotice)
            .where(DispatchNotice.purchase_order_id == po.id)
            .options(selectinload(DispatchNotice.lines))
            .order_by(DispatchNotice.created_at, DispatchNotice.id)
        )
    )


def _quantities(po: PurchaseOrder, lines: list[dict]):
    """Map the request's lines to the order's: ``({line id: units}, {position: path})``."""
    by_id = {line.id: line for line in po.lines}
    by_position = dict(enumerate(po.lines, start=1))
    position_of = {line.id: position for position, line in by_position.items()}
    quantities: dict[uuid.UUID, int] = {}
    paths: dict[int, str] = {}
    errors = []
    for index, entry in enumerate(lines):
        line = by_id.get(entry["id"]) if "id" in entry else by_position.get(entry["position"])
        if line is None or line.id in quantities:
            detail = _l("This line is not on the purchase order, or is named twice.")
            key = "id" if "id" in entry else "position"
            errors.append({"field": f"lines[{index}].{key}", "in": "body", "detail": str(detail)})
            continue
        quantities[line.id] = entry["quantity"]
        paths[position_of[line.id]] = f"lines[{index}].quantity"
    if errors:
        raise Problem(422, "validation_failed", errors=errors)
    return quantities, paths


# --- views -----------------------------------------------------------------------------------


@bp.route("/<uuid:purchase_order_id>/dispatch-notices")
@requires(READ, supplier=True)
@bp.response(200, DispatchNoticeListSchema)
def list_dispatch_notices(purchase_order_id: uuid.UUID):
    """The order's dispatch notices, oldest first, and per line what is still to be announced."""
    po = _load(purchase_order_id)
    announced = responses.dispatched_units(po)
    lines = []
    for position, line in enumerate(po.lines, start=1):
        done = announced.get(line.id, 0)
        lines.append(
            {
                "line_id": line.id,
                "position": position,
                "product_code": line.product.code,
                "quantity": line.quantity,
                "dispatched": done,
                "open": max(line.quantity - done, 0),
            }
        )
    return {
        "items": [_notice(notice, po) for notice in _notices(po)],
        "lines": lines,
        "status": po.status.value,
        "version": po.version,
    }


@bp.route("/<uuid:purchase_order_id>/dispatch-notices", methods=["POST"])
@requires(WRITE, supplier=True)
@idempotent
@bp.arguments(DispatchNoticeInputSchema())
@bp.response(201, DispatchNoticeSchema)
def create_dispatch_notice(body, purchase_order_id: uuid.UUID):
    """Announce goods on their way; the store is told by e-mail, as from the portal.

    Without ``lines`` everything not yet announced goes; with them, only the units named (the
    rest can follow in further notices). A confirmed, in-production or partially dispatched
    order accepts notices until every unit is announced.
    """
    po = _load(purchase_order_id)
    quantities, paths = (None, {})
    if body.get("lines") is not None:
        quantities, paths = _quantities(po, body["lines"])
    try:
        notice = responses.dispatch(
            po,
            carrier=body["carrier"],
            tracking_code=body["tracking_code"],
            expected_date=body.get("expected_date"),
            quantities=quantities,
            note=body["note"],
            expected_version=body.get("version"),
        )
    except DomainError as error:
        raise domain_problem(error, paths) from None
    notify_store_of_dispatch(po, notice)
    db.session.flush()
    return _notice(notice, po)
