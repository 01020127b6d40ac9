"""Order import from Excel: bounded, entity-free parsing and all-or-nothing validation.

A workbook is checked as a zip before any XML is parsed (size, number of entries, total
uncompressed size, compression ratio, and no DTD or entity declarations in any XML part);
openpyxl then reads it with defusedxml. Every bad row is reported with its number and reason,
and nothing is created until the whole file is valid.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select

from portal.core.addresses.models import ADDRESS_FIELDS
from portal.core.addresses.validation import (
    AddressErrors,
    check_address,
    restore_leading_zeros,
)
from portal.core.errors import DomainError
from portal.core.products.models import Product
from portal.jobs.services import JobFailed, job_handler

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 60 * 1024 * 1024
MAX_ENTRIES = 200
MAX_RATIO = 200
MAX_LINES = 10_000
HEADER_SEARCH_ROWS = 20
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)

# Header names recognised for each column, in the languages we ship; compared lower-cased
# with spaces, dashes and underscores removed.
HEADERS = {
    "code": {
        "productcode",
        "code",
        "sku",
        "articlecode",
        "article",
        "artikelnummer",
        "artikel",
        "itemcode",
    },
    "quantity": {"quantity", "qty", "amount", "menge", "anzahl", "units"},
    "reference": {"reference", "orderreference", "referenz", "ref"},
    "name": {"name", "recipient", "recipientname", "empfänger", "empfaenger"},
    "company": {"company", "firma"},
    "street": {"street", "address", "straße", "strasse", "address1"},
    "street2": {"street2", "address2", "adresszusatz"},
    "postcode": {"postcode", "postalcode", "zip", "zipcode", "plz", "postleitzahl"},
    "city": {"city", "town", "ort", "stadt"},
    "state": {"state", "province", "region", "bundesland"},
    "country": {"country", "countrycode", "land"},
    "phone": {"phone", "telephone", "telefon"},
    "email": {"email", "e-mail", "mail"},
}


@dataclass
class RowError:
    row: int
    message: object

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class ParsedOrder:
    """What a valid file asks for: lines (row, product id, quantity), reference and address.

    Ids, not Product rows: progress commits expire every loaded row, and reading a row's id
    afterwards would load it again, one query per line.
    """

    lines: list[tuple[int, uuid.UUID, int]] = field(default_factory=list)
    reference: str = ""
    address: dict[str, str] = field(default_factory=dict)


class ImportRefused(DomainError):
    """The file cannot be imported; ``errors`` lists every bad row."""

    def __init__(self, message, errors: list[RowError] | None = None) -> None:
        super().__init__(message, "file")
        self.errors = errors or []


def normalise_header(value) -> str:
    """Return a header cell as compared with the known names: lower case, no spaces,
    dashes or underscores."""
    return re.sub(r"[\s_\-]+", "", str(value or "")).strip().lower()


_normalise_header = normalise_header


def check_workbook(data: bytes) -> None:
    """Refuse files that are too large, not Excel, zip bombs, or carry XML entity tricks."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(
            _l("The file is too large (at most %(mb)d MB).", mb=MAX_FILE_BYTES // 1024 // 1024)
        )
    if not data:
        raise ImportRefused(_l("The file is empty."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportRefused(_l("This is not an Excel file (.xlsx).")) from None
    with archive:
        entries = archive.infolist()
        names = {entry.filename for entry in entries}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise ImportRefused(_l("This is not an Excel file (.xlsx)."))
        if len(entries) > MAX_ENTRIES:
            raise ImportRefused(_l("The file has too many parts to be an order."))
        total = sum(entry.file_size for entry in entries)
        if total > MAX_UNCOMPRESSED_BYTES or any(
            entry.compress_size and entry.file_size / entry.compress_size > MAX_RATIO
            for entry in entries
        ):
            raise ImportRefused(_l("The file unpacks to far more data than an order can hold."))
        for entry in entries:
            if entry.filename.endswith((".xml", ".rels")) and _has_dtd(archive, entry):
                raise ImportRefused(
                    _l("The file contains XML declarations that are not allowed (DTD or entities).")
                )


def _has_dtd(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bool:
    # Declarations come before the root element: the first kilobytes are enough, and reading
    # only those keeps a hostile part from being unpacked in full.
    with archive.open(entry) as handle:
        return bool(_DTD.search(handle.read(8192)))


def positive_whole_number(value) -> int | None:
    """Return a cell's value as a whole number above zero, or None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if number != number.to_integral_value() or number <= 0:
        return None
    return int(number)


_quantity = positive_whole_number


def cell_text(value) -> str:
    """Return a cell's value as stripped text (a whole float without its ".0")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_cell_text = cell_text


def open_workbook(data: bytes):
    """Check ``data`` with :func:`check_workbook` and open it read-only with defusedxml;
    the caller closes the workbook."""
    from openpyxl import load_workbook
    from openpyxl.xml import DEFUSEDXML

    check_workbook(data)
    assert DEFUSEDXML, "openpyxl must parse with defusedxml"
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ImportRefused(_l("The Excel file cannot be read.")) from None


def parse_order_workbook(
    data: bytes,
    client_id,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ParsedOrder:
    """Read an order from an .xlsx file and check every row; raise ImportRefused on errors."""
    workbook = open_workbook(data)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_row, columns = _find_header(rows)
        raw = []
        for offset, values in enumerate(rows, start=header_row + 1):
            if not any(_cell_text(v) for v in values):
                continue
            if len(raw) >= MAX_LINES:
                raise ImportRefused(
                    lazy_ngettext(
                        "The file has more than %(num)d line.",
                        "The file has more than %(num)d lines.",
                        MAX_LINES,
                    )
                )
            raw.append((offset, values))
    finally:
        workbook.close()
    if not raw:
        raise ImportRefused(_l("The file has no order lines under its header row."))
    return _check_rows(raw, columns, client_id, progress)


def find_header(rows, headers: dict[str, set[str]], required, missing) -> tuple[int, dict]:
    """Find the header row among the first rows of ``rows`` (an iterator, left after it).

    Return its number and ``{column: index}`` for the ``headers`` it names; the row must name
    every ``required`` column. Raise :class:`ImportRefused` with ``missing`` if none does.
    """
    for number, values in enumerate(rows, start=1):
        found = {}
        for index, value in enumerate(values):
            key = normalise_header(value)
            for column, names in headers.items():
                if key in names and column not in found:
                    found[column] = index
        if all(column in found for column in required):
            return number, found
        if number >= HEADER_SEARCH_ROWS:
            break
    raise ImportRefused(missing)


def _find_header(rows):
    return find_header(
        rows,
        HEADERS,
        ("code", "quantity"),
        _l('No header row with the columns "product code" and "quantity" was found.'),
    )


def _check_rows(raw, columns, client_id, progress) -> ParsedOrder:
    from portal.db import db

    def cell(values, column):
        index = columns.get(column)
        return _cell_text(values[index]) if index is not None and index < len(values) else ""

    codes = {cell(values, "code") for _, values in raw} - {""}
    # One statement for every code of the file (at most MAX_LINES parameters), not batches of
    # the same statement: PostgreSQL may switch a statement prepared and run often to a
    # generic plan, which is slow for a list of codes.
    products = dict(
        db.session.execute(
            select(Product.code, Product.id).where(
                Product.client_id == client_id, Product.code.in_(codes)
            )
        ).all()
    )
    parsed = ParsedOrder()
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    seen: dict[str, int] = {}
    numeric_postcode = False
    conflicting = False  # rows disagree on the address: which one to check is not known
    for done, (row, values) in enumerate(raw, start=1):
        code = cell(values, "code")
        quantity = _quantity(
            values[columns["quantity"]] if columns["quantity"] < len(values) else None
        )
        if not code:
            errors.append(RowError(row, _l("Row %(row)d: the product code is missing.", row=row)))
        elif code not in products:
            errors.append(
                RowError(row, _l("Row %(row)d: unknown product %(code)s.", row=row, code=code))
            )
        elif quantity is None:
            errors.append(
                RowError(
                    row, _l("Row %(row)d: the quantity must be a positive whole number.", row=row)
                )
            )
        elif code in seen:
            errors.append(
                RowError(
                    row,
                    _l(
                        "Row %(row)d: %(code)s is already on row %(first)d.",
                        row=row,
                        code=code,
                        first=seen[code],
                    ),
                )
            )
        else:
            seen[code] = row
            parsed.lines.append((row, products[code], quantity))
        for column in ("reference", *ADDRESS_FIELDS):
            value = cell(values, column)
            if not value:
                continue
            current = parsed.reference if column == "reference" else parsed.address.get(column)
            if not current:
                if column == "reference":
                    parsed.reference = value
                else:
                    parsed.address[column] = value
                first_row[column] = row
                if column == "postcode":
                    raw_value = values[columns["postcode"]]
                    numeric_postcode = isinstance(raw_value, int | float)
            elif current != value:
                conflicting = conflicting or column != "reference"
                errors.append(
                    RowError(
                        row,
                        _l(
                            "Row %(row)d: %(column)s differs from row %(first)d; one file is one order.",
                            row=row,
                            column=column,
                            first=first_row[column],
                        ),
                    )
                )
        if progress is not None and done % 250 == 0:
            progress(done, len(raw))
    if parsed.address and not conflicting:
        errors += _address_errors(parsed, first_row, numeric_postcode)
        errors.sort(key=lambda error: error.row)
    if errors:
        raise ImportRefused(
            lazy_ngettext(
                "%(num)d row needs correcting; nothing was imported.",
                "%(num)d rows need correcting; nothing was imported.",
                len(errors),
            ),
            errors,
        )
    return parsed


def _address_errors(
    parsed: ParsedOrder, first_row: dict[str, int], numeric_postcode: bool
) -> list[RowError]:
    """Check the file's delivery address like every other; name the row of each bad part.

    A part is reported on the row its value came from; a missing part on the first row with
    address values. The cleaned address (postcode spelled as its country writes it, phone
    in E.164) replaces the typed one.
    """
    address = parsed.address
    if numeric_postcode and address.get("postcode"):
        # Excel stored the postcode as a number: 01067 arrived as 1067.
        country = address.get("country", "").strip().upper()
        address["postcode"] = restore_leading_zeros(country, address["postcode"])
    checked = check_address(address)
    first_address_row = min(first_row[part] for part in address)
    if not checked.errors:
        parsed.address = {
            part: getattr(checked.values[part], "code", checked.values[part]) or ""
            for part in address
        }
        return []
    return [
        RowError(
            row,
            _l("Row %(row)d: %(problem)s", row=row, problem=error.message),
        )
        for error in checked.errors
        for row in [first_row.get(error.field, first_address_row)]
    ]


@job_handler("order_import")
def run_order_import(job, progress) -> dict:
    """Turn an uploaded workbook into one order, or report every bad row."""
    from portal.core.clients.models import Client
    from portal.core.orders.services import LineInput, create_order
    from portal.db import db

    client = db.session.scalar(select(Client).where(Client.id == job.client_id))
    try:
        parsed = parse_order_workbook(job.input_data, client.id, progress=progress)
    except ImportRefused as refused:
        raise JobFailed(
            refused.message, [{"row": e.row, "message": str(e.message)} for e in refused.errors]
        ) from None
    options = job.options or {}
    address = parsed.address or options.get("address") or {}
    if not address:
        raise JobFailed(
            _l("The file has no delivery address columns; please choose an address for the order.")
        )
    try:
        order = create_order(
            client,
            [
                LineInput(product_id, quantity, row=row)
                for row, product_id, quantity in parsed.lines
            ],
            address,
            reference=parsed.reference or options.get("reference", ""),
            submit=bool(options.get("submit")),
        )
    except AddressErrors as refused:
        # The address chosen on the form (an address book entry saved before today's rules).
        raise JobFailed(
            _l("The chosen delivery address needs correcting; nothing was imported."),
            [
                {"row": 0, "message": str(_l("Delivery address: %(problem)s", problem=e.message))}
                for e in refused.errors
            ],
        ) from None
    except DomainError as refused:
        raise JobFailed(refused.message, []) from None
    # Not committed here: the job runner commits the order together with the job's end.
    return {"order_id": str(order.id), "order_number": order.number, "lines": len(parsed.lines)}
