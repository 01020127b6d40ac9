"""The inbound address of a supplier's integration: ``POST /integrations/<supplier id>/inbound``.

A supplier's system posts its later answers here (confirmations, status updates, dispatch
notices). In this order, on the tenant's host only:

1. the supplier must exist in this tenant and its integration must be enabled and take
   inbound calls (``verify_inbound`` overridden); otherwise 404;
2. the integration checks the call's signature with the supplier's secret before anything
   reads the body's meaning (401 when it fails: no record, nothing changes);
3. a message id (``webhook-id``) already applied for this tenant and source (the supplier
   and its integration) is answered 200 with ``"status": "duplicate"`` and changes nothing;
4. the integration turns the body into events (400 for a body it cannot read, 422 for one
   that breaks the schema), and the events are applied by the same services as the
   supplier's buttons, in one transaction with the record of the message id: a message is
   applied whole or not at all, and once;
5. a refusal (unreadable, unknown order, another supplier's order, illegal transition) is
   kept on the order's log (or, when the order is not known, on the supplier's) and answered
   with a problem document; nothing else changes.

Exempt from CSRF: the caller is a machine that proves itself by its signature, not a browser
with a cookie.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from flask import Blueprint, current_app, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.audit.services import record
from portal.core.errors import DomainError, TransitionRefused
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.responses import UnknownOrder, apply_event
from portal.core.suppliers.models import Supplier
from portal.db import db
from portal.plugins.contracts import IntegrationError, SupplierIntegration
from portal.plugins.host import current_host
from portal.plugins.models import InboundMessage
from portal.security import csrf

log = logging.getLogger(__name__)

bp = Blueprint("inbound", __name__, url_prefix="/integrations")
csrf.exempt(bp)

MEDIA_TYPE = "application/problem+json"
#: The largest body accepted (1 MiB); an answer about one order is a few kilobytes.
MAX_BODY = 1024 * 1024


def _problem(status: int, code: str, title: str, detail: str, errors=None):
    body: dict[str, Any] = {
        "type": f"{request.script_root}/api/v1/docs#inbound-{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = [
            {"field": field, "in": "body", "detail": message} for field, message in errors
        ]
    return current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE
    )


def _not_found():
    return _problem(
        404,
        "not_found",
        _("Not found"),
        _("There is no inbound address for a supplier here."),
    )


def _answer(status: str, message_id: str, order_number: str = "", code: int = 200):
    body = {"status": status, "message_id": message_id, "order_number": order_number}
    return current_app.response_class(json.dumps(body), status=code, mimetype="application/json")


def _already_applied(supplier: Supplier, source: str, message_id: str) -> bool:
    return (
        db.session.scalar(
            select(InboundMessage.id).where(
                InboundMessage.supplier_id == supplier.id,
                InboundMessage.source == source,
                InboundMessage.message_id == message_id,
            )
        )
        is not None
    )


def _keep_refusal(
    supplier_id: uuid.UUID, order_number: str, source: str, message_id: str, error: str
):
    """Write the refusal on the order's log (the supplier's when the order is not its own),
    after the refused transaction was rolled back."""
    db.session.rollback()
    supplier = db.session.scalar(select(Supplier).where(Supplier.id == supplier_id))
    po = None
    if order_number:
        po = db.session.scalar(
            select(PurchaseOrder).where(
                PurchaseOrder.supplier_id == supplier_id,
                PurchaseOrder.number == order_number[:32],
            )
        )
    details = {
        "source": source,
        "message_id": message_id[:200],
        "order_number": order_number[:32],
        # Shown as the reason on the order's history and in the audit log.
        "reason": error[:500],
    }
    if po is not None:
        record("purchase_order.inbound_refused", po, details=details)
    else:
        record("supplier.inbound_refused", supplier, details=details)
    db.session.commit()
    log.info("inbound message %s of supplier %s refused: %s", message_id, supplier_id, error)


def takes_inbound_calls(cls: type[SupplierIntegration] | None) -> bool:
    """Tell whether the integration receives calls at the inbound address."""
    return cls is not None and cls.verify_inbound is not SupplierIntegration.verify_inbound


@bp.app_template_global("inbound_url")
def inbound_url(supplier: Supplier, cls: type[SupplierIntegration] | None) -> str:
    """The supplier's inbound address on this host, or "" when its integration takes none."""
    if not takes_inbound_calls(cls):
        return ""
    return url_for("inbound.receive", supplier_id=supplier.id, _external=True)


@bp.post("/<supplier_id>/inbound")
def receive(supplier_id: str):
    if g.get("tenant") is None:
        return _not_found()
    try:
        sid = uuid.UUID(supplier_id)
    except ValueError:
        return _not_found()
    supplier = db.session.scalar(select(Supplier).where(Supplier.id == sid))
    if supplier is None:
        return _not_found()
    source = supplier.integration_key
    cls = current_host().integration(source)
    if not takes_inbound_calls(cls):
        return _not_found()
    if (request.content_length or 0) > MAX_BODY:
        return _problem(413, "too_large", _("Too large"), _("The message is larger than 1 MB."))
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        return _problem(413, "too_large", _("Too large"), _("The message is larger than 1 MB."))
    headers = {key.lower(): value for key, value in request.headers.items()}
    integration = cls(supplier.integration_config or {}, supplier.integration_secrets or {})
    try:
        verified = integration.verify_inbound(headers, body) is True
    except Exception:  # a broken plugin must not let a call through
        log.exception("integration %r failed in verify_inbound", source)
        verified = False
    if not verified:
        return _problem(
            401,
            "invalid_signature",
            _("Authentication required"),
            _(
                "The signature of the message is missing, wrong or too old. Sign it with the "
                "supplier's secret and send it within five minutes."
            ),
        )
    message_id = (headers.get("webhook-id") or "").strip()[:200]
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(body).hexdigest()
    if _already_applied(supplier, source, message_id):
        return _answer("duplicate", message_id)

    try:
        events = list(integration.handle_inbound(headers, body))
    except IntegrationError as error:
        status = getattr(error, "status", 422)
        status = status if status in (400, 422) else 422
        _keep_refusal(sid, getattr(error, "order_number", ""), source, message_id, str(error))
        return _problem(
            status,
            "invalid_message" if status == 422 else "unreadable_message",
            _("The message is not valid"),
            str(error),
            getattr(error, "errors", None),
        )
    except Exception:
        log.exception("integration %r failed in handle_inbound", source)
        text = _("The integration could not read the message.")
        _keep_refusal(sid, "", source, message_id, text)
        return _problem(422, "invalid_message", _("The message is not valid"), text)
    if not events:
        return _problem(
            422,
            "invalid_message",
            _("The message is not valid"),
            _("The message holds no answer about an order."),
        )
    order_number = events[0].order_number
    try:
        db.session.add(
            InboundMessage(
                supplier_id=supplier.id,
                source=source,
                message_id=message_id,
                purchase_order_number=order_number[:32],
                kinds=",".join(event.kind.value for event in events)[:200],
            )
        )
        # The record comes first: a concurrent delivery of the same id waits here and then
        # finds it taken, before it has changed anything.
        db.session.flush()
        for event in events:
            apply_event(supplier, event)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if _already_applied(supplier, source, message_id):
            return _answer("duplicate", message_id, order_number)
        raise
    except DomainError as error:
        if isinstance(error, UnknownOrder):
            code, status = "unknown_order", 422
        elif isinstance(error, TransitionRefused):
            code, status = "transition_refused", 422
        else:
            code, status = "refused", 422
        text = str(error)
        _keep_refusal(sid, order_number, source, message_id, text)
        errors = [(error.field, text)] if error.field else None
        return _problem(status, code, _("The message was refused"), text, errors)
    return _answer("applied", message_id, order_number)
