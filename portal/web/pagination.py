"""Keyset (cursor) pagination: pages stay fast however far one pages, and never skip or
repeat rows when others insert meanwhile. Never OFFSET."""

from __future__ import annotations

import base64
import binascii
import enum
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import abort, request
from sqlalchemy import Select, and_, or_

from portal.db import db
from portal.web.input_guard import has_forbidden_characters

DEFAULT_SIZE = 50
MAX_SIZE = 200


@dataclass
class Page:
    """One page of rows and the cursors to the next and previous pages."""

    items: list[Any]
    next_cursor: str | None
    size: int


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _encode(values: list[Any]) -> str:
    plain = [_plain(v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, count: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        abort(400)
    if not isinstance(values, list) or len(values) != count:
        abort(400)
    return values


def keyset_page(
    statement: Select,
    order: list[tuple[Any, bool]],
    *,
    cursor: str | None = None,
    size: int | None = None,
    scalars: bool = True,
) -> Page:
    """Return one page of ``statement`` ordered by ``order`` = [(column, descending), ...].

    The last column must be unique (the id), so the order is total and stable. ``cursor``
    comes from the previous page's ``next_cursor``.
    """
    size = min(max(size or DEFAULT_SIZE, 1), MAX_SIZE)
    if cursor:
        values = _decode(cursor, len(order))
        statement = statement.where(_after(order, values))
    statement = statement.order_by(
        *[column.desc() if descending else column.asc() for column, descending in order]
    ).limit(size + 1)
    result = db.session.execute(statement)
    rows = list(result.scalars() if scalars else result.all())
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = _encode([_value_of(last, column) for column, _ in order])
    return Page(items=rows, next_cursor=next_cursor, size=size)


def _value_of(row, column):
    key = column.key
    if hasattr(row, key):
        return getattr(row, key)
    return row._mapping[column]


def _convert(column, value):
    """Turn one cursor value back into the column's type; anything else is a bad request.

    A cursor comes from the visitor, so it may hold any JSON: a list where a text belongs,
    a number for a date, text with a NUL byte. None of that may reach the database.
    """
    if value is None:
        if getattr(column, "nullable", False):
            return None
        abort(400)
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = None
    if python_type is bool or isinstance(value, bool):
        # JSON true/false is a bool, and bool is an int: take it only for a boolean column.
        if python_type is bool and isinstance(value, bool):
            return value
        abort(400)
    if python_type is int:
        # A number beyond 64 bits would overflow the database's integer, not just miss.
        if isinstance(value, int) and -(2**63) <= value < 2**63:
            return value
        abort(400)
    if python_type is Decimal and isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or has_forbidden_characters(value):
        abort(400)
    try:
        if python_type is uuid.UUID:
            return uuid.UUID(value)
        if python_type is datetime:
            return datetime.fromisoformat(value)
        if python_type is date:
            return date.fromisoformat(value)
        if python_type is Decimal:
            number = Decimal(value)
            if not number.is_finite():
                abort(400)
            return number
        if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
            return python_type(value)
    except (ValueError, TypeError, ArithmeticError):
        abort(400)
    if python_type in (str, None):
        return value
    abort(400)


def _after(order, values):
    # (a, b, c) after (x, y, z) in mixed directions, written out as OR of AND prefixes.
    clauses = []
    for index, (column, descending) in enumerate(order):
        value = _convert(column, values[index])
        equal_prefix = [order[j][0] == _convert(order[j][0], values[j]) for j in range(index)]
        step = column < value if descending else column > value
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


def page_args() -> tuple[str | None, int | None]:
    """Read ``after`` and ``size`` from the query string."""
    size = request.args.get("size", type=int)
    return request.args.get("after") or None, size
