"""The REST/JSON supplier integration: purchase orders as JSON POSTs, answers as signed POSTs.

Outbound, :meth:`RestJsonIntegration.transmit` POSTs the order (schema in
docs/integrations-rest.md) to the supplier's URL with the transfer's ``Idempotency-Key`` and
one of three ways to authenticate: a bearer token, HTTP basic auth, or a Standard Webhooks
signature. The supplier's immediate answer may say "received", "confirmed" (with changed
lines) or "rejected". Later answers arrive as signed POSTs at the portal's inbound URL of the
supplier (``/integrations/<supplier id>/inbound``): :meth:`verify_inbound` checks the Standard
Webhooks signature and timestamp with the supplier's secret, :meth:`handle_inbound` turns the
JSON into :class:`~portal.plugins.SupplierEvent` objects.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import os
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from wtforms import Form, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from portal.plugins import (
    ConfigurationError,
    DispatchData,
    EventKind,
    LineChange,
    OutboundMessage,
    PermanentError,
    PurchaseOrderData,
    RetryableError,
    SupplierEvent,
    SupplierIntegration,
    TransmitOutcome,
    TransmitResult,
    hookimpl,
)
from portal.plugins.forms import SecretField

SCHEMA_VERSION = 1
USER_AGENT = "Portal-REST-JSON/1"
RESPONSE_EXCERPT = 500
#: A supplier may ask for a later retry, but not beyond a day.
MAX_RETRY_AFTER = 24 * 3600
#: The operator's switch for suppliers on private addresses (tests, intranets).
ALLOW_PRIVATE = "PORTAL_INTEGRATIONS_ALLOW_PRIVATE"

AUTH_BEARER = "bearer"
AUTH_BASIC = "basic"
AUTH_SIGNATURE = "signature"

#: Inbound ``type`` -> the event it becomes.
INBOUND_TYPES = {
    "order.acknowledged": EventKind.ACKNOWLEDGED,
    "order.confirmed": EventKind.CONFIRMED,
    "order.changes_proposed": EventKind.CHANGES_PROPOSED,
    "order.rejected": EventKind.REJECTED,
    "order.status": EventKind.STATUS,
    "order.dispatched": EventKind.DISPATCHED,
}
#: The immediate answer's ``status`` -> the event it becomes (None: only "received").
ANSWER_STATUSES = {
    "received": None,
    "acknowledged": EventKind.ACKNOWLEDGED,
    "confirmed": EventKind.CONFIRMED,
    "changes_proposed": EventKind.CHANGES_PROPOSED,
    "rejected": EventKind.REJECTED,
}


class InvalidMessage(PermanentError):
    """An inbound message the portal cannot apply. ``status`` is the HTTP status to answer
    with (400: not JSON; 422: JSON that breaks the schema), ``errors`` names the fields
    (``lines[0].quantity``), ``order_number`` the order it names, when it names one."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 422,
        errors: Sequence[tuple[str, str]] = (),
        order_number: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = list(errors)
        self.order_number = order_number


# --- settings --------------------------------------------------------------------------------


def _standard_webhooks_secret(form: Form, field: SecretField) -> None:
    """A newly typed signing secret must be one that Standard Webhooks libraries accept."""
    if field.unchanged:
        return
    text = field.data.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        key = b""
    if len(key) < 24:
        raise ValidationError(
            _l(
                "Enter a Standard Webhooks secret: whsec_ followed by at least 24 random "
                "bytes in base64."
            )
        )


class RestJsonConfig(Form):
    url = StringField(
        _l("Address of the supplier's order API"),
        [DataRequired(), URL(require_tld=False), Length(max=2000)],
        description=_l(
            "The portal POSTs each purchase order as JSON to this address (https://...)."
        ),
    )
    auth = SelectField(
        _l("Authentication"),
        choices=[
            SelectChoice(AUTH_BEARER, _l("Bearer token")),
            SelectChoice(AUTH_BASIC, _l("User name and password (HTTP basic)")),
            SelectChoice(AUTH_SIGNATURE, _l("Signature (Standard Webhooks)")),
        ],
        default=AUTH_BEARER,
        description=_l("How the supplier's system recognises the portal."),
    )
    username = StringField(
        _l("User name"),
        [Optional(), Length(max=200)],
        description=_l("For HTTP basic authentication only."),
    )
    token = SecretField(
        _l("Bearer token"),
        description=_l("Sent as Authorization: Bearer <token> when that is the authentication."),
    )
    password = SecretField(_l("Password"), description=_l("For HTTP basic authentication only."))
    signing_secret = SecretField(
        _l("Signing secret"),
        [_standard_webhooks_secret],
        description=_l(
            "A Standard Webhooks secret (whsec_...) shared with the supplier. It signs the "
            "orders when the authentication is a signature, and the supplier signs its "
            "answers to the portal's inbound address with it."
        ),
    )
    timeout = IntegerField(
        _l("Timeout in seconds"),
        [Optional(), NumberRange(min=1, max=120)],
        default=20,
        description=_l("How long to wait for the supplier's answer before trying again later."),
    )


def _webhook(secret: str) -> Webhook:
    try:
        return Webhook(secret)
    except Exception as error:
        raise ConfigurationError(
            _("The signing secret is not a valid Standard Webhooks secret (whsec_...).")
        ) from error


def _allow_private() -> bool:
    value = current_app.config.get(ALLOW_PRIVATE) if has_app_context() else None
    if value is None:
        value = os.environ.get(ALLOW_PRIVATE, "")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


# --- the order as JSON -------------------------------------------------------------------------


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value


def order_document(order: PurchaseOrderData) -> dict[str, Any]:
    """The purchase order as the supplier receives it (see docs/integrations-rest.md)."""
    address = order.delivery_address
    return {
        "schema_version": SCHEMA_VERSION,
        "type": "purchase_order",
        "number": order.number,
        "revision": order.revision,
        "currency": order.currency,
        "customer_number": order.customer_number,
        "client_name": order.client_name,
        "reference": order.reference,
        "delivery_date": _text(order.delivery_date),
        "delivery_method": order.delivery_method,
        "delivery_address": {
            name: getattr(address, name)
            for name in (
                "name",
                "company",
                "street",
                "street2",
                "postcode",
                "city",
                "state",
                "country",
                "phone",
                "email",
            )
        },
        "contact": {
            "name": order.contact_name,
            "phone": order.contact_phone,
            "email": order.contact_email,
        },
        "delivery_instructions": order.delivery_instructions,
        "notes": order.notes,
        "lines": [
            {
                "position": line.position,
                "product_code": line.product_code,
                "supplier_code": line.supplier_code,
                "barcode": line.barcode,
                "name": line.name,
                "quantity": line.quantity,
                "containers": line.containers,
                "container_amount": line.container_amount,
                "unit_price": _text(line.unit_price),
                "delivery_date": _text(line.delivery_date),
                "note": line.note,
            }
            for line in order.lines
        ],
    }


# --- reading the supplier's JSON ---------------------------------------------------------------


class _Reader:
    """Reads a JSON object field by field and collects translated errors with their paths."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def text(self, data: Mapping, name: str, path: str, *, required=False, limit=200) -> str:
        value = data.get(name)
        if value is None or value == "":
            if required:
                self.fail(path, _("%(field)s is required.", field=path))
            return ""
        if not isinstance(value, str):
            self.fail(path, _("%(field)s must be text.", field=path))
            return ""
        if len(value) > limit:
            self.fail(
                path, _("%(field)s is longer than %(limit)d characters.", field=path, limit=limit)
            )
            return ""
        return value

    def integer(self, data: Mapping, name: str, path: str, *, minimum=0, required=False):
        value = data.get(name)
        if value is None:
            if required:
                self.fail(path, _("%(field)s is required.", field=path))
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(
                path,
                _(
                    "%(field)s must be a whole number of at least %(minimum)d.",
                    field=path,
                    minimum=minimum,
                ),
            )
            return None
        return value

    def decimal(self, data: Mapping, name: str, path: str):
        value = data.get(name)
        if value is None:
            return None
        try:
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise InvalidOperation
            number = Decimal(value)
            if not number.is_finite() or number < 0 or number != number.quantize(Decimal("0.0001")):
                raise InvalidOperation
        except InvalidOperation:
            self.fail(
                path,
                _('%(field)s must be an amount written as text, such as "12.50".', field=path),
            )
            return None
        return number

    def day(self, data: Mapping, name: str, path: str):
        value = data.get(name)
        if value is None or value == "":
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.fail(path, _("%(field)s must be a date such as 2026-12-31.", field=path))
            return None

    def moment(self, data: Mapping, name: str, path: str):
        value = data.get(name)
        if value is None or value == "":
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                path,
                _("%(field)s must be a date and time such as 2026-12-04T10:30:00Z.", field=path),
            )
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def objects(self, data: Mapping, name: str, path: str) -> list[tuple[int, Mapping]]:
        value = data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(path, _("%(field)s must be a list of objects.", field=path))
            return []
        return list(enumerate(value))


def read_lines(reader: _Reader, data: Mapping, path: str = "lines") -> tuple[LineChange, ...]:
    changes = []
    seen: set[int] = set()
    for index, item in reader.objects(data, "lines", path):
        at = f"{path}[{index}]"
        position = reader.integer(item, "position", f"{at}.position", minimum=1, required=True)
        if position is not None and position in seen:
            reader.fail(f"{at}.position", _("Line %(position)d is named twice.", position=position))
        if position is not None:
            seen.add(position)
        change = LineChange(
            position=position or 0,
            quantity=reader.integer(item, "quantity", f"{at}.quantity"),
            unit_price=reader.decimal(item, "unit_price", f"{at}.unit_price"),
            delivery_date=reader.day(item, "delivery_date", f"{at}.delivery_date"),
        )
        changes.append(change)
    return tuple(changes)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidMessage(
            _("The message is not valid JSON: %(error)s", error=str(error)[:200]), status=400
        ) from error


def read_event(data: Any, event_id: str, *, kind: EventKind | None = None) -> SupplierEvent:
    """Turn one inbound JSON object into an event, or raise :class:`InvalidMessage`."""
    if not isinstance(data, dict):
        raise InvalidMessage(_("The message must be a JSON object."))
    reader = _Reader()
    order_number = reader.text(data, "order_number", "order_number", required=True, limit=32)
    if kind is None:
        name = data.get("type")
        kind = INBOUND_TYPES.get(name) if isinstance(name, str) else None
        if kind is None:
            reader.fail(
                "type",
                _("type must be one of: %(choices)s.", choices=", ".join(INBOUND_TYPES)),
            )
    lines = read_lines(reader, data)
    reason = reader.text(data, "reason", "reason", limit=2000)
    if kind == EventKind.REJECTED and not reason:
        reader.fail("reason", _("A rejection needs a reason."))
    dispatch = None
    if kind == EventKind.DISPATCHED:
        notice = data.get("dispatch")
        if not isinstance(notice, dict):
            reader.fail("dispatch", _("A dispatch notice needs the object dispatch."))
        else:
            units: dict[int, int] = {}
            for index, item in reader.objects(notice, "lines", "dispatch.lines"):
                at = f"dispatch.lines[{index}]"
                position = reader.integer(
                    item, "position", f"{at}.position", minimum=1, required=True
                )
                quantity = reader.integer(
                    item, "quantity", f"{at}.quantity", minimum=1, required=True
                )
                if position is not None and quantity is not None:
                    units[position] = units.get(position, 0) + quantity
            dispatch = DispatchData(
                carrier=reader.text(notice, "carrier", "dispatch.carrier", limit=100),
                tracking_code=reader.text(
                    notice, "tracking_code", "dispatch.tracking_code", limit=100
                ),
                expected_date=reader.day(notice, "expected_date", "dispatch.expected_date"),
                lines=units,
                note=reader.text(notice, "note", "dispatch.note", limit=2000),
            )
    event = SupplierEvent(
        kind=kind or EventKind.STATUS,
        event_id=event_id,
        order_number=order_number,
        occurred_at=reader.moment(data, "occurred_at", "occurred_at"),
        lines=lines,
        reason=reason,
        supplier_order_number=reader.text(
            data, "supplier_order_number", "supplier_order_number", limit=64
        ),
        situation=reader.text(data, "situation", "situation", limit=200),
        dispatch=dispatch,
    )
    if kind == EventKind.STATUS and not (event.situation or event.supplier_order_number):
        reader.fail("situation", _("A status update needs situation or supplier_order_number."))
    if reader.errors:
        raise InvalidMessage(
            _(
                "The message does not match the schema: %(errors)s",
                errors="; ".join(message for _path, message in reader.errors),
            ),
            errors=reader.errors,
            order_number=order_number,
        )
    return event


# --- the integration ---------------------------------------------------------------------------


class RestJsonIntegration(SupplierIntegration):
    key = "rest_json"
    label = _l("REST/JSON API")
    description = _l(
        "Sends each purchase order as JSON to the supplier's API; the supplier answers at once "
        "or later with signed messages to the portal's inbound address."
    )
    config_form = RestJsonConfig

    # -- outbound

    def prepare(self, order: PurchaseOrderData) -> OutboundMessage:
        body = json.dumps(order_document(order), sort_keys=True, ensure_ascii=False)
        return OutboundMessage(body=body.encode("utf-8"), content_type="application/json")

    def _url(self) -> str:
        url = (self.config.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                _("The address of the supplier's order API is missing or not valid.")
            )
        return url

    def _timeout(self) -> float:
        try:
            return float(min(max(int(self.config.get("timeout") or 20), 1), 120))
        except (TypeError, ValueError):
            return 20.0

    def _auth_headers(self, message: OutboundMessage, message_id: str) -> dict[str, str]:
        kind = self.config.get("auth") or AUTH_BEARER
        if kind == AUTH_BEARER:
            token = self.secrets.get("token") or ""
            if not token:
                raise ConfigurationError(_("The bearer token is missing."))
            return {"Authorization": f"Bearer {token}"}
        if kind == AUTH_BASIC:
            user, password = self.config.get("username") or "", self.secrets.get("password") or ""
            if not user or not password:
                raise ConfigurationError(_("The user name or the password is missing."))
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if kind == AUTH_SIGNATURE:
            secret = self.secrets.get("signing_secret") or ""
            if not secret:
                raise ConfigurationError(_("The signing secret is missing."))
            now = datetime.now(UTC)
            signature = _webhook(secret).sign(message_id, now, message.body)
            return {
                "webhook-id": message_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signature,
            }
        raise ConfigurationError(
            _("The authentication %(kind)s is not known.", kind=str(kind)[:40])
        )

    def _post(self, url: str, body: bytes, headers: dict[str, str]):
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise RetryableError(_("The supplier's host name could not be resolved.")) from error
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if not _allow_private() and not all(_is_public(a) for a in addresses):
            raise ConfigurationError(
                _("The supplier's address points into a private network, which is not allowed.")
            )
        timeout = self._timeout()
        address = addresses[0]
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
        try:
            sock = socket.create_connection((address, port), timeout)
            if parts.scheme == "https":
                sock = connection._context.wrap_socket(sock, server_hostname=parts.hostname)  # type: ignore[attr-defined]
            connection.sock = sock
            connection.request("POST", path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read(256 * 1024)
            return answer.status, dict(answer.getheaders()), data
        except TimeoutError as error:
            raise RetryableError(
                ngettext(
                    "The supplier did not answer within %(num)d second.",
                    "The supplier did not answer within %(num)d seconds.",
                    int(timeout),
                )
            ) from error
        except ssl.SSLError as error:
            raise RetryableError(
                _("The secure connection to the supplier failed: %(error)s", error=str(error)[:200])
            ) from error
        except OSError as error:
            raise RetryableError(
                _("The supplier could not be reached: %(error)s", error=str(error)[:200])
            ) from error
        except http.client.HTTPException as error:
            raise RetryableError(
                _("The supplier's answer was not valid HTTP: %(error)s", error=str(error)[:200])
            ) from error
        finally:
            connection.close()

    def transmit(
        self, message: OutboundMessage, idempotency_key: str, attempt: int
    ) -> TransmitResult:
        url = self._url()
        headers = {
            "Content-Type": message.content_type,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": idempotency_key,
            "X-Attempt": str(attempt),
            **self._auth_headers(message, idempotency_key),
        }
        status, answer_headers, data = self._post(url, message.body, headers)
        excerpt = data[:RESPONSE_EXCERPT].decode("utf-8", "replace")
        lowered = {k.lower(): v for k, v in answer_headers.items()}
        if status in (408, 425, 429) or status >= 500:
            raise RetryableError(
                _("The supplier answered %(status)d: %(answer)s", status=status, answer=excerpt),
                retry_after=_retry_after(lowered.get("retry-after")),
            )
        if status in (401, 403):
            raise ConfigurationError(
                _("The supplier refused the portal's credentials (%(status)d).", status=status)
            )
        if status >= 300:
            raise PermanentError(
                _(
                    "The supplier refused the order (%(status)d): %(answer)s",
                    status=status,
                    answer=excerpt,
                )
            )
        try:
            sent_number = str(json.loads(message.body).get("number") or "")
        except (ValueError, AttributeError):
            sent_number = ""
        return self._read_answer(data, idempotency_key, sent_number)

    def _read_answer(self, data: bytes, idempotency_key: str, sent_number: str) -> TransmitResult:
        if not data.strip():
            return TransmitResult(TransmitOutcome.TRANSFERRED)
        try:
            answer = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return TransmitResult(
                TransmitOutcome.TRANSFERRED, detail="the supplier's answer was not JSON"
            )
        if not isinstance(answer, dict):
            return TransmitResult(TransmitOutcome.TRANSFERRED)
        number = answer.get("supplier_order_number")
        number = number[:64] if isinstance(number, str) else ""
        status = answer.get("status")
        if status not in ANSWER_STATUSES:
            return TransmitResult(TransmitOutcome.TRANSFERRED, supplier_order_number=number)
        kind = ANSWER_STATUSES[status]
        events: tuple[SupplierEvent, ...] = ()
        if kind not in (None, EventKind.ACKNOWLEDGED):
            # An answer the portal cannot read is not applied; the order waits for a later one.
            # The reply is about the order just sent; it need not name it again.
            if not answer.get("order_number"):
                answer = {**answer, "order_number": sent_number}
            try:
                events = (read_event(answer, f"{idempotency_key}:answer", kind=kind),)
            except InvalidMessage as error:
                return TransmitResult(
                    TransmitOutcome.ACKNOWLEDGED, supplier_order_number=number, detail=str(error)
                )
        outcome = TransmitOutcome.TRANSFERRED if kind is None else TransmitOutcome.ACKNOWLEDGED
        return TransmitResult(outcome, supplier_order_number=number, events=events)

    # -- inbound

    def verify_inbound(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self.secrets.get("signing_secret") or ""
        if not secret:
            return False
        try:
            _webhook(secret).verify(body, dict(headers), json_parse=False)
        except (WebhookVerificationError, ConfigurationError, ValueError):
            return False
        return True

    def handle_inbound(self, headers: Mapping[str, str], body: bytes) -> Sequence[SupplierEvent]:
        message_id = {k.lower(): v for k, v in headers.items()}.get("webhook-id", "")
        data = parse_json(body)
        return [read_event(data, f"rest_json:{message_id}")]

    def test_connection(self) -> None:
        url = self._url()
        self._auth_headers(OutboundMessage(body=b"{}"), "test-connection")
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), self._timeout()).close()
        except OSError as error:
            raise RetryableError(
                _("The supplier could not be reached: %(error)s", error=str(error)[:200])
            ) from error


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float(min(max(moment.timestamp() - time.time(), 0), MAX_RETRY_AFTER))


@hookimpl
def portal_supplier_integrations():
    return [RestJsonIntegration]


@hookimpl
def portal_translation_directories():
    folder = Path(__file__).parent / "translations"
    # The lead creates the catalogs; until then the plugin has none to offer.
    return [str(folder)] if folder.is_dir() else []
