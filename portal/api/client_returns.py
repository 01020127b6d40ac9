"""The client's returns with their lines and status log.

Read only: in the core, returns are registered, received and processed by the tenant's
staff (:mod:`portal.web.returns`); there is no service for a client announcing a return
yet, so the API offers none either.
"""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import (
    SyncQuerySchema,
    one_or_404,
    own,
    page_schema,
    status_field,
    sync_page,
)
from portal.api.schemas import InputSchema
from portal.core.returns.models import Disposition, Return, ReturnLine, ReturnStatus

READ = "returns:read"
SYNC_ORDER = [(Return.updated_at, False), (Return.id, False)]
STATUSES = [status.value for status in ReturnStatus]

bp = resource_blueprint(
    "api_client_returns", __name__, "/returns", "The client's returns and their status log."
)


class ReturnLineSchema(InputSchema):
    id = fields.UUID()
    position = fields.Integer()
    product_id = fields.UUID()
    product_code = fields.String()
    product_name = fields.String()
    quantity = fields.Integer()
    disposition = fields.String(metadata={"enum": [d.value for d in Disposition]})
    replacement_product_code = fields.String(allow_none=True)
    replacement_quantity = fields.Integer()


class StatusChangeSchema(InputSchema):
    status = fields.String(metadata={"enum": STATUSES})
    note = fields.String()
    changed_at = fields.AwareDateTime()


class ReturnSchema(InputSchema):
    id = fields.UUID()
    number = fields.String()
    status = fields.String(metadata={"enum": STATUSES})
    order_id = fields.UUID(allow_none=True)
    order_number = fields.String(allow_none=True)
    reason = fields.String()
    received_at = fields.AwareDateTime(allow_none=True)
    lines = fields.List(fields.Nested(ReturnLineSchema))
    history = fields.List(
        fields.Nested(StatusChangeSchema), metadata={"description": "Oldest first"}
    )
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


ReturnPageSchema = page_schema("ReturnPageSchema", ReturnSchema)


class ReturnQuerySchema(SyncQuerySchema):
    status = status_field(STATUSES)


def _with_details(statement):
    return statement.options(
        selectinload(Return.lines).selectinload(ReturnLine.product),
        selectinload(Return.lines).selectinload(ReturnLine.replacement_product),
        selectinload(Return.history),
        selectinload(Return.order),
    )


def _document(ret: Return) -> dict[str, Any]:
    return {
        "id": ret.id,
        "number": ret.number,
        "status": ret.status.value,
        "order_id": ret.order_id,
        "order_number": ret.order.number if ret.order is not None else None,
        "reason": ret.reason,
        "received_at": ret.received_at,
        "lines": [
            {
                "id": line.id,
                "position": position,
                "product_id": line.product_id,
                "product_code": line.product.code,
                "product_name": line.product.name,
                "quantity": line.quantity,
                "disposition": line.disposition.value,
                "replacement_product_code": (
                    line.replacement_product.code if line.replacement_product else None
                ),
                "replacement_quantity": line.replacement_quantity,
            }
            for position, line in enumerate(ret.lines, start=1)
        ],
        "history": [
            {"status": step.status.value, "note": step.note, "changed_at": step.changed_at}
            for step in ret.history
        ],
        "created_at": ret.created_at,
        "updated_at": ret.updated_at,
    }


@bp.route("")
@requires(READ, client=True)
@bp.arguments(ReturnQuerySchema, location="query")
@bp.response(200, ReturnPageSchema)
def list_returns(query):
    """List the client's returns with lines and status log, oldest change first."""
    statement = _with_details(own(select(Return), Return))
    if "status" in query:
        statement = statement.where(Return.status == ReturnStatus(query["status"]))
    page, following, server_time = sync_page(
        statement, Return.updated_at, SYNC_ORDER, query, ".list_returns"
    )
    return {
        "items": [_document(ret) for ret in page.items],
        "next": following,
        "server_time": server_time,
    }


@bp.route("/<uuid:return_id>")
@requires(READ, client=True)
@bp.response(200, ReturnSchema)
def get_return(return_id: uuid.UUID):
    """Return one return with its lines and status log."""
    statement = own(select(Return).where(Return.id == return_id), Return)
    return _document(one_or_404(_with_details(statement)))
