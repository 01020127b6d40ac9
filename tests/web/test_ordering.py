"""Ordering from suppliers through the store's pages: cart, order data, send with the
mandatory-data check, the answer to proposed changes, retrying a failed transfer."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.core.purchasing import ordering, responses
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.suppliers.models import CartLine, Supplier, SupplierRuleSet
from portal.db import utcnow
from portal.outbox.services import deliver_due
from portal.testing.suppliers import (
    NeedsReference,
    _get,
    act,
    draft,
    sent,
    state,
)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def token(browser, path):
    return browser.csrf_token(path)


@pytest.fixture
def store(world, create_user):
    return create_user(world.tenant, "client", client=world.client)


def test_cart_to_draft_to_sent_through_the_pages(app, login_as, world, store, in_tenant, mailbox):
    with in_tenant(world.tenant) as session:
        client = session.merge(world.client)
        for item_id in world.item_ids:
            ordering.add_to_cart(
                client, session.get(ordering.CatalogueItem, (world.tenant.id, item_id)), 2
            )
        session.commit()
    browser = login_as(store, world.tenant)
    page = text_of(browser.get("/purchase-orders/cart"))
    assert "Shoe Factory" in page
    assert "2 × 6 = 12" in page  # noqa: RUF001 - the multiplication sign is meant
    response = browser.post(
        f"/purchase-orders/cart/order/{world.supplier_id}",
        data={"csrf_token": token(browser, "/purchase-orders/cart")},
    )
    assert response.status_code == 302
    po_id = uuid.UUID(
        re.search(r"/purchase-orders/([0-9a-f-]+)/order-data", response.headers["Location"]).group(
            1
        )
    )
    form = text_of(browser.get(f"/purchase-orders/{po_id}/order-data"))
    assert "Save and send to the supplier" in form
    data = {
        "csrf_token": token(browser, f"/purchase-orders/{po_id}/order-data"),
        "version": re.search(r'name="version"[^>]*value="(\d+)"', form).group(1),
        "reference": "STORE-1",
        "delivery_method": "standard",
        "delivery_name": "Main warehouse",
        "then": "send",
    }
    po = state(in_tenant, world, po_id)
    for index, line in enumerate(po.lines):
        data[f"lines-{index}-line_id"] = str(line.id)
        data[f"lines-{index}-containers"] = "3" if index == 0 else "2"
    response = browser.post(f"/purchase-orders/{po_id}/order-data", data=data)
    assert response.status_code == 302, text_of(response)[:3000]
    po = state(in_tenant, world, po_id)
    assert po.status == Status.SENT
    assert po.reference == "STORE-1"
    assert [line.quantity for line in po.lines] == [18, 24]
    page = text_of(browser.get(f"/purchase-orders/{po_id}"))
    assert "Waiting for the transfer to the supplier." in page
    with app.app_context():
        deliver_due()
    page = text_of(browser.get(f"/purchase-orders/{po_id}"))
    assert "The supplier has the order; waiting for its confirmation." in page
    with in_tenant(world.tenant) as session:
        assert session.scalars(select(CartLine)).all() == []


def test_rule_violations_are_shown_at_their_fields_and_nothing_is_sent(
    plugin, login_as, world, store, in_tenant
):
    with in_tenant(world.tenant) as session:
        session.add(SupplierRuleSet(supplier_id=world.supplier_id, rule_set_key=NeedsReference.key))
        session.commit()
    po_id = draft(in_tenant, world)
    act(in_tenant, world, po_id, ordering.book)
    browser = login_as(store, world.tenant)
    po = state(in_tenant, world, po_id)
    response = browser.post(
        f"/purchase-orders/{po_id}/send",
        data={
            "csrf_token": token(browser, f"/purchase-orders/{po_id}"),
            "version": str(po.version),
        },
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "The order cannot be sent yet" in page
    assert re.search(r'id="reference-errors"><li>The reference is required.', page)
    assert state(in_tenant, world, po_id).status == Status.BOOKED


def test_the_store_sees_the_changes_and_answers_a_proposal(app, login_as, world, store, in_tenant):
    with in_tenant(world.tenant) as session:
        _get(session, Supplier, world.supplier_id).changes_need_approval = True
        session.commit()
    po_id = sent(in_tenant, world)
    with app.app_context():
        deliver_due()
    po = state(in_tenant, world, po_id)
    later = utcnow().date() + timedelta(days=40)
    act(
        in_tenant,
        world,
        po_id,
        responses.confirm,
        {po.lines[0].id: responses.LineAnswer(unit_price=Decimal("22.00"), delivery_date=later)},
    )
    browser = login_as(store, world.tenant)
    page = text_of(browser.get(f"/purchase-orders/{po_id}"))
    assert "The supplier proposes changes" in page
    assert "<mark>" in page
    version = state(in_tenant, world, po_id).version
    response = browser.post(
        f"/purchase-orders/{po_id}/refuse-changes",
        data={
            "csrf_token": token(browser, f"/purchase-orders/{po_id}"),
            "version": str(version),
            "reason": "Too expensive.",
        },
    )
    assert response.status_code == 302
    assert state(in_tenant, world, po_id).status == Status.ACKNOWLEDGED
    act(
        in_tenant,
        world,
        po_id,
        responses.confirm,
        {po.lines[0].id: responses.LineAnswer(unit_price=Decimal("21.00"))},
    )
    version = state(in_tenant, world, po_id).version
    browser.post(
        f"/purchase-orders/{po_id}/accept-changes",
        data={"csrf_token": token(browser, f"/purchase-orders/{po_id}"), "version": str(version)},
    )
    po = state(in_tenant, world, po_id)
    assert po.status == Status.CONFIRMED
    assert po.lines[0].unit_price == Decimal("21.00")
    page = text_of(browser.get(f"/purchase-orders/{po_id}"))
    assert 'class="numeric changed"' in page
    assert "<del>" in page
    assert "<ins>" in page
    assert "are final" in page


def test_other_tenants_and_clients_get_404(
    login_as, world, store, in_tenant, create_tenant, create_user, create_client
):
    po_id = draft(in_tenant, world)
    other = create_tenant(slug="other")
    stranger = create_user(other, "admin")
    browser = login_as(stranger, other)
    for path in (f"/purchase-orders/{po_id}/order-data", f"/purchase-orders/{po_id}"):
        assert browser.get(path).status_code == 404
    neighbour_client = create_client(world.tenant, name="Neighbour")
    neighbour = create_user(world.tenant, "client", client=neighbour_client)
    browser = login_as(neighbour, world.tenant)
    assert browser.get(f"/purchase-orders/{po_id}/order-data").status_code == 404
    response = browser.post(
        f"/purchase-orders/cart/order/{world.supplier_id}",
        data={"csrf_token": token(browser, "/purchase-orders/cart")},
    )
    assert response.status_code == 404


def test_staff_retry_a_failed_transfer(app, plugin, login_as, world, in_tenant, create_user):
    from portal.plugins import PermanentError
    from portal.testing.suppliers import Flaky

    with in_tenant(world.tenant) as session:
        _get(session, Supplier, world.supplier_id).integration_key = Flaky.key
        session.commit()
    Flaky.failures = [PermanentError("no such customer")]
    po_id = sent(in_tenant, world)
    with app.app_context():
        deliver_due()
    staff = create_user(world.tenant, "staff")
    browser = login_as(staff, world.tenant)
    page = text_of(browser.get(f"/purchase-orders/{po_id}"))
    assert "no such customer" in page
    assert "Try the transfer again" in page
    browser.post(
        f"/purchase-orders/{po_id}/retry-transfer",
        data={"csrf_token": token(browser, f"/purchase-orders/{po_id}"), "version": "0"},
    )
    with app.app_context():
        assert deliver_due() == 1
    assert state(in_tenant, world, po_id).status == Status.TRANSFERRED


@pytest.fixture
def world(supplier_world):
    return supplier_world


@pytest.fixture
def plugin(ordering_plugin):
    return ordering_plugin
