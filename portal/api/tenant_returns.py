"""All clients' returns with lines and status log: list, read, register, mark as received,
process (restock or scrap each line), cancel.

Everything goes through :mod:`portal.core.returns.services`, as the staff's return form and
the buttons on the return page (:mod:`portal.web.returns`).
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select

from portal.api.auth import requires
from portal.api.client_returns import STATUSES, ReturnSchema, _with_details
from portal.api.client_returns import _document as return_document
from portal.api.client_sync import (
    AN_ID,
    TEXT,
    WHOLE_NUMBER,
    one_or_404,
    page_schema,
    status_field,
    sync_page,
)
from portal.api.idempotency import idempotent
from portal.api.problems import Problem, domain_problem
from portal.api.schemas import InputSchema, messages
from portal.api.tenant_sync import ClientSyncQuerySchema, tenant_blueprint
from portal.core.clients.models import Client
from portal.core.errors import DomainError, too_long
from portal.core.orders.models import Order
from portal.core.returns import services
from portal.core.returns.models import Disposition, Return, ReturnStatus
from portal.db import db
from portal.web.lines import return_lines_from_rows

READ = "returns:read"
WRITE = "returns:write"
SYNC_ORDER = [(Return.updated_at, False), (Return.id, False)]
DISPOSITIONS = (Disposition.RESTOCK.value, Disposition.SCRAP.value)
NOT_A_CLIENT = _l("There is no client with this id.")
NOT_THEIR_ORDER = _l("This order is not one of the client's orders.")
NOT_A_LINE = _l("This is not a line of this return.")
TWICE = _l("This line is listed twice.")
POSITIVE = _l("Please enter a positive whole number.")

bp = tenant_blueprint(
    "api_tenant_returns",
    __name__,
    "/returns",
    "All clients' returns with lines and status log; receive or cancel them.",
)


class TenantReturnSchema(ReturnSchema):
    client_id = fields.UUID()


TenantReturnPageSchema = page_schema("TenantReturnPageSchema", TenantReturnSchema)


class TenantReturnQuerySchema(ClientSyncQuerySchema):
    status = status_field(STATUSES)


class NoteSchema(InputSchema):
    note = fields.String(
        load_default="",
        validate=validate.Length(max=2000, error=too_long(2000)),
        error_messages=messages(TEXT),
        metadata={"description": "Shown in the return's status log"},
    )


class NewReturnLineSchema(InputSchema):
    product_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64, error=_l("Please send a product code.")),
        error_messages=messages(TEXT),
    )
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, error=POSITIVE),
        error_messages=messages(WHOLE_NUMBER),
    )
    replacement_code = fields.String(
        validate=validate.Length(max=64, error=too_long(64)),
        error_messages=messages(TEXT),
        metadata={"description": "The product to send instead, if any"},
    )
    replacement_quantity = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, error=POSITIVE),
        error_messages=messages(WHOLE_NUMBER),
        metadata={"description": "Default: as many as come back"},
    )


class NewReturnSchema(InputSchema):
    client_id = fields.UUID(required=True, error_messages=messages(AN_ID))
    order_id = fields.UUID(
        error_messages=messages(AN_ID), metadata={"description": "The order it comes from"}
    )
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=2000, error=too_long(2000)),
        error_messages=messages(TEXT),
    )
    lines = fields.List(
        fields.Nested(NewReturnLineSchema),
        required=True,
        error_messages=messages(_l("Please send a list of lines.")),
    )


class DispositionSchema(InputSchema):
    return_line_id = fields.UUID(required=True, error_messages=messages(AN_ID))
    disposition = fields.String(
        required=True,
        validate=validate.OneOf(DISPOSITIONS, error=_l("Please choose restock or scrap.")),
        error_messages=messages(TEXT),
        metadata={"enum": list(DISPOSITIONS)},
    )


class ProcessSchema(NoteSchema):
    lines = fields.List(
        fields.Nested(DispositionSchema),
        required=True,
        error_messages=messages(_l("Please send a list of lines.")),
    )


def _field_problem(field: str, detail) -> Problem:
    return Problem(
        422, "validation_failed", errors=[{"field": field, "in": "body", "detail": str(detail)}]
    )


def _document(ret: Return) -> dict[str, Any]:
    return {**return_document(ret), "client_id": ret.client_id}


def _load(return_id: uuid.UUID) -> Return:
    return one_or_404(_with_details(select(Return).where(Return.id == return_id)))


@bp.route("")
@requires(READ, tenant=True)
@bp.arguments(TenantReturnQuerySchema, location="query")
@bp.response(200, TenantReturnPageSchema)
def list_returns(query):
    """List all returns with lines and status log, oldest change first."""
    statement = _with_details(select(Return))
    if "client_id" in query:
        statement = statement.where(Return.client_id == query["client_id"])
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
@requires(READ, tenant=True)
@bp.response(200, TenantReturnSchema)
def get_return(return_id: uuid.UUID):
    """Return one return with its lines and status log."""
    return _document(_load(return_id))


def _step(return_id: uuid.UUID, action, note: str) -> dict[str, Any]:
    ret = _load(return_id)
    try:
        action(ret, note)
    except DomainError as error:
        raise domain_problem(error) from None
    db.session.flush()
    db.session.expire_all()
    return _document(_load(return_id))


@bp.route("/<uuid:return_id>/receive", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(NoteSchema(), required=False)
@bp.response(200, TenantReturnSchema)
def receive(body, return_id: uuid.UUID):
    """Mark the return as arrived in the warehouse."""
    return _step(return_id, services.receive_return, body.get("note", ""))


@bp.route("/<uuid:return_id>/cancel", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(NoteSchema(), required=False)
@bp.response(200, TenantReturnSchema)
def cancel(body, return_id: uuid.UUID):
    """Cancel a return that has not been processed."""
    return _step(return_id, services.cancel_return, body.get("note", ""))


@bp.route("", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(NewReturnSchema)
@bp.response(201, TenantReturnSchema)
def post_return(body):
    """Register goods that are coming back from a client, optionally from one of its orders
    and with replacement products, as the staff's return form does."""
    client = db.session.scalar(select(Client).where(Client.id == body["client_id"]))
    if client is None:
        raise _field_problem("client_id", NOT_A_CLIENT)
    order = None
    if "order_id" in body:
        order = db.session.scalar(
            select(Order).where(Order.id == body["order_id"], Order.client_id == client.id)
        )
        if order is None:
            raise _field_problem("order_id", NOT_THEIR_ORDER)
    rows = [
        SimpleNamespace(
            data={
                "code": line["product_code"],
                "quantity": str(line["quantity"]),
                "replacement_code": line.get("replacement_code") or "",
                "replacement_quantity": str(line.get("replacement_quantity") or ""),
            }
        )
        for line in body["lines"]
    ]
    try:
        lines = return_lines_from_rows(client.id, rows)
        ret = services.register_return(client, lines, order=order, reason=body["reason"])
    except DomainError as error:
        raise domain_problem(error) from None
    return_id = ret.id
    db.session.flush()
    db.session.expire_all()
    return _document(_load(return_id))


@bp.route("/<uuid:return_id>/process", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(ProcessSchema())
@bp.response(200, TenantReturnSchema)
def process(body, return_id: uuid.UUID):
    """Restock or scrap every line of a received return; restocked units go back into stock
    (and serve waiting order lines)."""
    ret = _load(return_id)
    positions = {line.id: position for position, line in enumerate(ret.lines, start=1)}
    dispositions: dict[uuid.UUID, Disposition] = {}
    paths: dict[int, str] = {}
    errors = []
    for index, line in enumerate(body["lines"]):
        line_id = line["return_line_id"]
        field = f"lines[{index}].return_line_id"
        if line_id not in positions:
            errors.append({"field": field, "in": "body", "detail": str(NOT_A_LINE)})
        elif line_id in dispositions:
            errors.append({"field": field, "in": "body", "detail": str(TWICE)})
        else:
            dispositions[line_id] = Disposition(line["disposition"])
            paths[positions[line_id]] = f"lines[{index}]"
    if errors:
        raise Problem(422, "validation_failed", errors=errors)
    # A line that was not sent is named by the core by its row; it points at the list.
    for position in positions.values():
        paths.setdefault(position, "lines")
    try:
        services.process_return(ret, dispositions, body.get("note", ""))
    except DomainError as error:
        raise domain_problem(error, paths) from None
    db.session.flush()
    db.session.expire_all()
    return _document(_load(return_id))
