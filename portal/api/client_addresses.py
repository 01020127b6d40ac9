"""The client's address book: list (incremental sync, search), create, read, replace, delete.

Every change goes through :mod:`portal.core.addresses.services`, as on the address book
pages (:mod:`portal.web.addresses`).
"""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import fields
from sqlalchemy import select

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import (
    AddressSchema,
    SyncQuerySchema,
    address_document,
    address_problem_path,
    client_id,
    one_or_404,
    own,
    page_schema,
    sync_page,
    text_field,
)
from portal.api.idempotency import idempotent
from portal.core.addresses.models import Address
from portal.core.addresses.services import create_address, delete_address, update_address
from portal.core.errors import DomainError
from portal.db import contains_any, db

READ = "addresses:read"
WRITE = "addresses:write"
SYNC_ORDER = [(Address.updated_at, False), (Address.id, False)]

bp = resource_blueprint(
    "api_client_addresses", __name__, "/addresses", "The client's address book."
)


class AddressBookEntrySchema(AddressSchema):
    id = fields.UUID(dump_only=True)
    label = text_field(metadata={"description": 'A short name, e.g. "Shop Berlin"'})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


AddressPageSchema = page_schema("AddressPageSchema", AddressBookEntrySchema)


class AddressQuerySchema(SyncQuerySchema):
    q = text_field(metadata={"description": "Search name, company, label, street, city"})


def _document(address: Address) -> dict[str, Any]:
    return {
        "id": address.id,
        "label": address.label,
        **address_document(address),
        "created_at": address.created_at,
        "updated_at": address.updated_at,
    }


def _load(address_id: uuid.UUID) -> Address:
    return one_or_404(own(select(Address).where(Address.id == address_id), Address))


def _values(body: dict) -> tuple[dict, str]:
    label = body.pop("label", "")
    return body, label


@bp.route("")
@requires(READ, client=True)
@bp.arguments(AddressQuerySchema, location="query")
@bp.response(200, AddressPageSchema)
def list_addresses(query):
    """List the address book, oldest change first (poll with ``updated_since``)."""
    statement = own(select(Address), Address)
    search = (query.get("q") or "").strip()
    if search:
        statement = statement.where(
            contains_any(
                search,
                Address.name,
                Address.company,
                Address.label,
                Address.street,
                Address.postcode,
                Address.city,
            )
        )
    page, following, server_time = sync_page(
        statement, Address.updated_at, SYNC_ORDER, query, ".list_addresses"
    )
    return {
        "items": [_document(address) for address in page.items],
        "next": following,
        "server_time": server_time,
    }


@bp.route("", methods=["POST"])
@requires(WRITE, client=True)
@idempotent
@bp.arguments(AddressBookEntrySchema)
@bp.response(201, AddressBookEntrySchema)
def post_address(body):
    """Add an address to the address book."""
    values, label = _values(body)
    try:
        address = create_address(client_id(), values, label=label)
    except DomainError as error:
        raise address_problem_path("", error) from None
    db.session.flush()
    return _document(address)


@bp.route("/<uuid:address_id>")
@requires(READ, client=True)
@bp.response(200, AddressBookEntrySchema)
def get_address(address_id: uuid.UUID):
    """Return one address of the address book."""
    return _document(_load(address_id))


@bp.route("/<uuid:address_id>", methods=["PUT"])
@requires(WRITE, client=True)
@bp.arguments(AddressBookEntrySchema)
@bp.response(200, AddressBookEntrySchema)
def put_address(body, address_id: uuid.UUID):
    """Replace an address (a field left out is cleared)."""
    address = _load(address_id)
    values, label = _values(body)
    try:
        update_address(address, values, label=label)
    except DomainError as error:
        raise address_problem_path("", error) from None
    db.session.flush()
    document = _document(address)
    db.session.commit()
    return document


@bp.route("/<uuid:address_id>", methods=["DELETE"])
@requires(WRITE, client=True)
@bp.response(204)
def delete_address_entry(address_id: uuid.UUID):
    """Remove an address from the address book (orders keep their own copy)."""
    delete_address(_load(address_id))
    db.session.commit()
    return ""
