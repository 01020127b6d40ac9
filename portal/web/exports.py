"""Exports to Excel and CSV with formula-safe cells.

Each export runs the statement of its list page with the list's filters (the same query
function, without pagination): rows are streamed from the database in batches into a
temporary file (kept in memory while small), and an export with more rows than allowed is
refused before anything is written. Text that a spreadsheet could take for a formula is escaped by :func:`escape_cell`, the one function both
formats use. Excel cells get real numbers and dates; CSV gets ISO dates and plain decimals.
"""

from __future__ import annotations

import csv
import io
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, to_user_timezone
from sqlalchemy import Select, func, select

from portal.core.orders.models import Order, OrderStatus, Shipment
from portal.core.orders.queries import (
    ORDER_LIST_ORDER,
    ORDER_STATES,
    SHIPMENT_LINE_ORDER,
    OrderFilter,
    order_rows,
    shipment_line_rows,
)
from portal.core.products.models import Product
from portal.core.products.queries import PRODUCT_ORDER, product_rows
from portal.core.stock.queries import STOCK_ORDER, stock_rows
from portal.db import db, utcnow
from portal.web.access import client_or_staff, is_staff, visible
from portal.web.products import (
    MAX_SEARCH,
    client_choices,
    product_filter_from_request,
    uuid_arg,
)

bp = Blueprint("exports", __name__, url_prefix="/exports")

DEFAULT_MAX_ROWS = 100_000
BATCH = 500
SPOOL_BYTES = 8 * 1024 * 1024
FORMULA_STARTS = frozenset("=+-@")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


# --- cells -----------------------------------------------------------------------------------


def escape_cell(value: Any) -> Any:
    """Return ``value`` safe for a spreadsheet cell.

    Text starting with ``= + - @`` or a control character (tab, CR, LF, ...) could be taken
    for a formula by Excel or LibreOffice; it gets a leading apostrophe, so it stays text.
    Numbers, dates and everything else are returned as they are.
    """
    if isinstance(value, str) and value:
        first = value[0]
        if first in FORMULA_STARTS or unicodedata.category(first) == "Cc":
            return "'" + value
    return value


class Kind:
    """How a column's values are written."""

    TEXT = "text"
    INTEGER = "integer"
    MONEY = "money"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, how to read the value from a row, its kind."""

    header: Any
    value: Callable[[Any], Any]
    kind: str = Kind.TEXT
    width: int = 14


XLSX_FORMATS = {
    Kind.INTEGER: "0",
    Kind.MONEY: "#,##0.00",
    Kind.DATETIME: "yyyy-mm-dd hh:mm:ss",
}


def _local(moment: datetime) -> datetime:
    return to_user_timezone(moment)


def csv_value(value: Any) -> str:
    """Return a value as CSV text: ISO dates, plain decimals, escaped text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return _local(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return escape_cell(str(value))


def xlsx_value(value: Any) -> Any:
    """Return a value for an Excel cell: numbers and dates as such, escaped text."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or isinstance(value, bool | int | Decimal | float | date):
        if isinstance(value, datetime):
            # Excel has no time zones: the time as the user reads it on the pages.
            return _local(value).replace(tzinfo=None)
        return value
    # XML cannot carry most control characters at all; they are dropped after escaping.
    return ILLEGAL_CHARACTERS_RE.sub("", escape_cell(str(value)))


def write_csv(columns: list[Column], rows: Iterable[Any], out: BinaryIO) -> None:
    """Write a header and the rows as UTF-8 CSV (with a byte order mark, for Excel)."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([csv_value(str(column.header)) for column in columns])
    for row in rows:
        writer.writerow([csv_value(column.value(row)) for column in columns])
    text.flush()
    text.detach()


def write_xlsx(columns: list[Column], rows: Iterable[Any], out: BinaryIO, title: str) -> None:
    """Write a header and the rows as one worksheet of an Excel workbook, row by row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=xlsx_value(str(column.header)))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = [XLSX_FORMATS.get(column.kind) for column in columns]
    for row in rows:
        cells = []
        for column, number_format in zip(columns, formats, strict=True):
            value = xlsx_value(column.value(row))
            if number_format and value is not None:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    workbook.save(out)


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()
    return (cleaned or "Export")[:31]


# --- rows ------------------------------------------------------------------------------------


def max_rows() -> int:
    return int(current_app.config.get("PORTAL_EXPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def too_many_rows(statement: Select, limit: int) -> bool:
    """Tell whether ``statement`` has more than ``limit`` rows (counting no further)."""
    bounded = statement.order_by(None).limit(limit + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(bounded)) > limit


def stream_rows(statement: Select, order, limit: int) -> Iterator[Any]:
    """Yield at most ``limit`` rows of ``statement`` in ``order``, fetched in batches."""
    statement = (
        statement.order_by(
            *[column.desc() if descending else column.asc() for column, descending in order]
        )
        .limit(limit)
        .execution_options(yield_per=BATCH)
    )
    yield from db.session.execute(statement)


@dataclass
class Table:
    """What an export writes: its columns, the statement and order of its rows, its title."""

    title: str
    columns: list[Column]
    statement: Select
    order: list
    # Turns the streamed rows into what the columns read, batch by batch (the audit log
    # names actors and objects with one query per batch instead of one per row).
    prepare: Callable[[Iterator[Any]], Iterable[Any]] | None = None


def _client_column(staff: bool, client_of: Callable[[Any], Any]) -> list[Column]:
    if not staff:
        return []
    names = {client.id: client.name for client in client_choices()}
    return [Column(_l("Client"), lambda row: names.get(client_of(row), ""), width=24)]


def products_table() -> Table:
    filters = product_filter_from_request()
    staff = is_staff()
    columns = [
        Column(_l("Code"), lambda row: row.Product.code, width=18),
        Column(_l("Name"), lambda row: row.Product.name, width=40),
        Column(_l("Barcode"), lambda row: row.Product.barcode, width=16),
        *_client_column(staff, lambda row: row.Product.client_id),
        Column(_l("Price"), lambda row: row.Product.price, Kind.MONEY),
        Column(_l("Currency"), lambda row: str(row.Product.currency.code), width=9),
        Column(_l("On hand"), lambda row: int(row.on_hand), Kind.INTEGER),
        Column(_l("Available"), lambda row: int(row.available), Kind.INTEGER),
        Column(_l("Stock value"), lambda row: int(row.on_hand) * row.Product.price, Kind.MONEY),
        Column(_l("Low stock below"), lambda row: row.Product.low_stock_threshold, Kind.INTEGER),
    ]
    statement = visible(product_rows(filters), Product)
    return Table(_("Products"), columns, statement, PRODUCT_ORDER)


def stock_table() -> Table:
    filters = product_filter_from_request()
    staff = is_staff()
    columns = [
        Column(_l("Code"), lambda row: row.code, width=18),
        Column(_l("Name"), lambda row: row.name, width=40),
        *_client_column(staff, lambda row: row.client_id),
        Column(_l("Warehouse"), lambda row: row.warehouse_code or "", width=12),
        Column(_l("On hand"), lambda row: row.on_hand, Kind.INTEGER),
        Column(_l("Promised to orders"), lambda row: row.allocated, Kind.INTEGER),
        Column(_l("Available"), lambda row: row.available, Kind.INTEGER),
        Column(_l("Price"), lambda row: row.price, Kind.MONEY),
        Column(_l("Currency"), lambda row: str(row.currency.code), width=9),
        Column(_l("Stock value"), lambda row: row.on_hand * row.price, Kind.MONEY),
    ]
    statement = visible(stock_rows(filters, uuid_arg("warehouse")), Product)
    return Table(_("Stock"), columns, statement, STOCK_ORDER)


def order_filter_from_request() -> OrderFilter:
    """Read the order and shipment lists' filters (``q``, ``status``, ``state``, ``client``
    for staff)."""
    try:
        status = OrderStatus(request.args.get("status", ""))
    except ValueError:
        status = None
    state = request.args.get("state", "")
    return OrderFilter(
        q=request.args.get("q", "").strip()[:MAX_SEARCH],
        status=status,
        state=state if state in ORDER_STATES else "",
        client_id=uuid_arg("client") if is_staff() else None,
    )


def _status_label(status: OrderStatus) -> str:
    # The orders pages own the status names; without them the code is still readable.
    labels = current_app.jinja_env.filters.get("order_status")
    return labels(status) if labels else status.value


def orders_table() -> Table:
    staff = is_staff()
    columns = [
        Column(_l("Order number"), lambda row: row.Order.number, width=16),
        Column(_l("Created"), lambda row: row.Order.created_at, Kind.DATETIME, width=20),
        Column(_l("Submitted"), lambda row: row.Order.submitted_at, Kind.DATETIME, width=20),
        Column(_l("Status"), lambda row: _status_label(row.Order.status), width=16),
        Column(_l("Reference"), lambda row: row.Order.reference, width=20),
        *_client_column(staff, lambda row: row.Order.client_id),
        Column(_l("Recipient"), lambda row: row.Order.name, width=24),
        Column(_l("Company"), lambda row: row.Order.company, width=24),
        Column(_l("Street"), lambda row: row.Order.street, width=28),
        Column(_l("Postcode"), lambda row: row.Order.postcode, width=10),
        Column(_l("City"), lambda row: row.Order.city, width=18),
        Column(_l("Country"), lambda row: _country(row.Order.country), width=8),
        Column(_l("Lines"), lambda row: int(row.line_count), Kind.INTEGER, width=8),
        Column(_l("Units ordered"), lambda row: int(row.quantity), Kind.INTEGER),
        Column(_l("Units shipped"), lambda row: int(row.shipped), Kind.INTEGER),
    ]
    statement = visible(order_rows(order_filter_from_request()), Order)
    return Table(_("Orders"), columns, statement, ORDER_LIST_ORDER)


def shipments_table() -> Table:
    staff = is_staff()
    columns = [
        Column(_l("Shipment"), lambda row: row.Shipment.number, width=16),
        Column(_l("Shipped"), lambda row: row.Shipment.shipped_at, Kind.DATETIME, width=20),
        Column(_l("Order number"), lambda row: row.order_number, width=16),
        Column(_l("Reference"), lambda row: row.order_reference, width=20),
        *_client_column(staff, lambda row: row.Shipment.client_id),
        Column(_l("Carrier"), lambda row: row.Shipment.carrier, width=12),
        Column(_l("Tracking code"), lambda row: row.Shipment.tracking_code, width=24),
        Column(_l("Product code"), lambda row: row.product_code, width=18),
        Column(_l("Product"), lambda row: row.product_name, width=40),
        Column(_l("Quantity"), lambda row: row.ShipmentLine.quantity, Kind.INTEGER, width=10),
    ]
    statement = visible(shipment_line_rows(order_filter_from_request()), Shipment)
    return Table(_("Shipments"), columns, statement, SHIPMENT_LINE_ORDER)


def _country(country) -> str:
    return getattr(country, "code", None) or (str(country) if country else "")


# --- routes ----------------------------------------------------------------------------------


def export_response(name: str, fmt: str, table: Table, back_endpoint: str):
    """Write ``table`` in ``fmt`` and send it as a download, or refuse when it is too large."""
    limit = max_rows()
    if too_many_rows(table.statement, limit):
        flash(
            ngettext(
                "The export would have more than %(num)d row. Please narrow the list with "
                "the filters and export again.",
                "The export would have more than %(num)d rows. Please narrow the list with "
                "the filters and export again.",
                limit,
            ),
            "error",
        )
        if back_endpoint not in current_app.view_functions:
            back_endpoint = "web.dashboard"
        # The filters go back as query parameters only: a name such as "endpoint" or
        # "_external" in the query is no option of url_for.
        back_args = {k: v for k, v in request.args.items() if not k.startswith("_")}
        back_args.pop("endpoint", None)
        return redirect(url_for(back_endpoint, **back_args))
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by _chunks
    rows = stream_rows(table.statement, table.order, limit)
    if table.prepare is not None:
        rows = table.prepare(rows)
    try:
        if fmt == "csv":
            write_csv(table.columns, rows, out)
        else:
            write_xlsx(table.columns, rows, out, table.title)
    except BaseException:
        out.close()
        raise
    size = out.tell()
    out.seek(0)
    stamp = utcnow().strftime("%Y-%m-%d")
    # content_type, not mimetype: Werkzeug adds "; charset=utf-8" to a text/* mimetype,
    # and the CSV type names its charset already.
    response = Response(_chunks(out), content_type=MEDIA_TYPES[fmt], direct_passthrough=True)
    response.content_length = size
    response.headers.set("Content-Disposition", "attachment", filename=f"{name}-{stamp}.{fmt}")
    response.headers["Cache-Control"] = "no-store"
    return response


def _chunks(out, size: int = 64 * 1024) -> Iterator[bytes]:
    # The file is closed when it has been sent, or when the server gives up on the client.
    try:
        while chunk := out.read(size):
            yield chunk
    finally:
        out.close()


EXPORTS = {
    "products": (products_table, "products.index"),
    "stock": (stock_table, "stock.index"),
    "orders": (orders_table, "orders.index"),
    "shipments": (shipments_table, "shipments.index"),
}


def _make_view(name: str, fmt: str):
    build, back_endpoint = EXPORTS[name]

    def view():
        return export_response(name, fmt, build(), back_endpoint)

    view.__name__ = f"{name}_{fmt}"
    view.__doc__ = f"Export the {name} list with its filters as {fmt.upper()}."
    return client_or_staff(view)


for _name in EXPORTS:
    for _fmt in MEDIA_TYPES:
        bp.add_url_rule(f"/{_name}.{_fmt}", f"{_name}_{_fmt}", _make_view(_name, _fmt))
