"""Purchase orders to a supplier for tests: a store linked to a supplier with a matched
catalogue, helpers to move an order through its states, and small plugins to test with."""

from __future__ import annotations

import types
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.core.purchasing import ordering
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.suppliers.models import CatalogueItem, Supplier
from portal.outbox.services import deliver_due
from portal.plugins import (
    RuleSet,
    SupplierIntegration,
    TransmitOutcome,
    TransmitResult,
    Violation,
    hookimpl,
)
from portal.plugins.host import current_host
from portal.testing import factories

# --- test plugins ----------------------------------------------------------------------------


class NeedsReference(RuleSet):
    key = "test.needs_reference"
    label = "Needs a reference"

    def check(self, order, ctx):
        if not order.reference:
            return [Violation("required", "reference", "The reference is required.")]
        return []


class Broken(RuleSet):
    key = "test.broken"
    label = "Broken rules"

    def check(self, order, ctx):
        raise RuntimeError("bug in the plugin")


class Flaky(SupplierIntegration):
    """Fails as told by the class attribute ``failures`` (a list consumed per call)."""

    key = "test.flaky"
    label = "Flaky"
    failures: list[Exception] = []
    calls: list[tuple[str, int]] = []

    def prepare(self, order):
        from portal.plugins import OutboundMessage

        return OutboundMessage(body=order.number.encode())

    def transmit(self, message, idempotency_key, attempt):
        Flaky.calls.append((idempotency_key, attempt))
        if Flaky.failures:
            raise Flaky.failures.pop(0)
        return TransmitResult(TransmitOutcome.TRANSFERRED, supplier_order_number="S-77")


test_plugin = types.ModuleType("test_ordering_plugin")


@hookimpl
def portal_mandatory_data_rule_sets():
    return [NeedsReference, Broken]


@hookimpl
def portal_supplier_integrations():
    return [Flaky]


#: What the test plugin's observer saw: (tenant, action, old status, new status, number).
observed: list[tuple[str, str, str, str, str]] = []


@hookimpl
def portal_purchase_order_event(event):
    observed.append(
        (event.tenant, event.action, event.old_status, event.new_status, event.order.number)
    )


test_plugin.portal_purchase_order_event = portal_purchase_order_event
test_plugin.portal_mandatory_data_rule_sets = portal_mandatory_data_rule_sets
test_plugin.portal_supplier_integrations = portal_supplier_integrations
test_plugin.PORTAL_ENABLED_BY_DEFAULT = True


@pytest.fixture
def ordering_plugin(app, register_plugin):
    """Register the test plugin (rule sets NeedsReference and Broken, integration Flaky)."""
    with app.app_context():
        assert register_plugin("test_ordering", test_plugin) is not None, current_host().failures
    Flaky.failures, Flaky.calls = [], []
    observed.clear()


@pytest.fixture
def supplier_world(tenant, in_tenant, create_client, create_product):
    """A store with two products matched to a supplier's catalogue (6 and 12 per container)."""
    client = create_client(tenant, name="Corner Store")
    boots = create_product(tenant, client, code="BOOT-1", name="Boots")
    socks = create_product(tenant, client, code="SOCK-1", name="Socks")
    with in_tenant(tenant) as session:
        supplier = Supplier(name="Shoe Factory", email="orders@factory.test")
        session.add(supplier)
        session.flush()
        factories.make_supplier_link(tenant, supplier.id, client.id, "C-12")
        items = [
            factories.make_matched_item(
                tenant,
                supplier.id,
                product,
                supplier_code=code,
                container_amount=amount,
                price=price,
            )
            for code, product, amount, price in (
                ("F-BOOT", boots, 6, Decimal("20.00")),
                ("F-SOCK", socks, 12, Decimal("1.50")),
            )
        ]
        session.commit()
        return types.SimpleNamespace(
            tenant=tenant, client=client, supplier_id=supplier.id, item_ids=[i.id for i in items]
        )


def _get(session, model, id_):
    return session.scalar(select(model).where(model.id == id_))


def draft(in_tenant, world, containers=(2, 1)):
    with in_tenant(world.tenant) as session:
        client = session.merge(world.client)
        for item_id, count in zip(world.item_ids, containers, strict=False):
            ordering.add_to_cart(client, _get(session, CatalogueItem, item_id), count)
        po = ordering.create_from_cart(client, _get(session, Supplier, world.supplier_id))
        session.commit()
        return po.id


def act(in_tenant, world, po_id, func, *args, **kwargs):
    """Run ``func(po, ...)`` in the tenant and commit; return its result."""
    with in_tenant(world.tenant) as session:
        po = _get(session, PurchaseOrder, po_id)
        try:
            result = func(po, *args, **kwargs)
            session.commit()
        except Exception:
            session.rollback()
            raise
        return result


def state(in_tenant, world, po_id) -> PurchaseOrder:
    with in_tenant(world.tenant) as session:
        po = _get(session, PurchaseOrder, po_id)
        for line in po.lines:
            _ = line.product.code
        session.expunge_all()
        return po


def sent(in_tenant, world, **kw):
    po_id = draft(in_tenant, world, **kw)
    act(in_tenant, world, po_id, ordering.book)
    act(in_tenant, world, po_id, ordering.send)
    return po_id


def transferred(app, in_tenant, world):
    po_id = sent(in_tenant, world)
    with app.app_context():
        deliver_due()
    assert state(in_tenant, world, po_id).status == Status.TRANSFERRED
    return po_id
