"""The contract between the portal and its plugins: plain data in, plain data out.

Plugins never receive ORM rows. The host turns a purchase order into the frozen dataclasses
below, so a plugin cannot change the order behind the portal's back, and new optional fields
can be added later without breaking a plugin that does not know them.

Two families of plugin classes are defined here:

* :class:`RuleSet`: decides which data an order must carry before it may be sent to a
  supplier. ``check`` is pure (no I/O) and returns :class:`Violation` objects.
* :class:`SupplierIntegration`: moves a purchase order to a supplier and turns the
  supplier's answers into :class:`SupplierEvent` objects. Built per tenant and supplier,
  keeps no state between calls; the host's outbox retries :meth:`~SupplierIntegration.transmit`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from wtforms import Form

# --- the order as plugins see it ------------------------------------------------------------


@dataclass(frozen=True)
class AddressData:
    """A postal address. ``country`` is an ISO 3166-1 alpha-2 code such as ``"NL"``."""

    name: str = ""
    company: str = ""
    street: str = ""
    street2: str = ""
    postcode: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class LineData:
    """One line of a purchase order. ``quantity`` is in units: containers x container amount."""

    position: int
    product_code: str
    name: str
    quantity: int
    containers: int
    container_amount: int = 1
    supplier_code: str = ""
    barcode: str = ""
    unit_price: Decimal | None = None
    delivery_date: date | None = None
    note: str = ""
    line_id: str = ""


@dataclass(frozen=True)
class PurchaseOrderData:
    """A purchase order as plugins see it.

    ``fields`` lists the order-level values by the names that rule sets use to name a field
    (see :data:`ORDER_FIELDS`); the attributes hold the same values typed.
    """

    number: str
    status: str
    supplier_name: str
    client_name: str = ""
    customer_number: str = ""
    reference: str = ""
    delivery_date: date | None = None
    delivery_method: str = "standard"
    delivery_address: AddressData = field(default_factory=AddressData)
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    delivery_instructions: str = ""
    notes: str = ""
    currency: str = "EUR"
    lines: tuple[LineData, ...] = ()
    revision: int = 1
    order_id: str = ""

    @property
    def total_value(self) -> Decimal:
        """The sum of quantity x unit price over the lines that have a price."""
        return sum(
            (line.unit_price * line.quantity for line in self.lines if line.unit_price is not None),
            Decimal("0"),
        )

    def value_of(self, name: str) -> Any:
        """Return the order-level value of field ``name`` (one of :data:`ORDER_FIELDS`)."""
        if name.startswith("delivery_address."):
            return getattr(self.delivery_address, name.split(".", 1)[1])
        return getattr(self, name)


#: Order-level fields that rule sets may name, in the form ``Violation.field`` uses.
ORDER_FIELDS = (
    "reference",
    "delivery_date",
    "delivery_method",
    "contact_name",
    "contact_phone",
    "contact_email",
    "delivery_instructions",
    "notes",
    "delivery_address.name",
    "delivery_address.company",
    "delivery_address.street",
    "delivery_address.postcode",
    "delivery_address.city",
    "delivery_address.state",
    "delivery_address.country",
    "delivery_address.phone",
    "delivery_address.email",
)


@dataclass(frozen=True)
class RuleContext:
    """What a rule set may know besides the order: today's date in the tenant's time zone,
    the supplier and the settings stored for this rule set and supplier."""

    today: date
    supplier_name: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"


# --- rule sets --------------------------------------------------------------------------------


class Severity(enum.StrEnum):
    ERROR = "error"  # blocks sending
    WARNING = "warning"  # shown, does not block


@dataclass(frozen=True)
class Violation:
    """One finding of a rule set.

    ``field`` names the order field (one of :data:`ORDER_FIELDS`), or ``lines[3].note`` for
    the note of the line at position 3 (positions count from 1), or ``""`` for the order as a
    whole. ``message`` is already translated for the current user.
    """

    code: str
    field: str
    message: str
    severity: Severity = Severity.ERROR


class RuleSet:
    """Base class of a mandatory-data rule set.

    Subclasses set ``key`` (unique among all plugins, ``[a-z0-9_.-]``), ``label`` and
    ``description`` (translatable), may set ``settings_form`` (a :class:`wtforms.Form`
    subclass whose ``data`` becomes ``RuleContext.settings``), and implement :meth:`check`.
    """

    key: ClassVar[str] = ""
    label: ClassVar[Any] = ""
    description: ClassVar[Any] = ""
    settings_form: ClassVar[type[Form] | None] = None

    def applies_to(self, order: PurchaseOrderData, ctx: RuleContext) -> bool:
        """Tell whether this rule set has anything to say about ``order`` (default: yes)."""
        return True

    def check(self, order: PurchaseOrderData, ctx: RuleContext) -> Sequence[Violation]:
        """Return the violations of ``order``; pure: no I/O, no database, no clock."""
        raise NotImplementedError


# --- supplier integrations ------------------------------------------------------------------


class TransmitOutcome(enum.StrEnum):
    """What :meth:`SupplierIntegration.transmit` achieved."""

    TRANSFERRED = "transferred"  # the supplier's system or inbox has it; answer comes later
    ACKNOWLEDGED = "acknowledged"  # the supplier's system answered "received" at once
    MANUAL = "manual"  # the supplier works in the portal; it has been told of the order


@dataclass(frozen=True)
class OutboundMessage:
    """A prepared message: the bytes to send and how to name them."""

    body: bytes
    content_type: str = "application/json"
    filename: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TransmitResult:
    """What ``transmit`` achieved. ``events`` are answers that came with the immediate reply
    (a confirmation or a rejection at once); the host applies them after the transfer, once
    per ``event_id`` like any other event."""

    outcome: TransmitOutcome
    supplier_order_number: str = ""
    detail: str = ""
    events: tuple[SupplierEvent, ...] = ()


class IntegrationError(Exception):
    """Base of the errors :meth:`SupplierIntegration.transmit` may raise."""


class RetryableError(IntegrationError):
    """The channel failed for now (timeout, 5xx, connection refused); try again later.
    ``retry_after`` (seconds), when given, is the earliest moment to try again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(IntegrationError):
    """The supplier refused the message for good (4xx, schema error); retrying is useless."""


class ConfigurationError(IntegrationError):
    """The integration's configuration is wrong or incomplete; an admin must fix it."""


class EventKind(enum.StrEnum):
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    CHANGES_PROPOSED = "changes_proposed"
    REJECTED = "rejected"
    STATUS = "status"
    DISPATCHED = "dispatched"


@dataclass(frozen=True)
class LineChange:
    """The supplier's answer for one line: what it will deliver, at what price, when."""

    position: int
    quantity: int | None = None
    unit_price: Decimal | None = None
    delivery_date: date | None = None


@dataclass(frozen=True)
class DispatchData:
    carrier: str = ""
    tracking_code: str = ""
    expected_date: date | None = None
    lines: Mapping[int, int] = field(default_factory=dict)  # position -> units
    note: str = ""


@dataclass(frozen=True)
class SupplierEvent:
    """Something the supplier told us about an order, from any channel.

    ``event_id`` is the supplier's own id of the message; the host applies each
    (supplier, event_id) once, so a repeated delivery is harmless.
    """

    kind: EventKind
    event_id: str
    order_number: str
    occurred_at: datetime | None = None
    lines: tuple[LineChange, ...] = ()
    reason: str = ""
    supplier_order_number: str = ""
    situation: str = ""
    dispatch: DispatchData | None = None


class SupplierIntegration:
    """Base class of a supplier integration, built per tenant and supplier.

    ``config`` holds the values of ``config_form`` stored for the supplier, ``secrets`` the
    decrypted values of its secret fields (see :class:`portal.plugins.forms.SecretField`).
    """

    key: ClassVar[str] = ""
    label: ClassVar[Any] = ""
    description: ClassVar[Any] = ""
    config_form: ClassVar[type[Form] | None] = None
    #: True when the supplier answers in the portal (no remote system to talk to).
    manual: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        self.config = dict(config)
        self.secrets = dict(secrets)

    def prepare(self, order: PurchaseOrderData) -> OutboundMessage:
        """Turn ``order`` into the message to send. Pure: no I/O."""
        raise NotImplementedError

    def transmit(
        self, message: OutboundMessage, idempotency_key: str, attempt: int
    ) -> TransmitResult:
        """Send ``message``. Must be idempotent for ``idempotency_key`` (stable across retries
        of the same order revision). Raise RetryableError, PermanentError or
        ConfigurationError on failure."""
        raise NotImplementedError

    def verify_inbound(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Tell whether an inbound call really comes from the supplier (signature check)."""
        return False

    def handle_inbound(self, headers: Mapping[str, str], body: bytes) -> Sequence[SupplierEvent]:
        """Turn a verified inbound call into events."""
        return ()

    def poll(self, cursor: str | None) -> tuple[Sequence[SupplierEvent], str | None]:
        """Fetch new answers since ``cursor``; return them and the next cursor."""
        return (), cursor

    def test_connection(self) -> None:
        """Try the real channel with the stored configuration; raise an IntegrationError."""


# --- events for observers ---------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseOrderEvent:
    """A committed change of a purchase order, for ``portal_purchase_order_event``."""

    tenant: str
    action: str
    old_status: str
    new_status: str
    order: PurchaseOrderData


@dataclass(frozen=True)
class OrderEvent:
    """A committed change of a client's order, for ``portal_order_event``."""

    tenant: str
    action: str
    order_number: str
    old_status: str
    new_status: str
