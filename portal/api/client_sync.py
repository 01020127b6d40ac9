"""What every collection of the client scope shares: the client's token, ``updated_since``
with the server time to send next, keyset pages with a ``next`` link, address fields.

A client's token reaches its own client's data only: every statement here is narrowed to
``client_id`` of the token, and an object of another client (or another tenant, which the
tenant scoping hides already) is simply not found (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, timedelta
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import Select

from portal.api.auth import current_token
from portal.api.problems import Problem
from portal.api.schemas import InputSchema, messages
from portal.core.addresses.models import ADDRESS_FIELDS
from portal.db import db, utcnow
from portal.web.pagination import DEFAULT_SIZE, MAX_SIZE, keyset_page

#: ``server_time`` lies this far back, so that a change saved by a transaction that was
#: still running during the poll is listed by the next one (at the price of a repeat).
SYNC_OVERLAP = timedelta(seconds=5)

WHOLE_NUMBER = _l("Please enter a whole number.")
TEXT = _l("Please enter text.")
DATE_TIME = _l("Please enter a date and time in ISO 8601.")
AN_ID = _l("Please send an id (a UUID).")
NOT_KNOWN = _l("This status is not known.")


def client_id() -> uuid.UUID:
    """The client the calling token acts for."""
    return current_token().client_id


def own(statement: Select, model) -> Select:
    """Narrow ``statement`` on ``model`` to the token's client."""
    return statement.where(model.client_id == client_id())


def one_or_404(statement: Select):
    found = db.session.scalar(statement)
    if found is None:
        raise Problem(404)
    return found


# --- collections -----------------------------------------------------------------------------


class SyncQuerySchema(InputSchema):
    """``updated_since``, ``after`` and ``size``: what every collection takes."""

    updated_since = fields.AwareDateTime(
        default_timezone=UTC,
        error_messages=messages(DATE_TIME),
        metadata={"description": "Only what changed at or after this time"},
    )
    after = fields.String(
        validate=validate.Length(max=500), metadata={"description": "Cursor of the next page"}
    )
    size = fields.Integer(
        validate=validate.Range(
            min=1, max=MAX_SIZE, error=_l("Please enter a number from 1 to 200.")
        ),
        error_messages=messages(WHOLE_NUMBER),
        metadata={"description": f"Items per page, default {DEFAULT_SIZE}"},
    )


def status_field(values: list[str]) -> fields.String:
    return fields.String(
        validate=validate.OneOf(values, error=NOT_KNOWN),
        error_messages=messages(TEXT),
        metadata={"enum": values},
    )


def page_schema(name: str, item_schema) -> type:
    """Return the schema of a page of ``item_schema`` items."""
    return type(
        name,
        (InputSchema,),
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next": fields.String(
                allow_none=True, metadata={"description": "The next page; null on the last one"}
            ),
            "server_time": fields.AwareDateTime(
                metadata={"description": "Send it as updated_since in the next poll"}
            ),
        },
    )


def sync_page(
    statement: Select,
    changed_at,
    order: list,
    query: Mapping[str, Any],
    endpoint: str,
    *,
    scalars: bool = True,
):
    """Return ``(page, next_url, server_time)`` for one page of a collection.

    ``changed_at`` is the column ``updated_since`` filters on; ``order`` is the keyset order
    (oldest change first, then the id), so a client that follows ``next`` to the end has seen
    every change since its last poll.
    """
    server_time = utcnow() - SYNC_OVERLAP
    if "updated_since" in query:
        statement = statement.where(changed_at >= query["updated_since"])
    page = keyset_page(
        statement, order, cursor=query.get("after"), size=query.get("size"), scalars=scalars
    )
    following = None
    if page.next_cursor:
        args = {k: v for k, v in query.items() if k != "after"}
        for key, value in args.items():
            if hasattr(value, "isoformat"):
                args[key] = value.isoformat()
        following = url_for(endpoint, after=page.next_cursor, _external=True, **args)
    return page, following, server_time


# --- addresses -------------------------------------------------------------------------------


def text_field(**kwargs) -> fields.String:
    """A text field whose type error speaks the reader's language."""
    return fields.String(error_messages=messages(TEXT), **kwargs)


class AddressSchema(InputSchema):
    """A postal address; ``country`` is the ISO 3166 code (DE, NL, US). The core checks the
    fields (required ones, lengths) with the words the pages use."""

    name = text_field()
    company = text_field()
    street = text_field()
    street2 = text_field()
    postcode = text_field()
    city = text_field()
    state = text_field()
    country = text_field(metadata={"description": "ISO 3166-1 alpha-2 code, e.g. DE"})
    phone = text_field()
    email = text_field()


def address_document(source) -> dict[str, Any]:
    """The address fields of an Address or an Order, as the API shows them."""
    document = {field: getattr(source, field) for field in ADDRESS_FIELDS}
    country = document["country"]
    document["country"] = str(getattr(country, "code", country) or "")
    return document


def address_problem_path(prefix: str, error) -> Problem:
    """Return the problem of an address refused by the core: every bad field (the core may
    name several at once), each under ``prefix`` (``address.name``)."""
    refused = getattr(error, "errors", None) or [error]
    errors = []
    for item in refused:
        field = getattr(item, "field", None) or ""
        path = f"{prefix}.{field}" if prefix and field else field or prefix or "address"
        errors.append({"field": path, "in": "body", "detail": str(item)})
    return Problem(422, "validation_failed", errors=errors)
