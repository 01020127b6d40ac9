"""The client's address book, and checks shared by every postal address."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from babel import Locale
from flask_babel import lazy_gettext as _l
from sqlalchemy_utils import Country

from portal.audit.services import diff, record
from portal.core.addresses.models import ADDRESS_FIELDS, Address
from portal.core.errors import DomainError, too_long
from portal.db import db

REQUIRED = {
    "name": _l("Please enter the recipient's name."),
    "street": _l("Please enter the street and house number."),
    "city": _l("Please enter the city."),
    "country": _l("Please choose the country."),
}
LIMITS = {
    "name": 200,
    "company": 200,
    "street": 200,
    "street2": 200,
    "postcode": 20,
    "city": 100,
    "state": 100,
    "phone": 40,
    "email": 254,
}


def clean_address(values: Mapping[str, object]) -> dict[str, object]:
    """Return the address fields trimmed and checked; raise DomainError naming the field."""
    clean, errors = _checked(values)
    if errors:
        raise errors[0]
    return clean


def address_errors(values: Mapping[str, object]) -> list[DomainError]:
    """Return every problem of the address at once, one DomainError per field, for forms."""
    return _checked(values)[1]


def _checked(values: Mapping[str, object]) -> tuple[dict[str, object], list[DomainError]]:
    clean: dict[str, object] = {}
    errors: list[DomainError] = []
    for field in ADDRESS_FIELDS:
        value = values.get(field)
        try:
            clean[field] = _country(value) if field == "country" else _text(field, value)
        except DomainError as error:
            errors.append(error)
    return clean, errors


def _text(field: str, value: object) -> str:
    text = str(value or "").strip()
    if len(text) > LIMITS[field]:
        raise DomainError(too_long(LIMITS[field]), field)
    if field in REQUIRED and not text:
        raise DomainError(REQUIRED[field], field)
    return text


def _country(value) -> Country:
    code = getattr(value, "code", value)
    code = str(code or "").strip().upper()
    if not code:
        raise DomainError(REQUIRED["country"], "country")
    if code not in Locale("en").territories or len(code) != 2:
        raise DomainError(_l("%(code)s is not a country code.", code=code), "country")
    return Country(code)


def create_address(client_id: uuid.UUID, values: Mapping[str, object], label: str = "") -> Address:
    clean = clean_address(values)
    address = Address(client_id=client_id, label=label.strip()[:100], **clean)
    db.session.add(address)
    db.session.flush()
    record("address.created", address)
    return address


def update_address(address: Address, values: Mapping[str, object], label: str = "") -> dict:
    clean = clean_address(values)
    before = {**address.address_values(), "label": address.label}
    for field, value in clean.items():
        setattr(address, field, value)
    address.label = label.strip()[:100]
    changes = diff(before, {**clean, "label": address.label})
    if changes:
        record("address.updated", address, changes=changes)
    return changes


def delete_address(address: Address) -> None:
    record("address.deleted", address, details={"name": address.name})
    db.session.delete(address)
