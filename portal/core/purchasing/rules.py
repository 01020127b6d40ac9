"""Mandatory data: the rule sets that apply to a supplier check an order before it is sent.

Each rule set runs on its own; one that crashes becomes a violation naming it, so a broken
plugin never hides the others' findings and never lets an order through unchecked. A rule set
chosen for the supplier whose plugin is missing or disabled blocks sending too: mandatory data
must not be skipped silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import g
from flask_babel import gettext as _
from sqlalchemy import select

from portal.core.purchasing.models import PurchaseOrder
from portal.core.suppliers.models import SupplierClient, SupplierRuleSet
from portal.db import db, utcnow
from portal.plugins.contracts import (
    AddressData,
    LineData,
    PurchaseOrderData,
    RuleContext,
    Severity,
    Violation,
)
from portal.plugins.host import current_host

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """A violation and the label of the rule set that found it."""

    rule_set: str
    violation: Violation

    @property
    def blocking(self) -> bool:
        return self.violation.severity == Severity.ERROR


def customer_number(po: PurchaseOrder) -> str:
    if po.supplier_id is None or po.client_id is None:
        return ""
    return (
        db.session.scalar(
            select(SupplierClient.customer_number).where(
                SupplierClient.supplier_id == po.supplier_id,
                SupplierClient.client_id == po.client_id,
            )
        )
        or ""
    )


def order_data(po: PurchaseOrder) -> PurchaseOrderData:
    """The purchase order as plugins see it: plain, frozen data."""
    return PurchaseOrderData(
        number=po.number,
        status=po.status.value,
        supplier_name=po.supplier_label,
        client_name=po.client.name if po.client is not None else "",
        customer_number=customer_number(po),
        reference=po.reference,
        delivery_date=po.expected_date,
        delivery_method=po.delivery_method,
        delivery_address=AddressData(
            name=po.delivery_name,
            company=po.delivery_company,
            street=po.delivery_street,
            street2=po.delivery_street2,
            postcode=po.delivery_postcode,
            city=po.delivery_city,
            state=po.delivery_state,
            country=str(getattr(po.delivery_country, "code", po.delivery_country) or ""),
            phone=po.delivery_phone,
            email=po.delivery_email,
        ),
        contact_name=po.contact_name,
        contact_phone=po.contact_phone,
        contact_email=po.contact_email,
        delivery_instructions=po.delivery_instructions,
        notes=po.notes,
        currency=str(getattr(po.currency, "code", po.currency) or "EUR"),
        lines=tuple(
            LineData(
                position=index,
                product_code=line.product.code,
                name=line.product.name,
                quantity=line.quantity,
                containers=line.containers,
                container_amount=line.container_amount,
                supplier_code=line.supplier_code,
                barcode=line.product.barcode or "",
                unit_price=line.unit_price,
                delivery_date=line.delivery_date,
                note=line.note,
                line_id=str(line.id),
            )
            for index, line in enumerate(po.lines, start=1)
        ),
        revision=po.revision,
        order_id=str(po.id),
    )


def tenant_today(tenant=None):
    tenant = tenant or g.get("tenant")
    zone = ZoneInfo(getattr(tenant, "timezone", None) or "UTC")
    return datetime.now(tz=zone).date() if tenant else utcnow().date()


def check_order(po: PurchaseOrder) -> list[Finding]:
    """Run every rule set chosen for the order's supplier; return all findings."""
    if po.supplier_id is None:
        return []
    chosen = db.session.scalars(
        select(SupplierRuleSet)
        .where(SupplierRuleSet.supplier_id == po.supplier_id)
        .order_by(SupplierRuleSet.rule_set_key)
    ).all()
    if not chosen:
        return []
    available = current_host().enabled_rule_sets()
    data = order_data(po)
    today = tenant_today()
    findings: list[Finding] = []
    for choice in chosen:
        cls = available.get(choice.rule_set_key)
        if cls is None:
            findings.append(
                Finding(
                    choice.rule_set_key,
                    Violation(
                        "rule_set_unavailable",
                        "",
                        _(
                            "The rule set %(name)s applies to this supplier but is not available. Ask your administrator to enable its plugin.",
                            name=choice.rule_set_key,
                        ),
                    ),
                )
            )
            continue
        label = str(cls.label)
        context = RuleContext(
            today=today,
            supplier_name=data.supplier_name,
            settings=dict(choice.settings or {}),
            timezone=getattr(g.get("tenant"), "timezone", None) or "UTC",
        )
        try:
            rule_set = cls()
            if not rule_set.applies_to(data, context):
                continue
            violations = list(rule_set.check(data, context))
            if not all(isinstance(v, Violation) for v in violations):
                raise TypeError("check() must return Violation objects")
        except Exception:
            log.exception("rule set %r failed on %s", choice.rule_set_key, po.number)
            findings.append(
                Finding(
                    label,
                    Violation(
                        "rule_set_failed",
                        "",
                        _(
                            "The rule set %(name)s could not check this order because of an error in it. The order cannot be sent until it works again; please tell your administrator.",
                            name=label,
                        ),
                    ),
                )
            )
            continue
        findings.extend(Finding(label, violation) for violation in violations)
    return findings
