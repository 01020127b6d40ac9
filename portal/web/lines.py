"""Line rows typed into a form (product code and quantity), turned into service input.

Purchase orders and returns take their lines as rows of product codes and quantities; the
rows are numbered as the page shows them, so every refusal names the row the person sees.
Empty rows are skipped. The browser may add rows (static/js/line_rows.js); without
JavaScript the form simply offers a few empty rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import Form, StringField
from wtforms.validators import Optional

from portal.core.errors import DomainError, LineErrors
from portal.core.orders.services import LineInput, validate_lines
from portal.core.products.services import products_by_code
from portal.core.returns.services import ReturnLineInput, check_return_lines
from portal.web.fields import TextLength

_WHOLE = re.compile(r"^\s*\d{1,9}\s*$")
EMPTY_ROWS = 3
MIN_ROWS = 5


class CodeLineForm(Form):
    """One row: which product (by code) and how many units."""

    code = StringField(_l("Product code"), validators=[Optional(), TextLength(maximum=64)])
    quantity = StringField(_l("Quantity"), validators=[Optional(), TextLength(maximum=12)])


class ReturnLineForm(CodeLineForm):
    """One row of a return: the product coming back and, optionally, its replacement."""

    replacement_code = StringField(
        _l("Replacement product code"), validators=[Optional(), TextLength(maximum=64)]
    )
    replacement_quantity = StringField(
        _l("Replacement quantity"), validators=[Optional(), TextLength(maximum=12)]
    )


def whole_number(text) -> int | str:
    """Return ``text`` as an int when it is a whole number, else unchanged (the service
    refuses it with a message naming the row)."""
    if isinstance(text, int):
        return text
    text = (text or "").strip()
    return int(text) if _WHOLE.match(text) else text


def line_quantities(lines, form) -> dict[uuid.UUID, int | str]:
    """Read the quantity typed for each line (field ``line-<id>`` of ``form``, the request's
    form data); blank means none. The service refuses what is not a whole number."""
    quantities = {}
    for line in lines:
        raw = form.get(f"line-{line.id}", "").strip()
        quantities[line.id] = whole_number(raw) if raw else 0
    return quantities


def filled_rows(entries) -> list[tuple[int, dict]]:
    """Return ``(row, data)`` of the rows with anything typed in, numbered from 1."""
    rows = []
    for row, entry in enumerate(entries, start=1):
        data = {key: (value or "").strip() for key, value in entry.data.items()}
        if any(data.values()):
            rows.append((row, data))
    return rows


def resolve_codes(client_id: uuid.UUID, rows: Iterable[tuple[int, str]], field: str = "code"):
    """Return ``({code: product}, [errors])`` for the codes typed in ``rows``.

    A row without a code or with a code the client has no product for is one error.
    """
    rows = list(rows)
    products = products_by_code(client_id, [code for _, code in rows if code])
    errors = []
    for row, code in rows:
        if not code:
            errors.append(
                DomainError(_l("Line %(row)d: please enter a product code.", row=row), row=row)
            )
        elif code not in products:
            errors.append(
                DomainError(
                    _l(
                        "Line %(row)d: there is no product with the code %(code)s.",
                        row=row,
                        code=code,
                    ),
                    row=row,
                )
            )
    return products, errors


def order_lines_from_rows(client_id: uuid.UUID, entries) -> list[LineInput]:
    """Return the lines typed into ``entries`` (rows of code and quantity).

    Raises LineErrors naming every bad row (unknown code, quantity, duplicate) at once, or a
    DomainError on ``lines`` when no row was filled in.
    """
    rows = filled_rows(entries)
    if not rows:
        raise DomainError(_l("Please enter at least one line."), "lines")
    products, errors = resolve_codes(client_id, [(row, data["code"]) for row, data in rows])
    lines = [
        LineInput(products[data["code"]].id, whole_number(data["quantity"]), row)
        for row, data in rows
        if data["code"] in products
    ]
    if errors:
        # Check the other rows as well, so that one answer lists every mistake.
        if lines:
            try:
                validate_lines(client_id, lines)
            except LineErrors as more:
                errors.extend(more.errors)
        raise LineErrors(_l("Some lines are not valid."), sorted(errors, key=lambda e: e.row))
    return lines


def return_lines_from_rows(client_id: uuid.UUID, entries) -> list[ReturnLineInput]:
    """Return the return lines typed into ``entries``; raise LineErrors naming every bad row.

    A replacement code without a quantity means one replacement unit per returned unit.
    """
    rows = filled_rows(entries)
    if not rows:
        raise DomainError(_l("Please enter at least one line."), "lines")
    products, errors = resolve_codes(client_id, [(row, data["code"]) for row, data in rows])
    replaced = [(row, data["replacement_code"]) for row, data in rows if data["replacement_code"]]
    replacements, more = resolve_codes(client_id, replaced)
    errors.extend(
        DomainError(
            _l(
                "Line %(row)d: there is no replacement product with the code %(code)s.",
                row=error.row,
                code=dict(replaced)[error.row],
            ),
            row=error.row,
        )
        for error in more
    )
    errors.extend(
        DomainError(
            _l("Line %(row)d: please enter the code of the replacement product.", row=row),
            row=row,
        )
        for row, data in rows
        if data["replacement_quantity"] and not data["replacement_code"]
    )
    bad_rows = {error.row for error in errors}
    lines = []
    for row, data in rows:
        if row in bad_rows:
            continue
        replacement = replacements.get(data["replacement_code"])
        quantity = whole_number(data["quantity"])
        if replacement is None:
            replacement_quantity = 0
        elif data["replacement_quantity"]:
            replacement_quantity = whole_number(data["replacement_quantity"])
        else:
            replacement_quantity = quantity
        lines.append(
            ReturnLineInput(
                products[data["code"]].id,
                quantity,
                replacement.id if replacement else None,
                replacement_quantity,
                row=row,
            )
        )
    errors.extend(check_return_lines(client_id, lines))
    if errors:
        raise LineErrors(_l("Some lines are not valid."), sorted(errors, key=lambda e: e.row))
    return lines


def line_errors_by_row(error: LineErrors) -> dict[int, list[str]]:
    """Group a LineErrors' messages by row, for marking the rows of the form."""
    by_row: dict[int, list[str]] = {}
    for item in error.errors:
        if item.row is not None:
            by_row.setdefault(item.row, []).append(str(item.message))
    return by_row


def entry_errors(field_list) -> dict[int, list[str]]:
    """Return the messages of the rows' own validators (a code that is too long), by row."""
    by_row: dict[int, list[str]] = {}
    for row, entry in enumerate(field_list.entries, start=1):
        for field in entry.form:
            for message in field.errors:
                by_row.setdefault(row, []).append(f"{field.label.text}: {message}")
    return by_row


def row_products(client_id: uuid.UUID | None, entries) -> dict[int, tuple[str, int]]:
    """Return ``{row: (product name, units available)}`` for the rows whose code is one of
    the client's products, so a form shown again names them as the picker did. Two queries,
    however many rows."""
    from portal.core.stock.services import stock_by_product

    if client_id is None:
        return {}
    rows = [(row, data.get("code", "")) for row, data in filled_rows(entries)]
    products = products_by_code(client_id, [code for _, code in rows])
    levels = stock_by_product([product.id for product in products.values()])
    found = {}
    for row, code in rows:
        product = products.get(code)
        if product is not None:
            on_hand, allocated = levels.get(product.id, (0, 0))
            found[row] = (product.name, max(on_hand - allocated, 0))
    return found


def pad_rows(field_list, empty: int = EMPTY_ROWS, minimum: int = MIN_ROWS) -> None:
    """Add empty rows to a FieldList: ``empty`` more, and at least ``minimum`` in all.

    A form shown again with its errors passes ``empty=0``: its rows stay as they were sent.
    """
    while len(field_list.entries) < max(minimum, len(filled_rows(field_list.entries)) + empty):
        field_list.append_entry()
