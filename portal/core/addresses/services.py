"""The client's address book, and checks shared by every postal address."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from portal.audit.services import diff, record
from portal.core.addresses.models import Address
from portal.core.addresses.validation import (
    LIMITS,
    AddressError,
    AddressErrors,
    check_address,
)
from portal.db import db

__all__ = [
    "LIMITS",
    "AddressError",
    "AddressErrors",
    "address_errors",
    "clean_address",
    "create_address",
    "delete_address",
    "update_address",
]


def clean_address(values: Mapping[str, object]) -> dict[str, object]:
    """Return the address checked and cleaned (see :func:`check_address`).

    Raise :class:`AddressErrors`, a DomainError naming the first bad field and holding every
    one of them.
    """
    checked = check_address(values)
    if checked.errors:
        raise AddressErrors(checked.errors)
    return checked.values


def address_errors(values: Mapping[str, object]) -> list[AddressError]:
    """Return every problem of the address at once, one error per field, for forms."""
    return check_address(values).errors


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
