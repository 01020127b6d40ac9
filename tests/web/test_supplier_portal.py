"""The supplier's portal: its purchase orders, its answers, dispatch notices, documents and its
registration data per store; who may see what."""

import io
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.audit.models import AuditEntry
from portal.core.clients.models import Client
from portal.core.purchasing import ordering
from portal.core.purchasing.models import (
    DispatchNotice,
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderStatus,
)
from portal.core.suppliers.models import (
    CatalogueItem,
    CatalogueMatch,
    Supplier,
    SupplierClient,
)
from portal.db import utcnow
from portal.outbox.services import deliver_due

STALE = "Someone else changed this in the meantime."


@dataclass
class Trade:
    """A store (client) that orders from a supplier: catalogue items matched to its products."""

    tenant: object
    client: object
    supplier: object
    link: object
    items: dict
    store_user: object
    supplier_user: object


def make_trade(
    app,
    in_tenant,
    tenant,
    create_client,
    create_user,
    create_product,
    store="Acme Store",
    **supplier,
):
    client = create_client(tenant, name=store)
    boots = create_product(tenant, client, code="BOOT-1", name="Boots", barcode="4006381333931")
    socks = create_product(tenant, client, code="SOCK-1", name="Socks")
    with in_tenant(tenant) as session:
        factory = Supplier(name=supplier.pop("name", "Shoe Factory"), **supplier)
        session.add(factory)
        session.flush()
        link = SupplierClient(
            supplier_id=factory.id,
            client_id=client.id,
            customer_number="C-4711",
            contact_name="Stella Store",
            contact_phone="+31 20 555 0101",
            contact_email="stella@acme.test",
        )
        items = {
            "boots": CatalogueItem(
                supplier_id=factory.id,
                supplier_code="F-BOOT",
                name="Factory boots",
                price=Decimal("12.50"),
                container_amount=6,
            ),
            "socks": CatalogueItem(
                supplier_id=factory.id,
                supplier_code="F-SOCK",
                name="Factory socks",
                price=Decimal("1.20"),
                container_amount=10,
            ),
        }
        session.add_all([link, *items.values()])
        session.flush()
        for key, product in (("boots", boots), ("socks", socks)):
            session.add(
                CatalogueMatch(
                    catalogue_item_id=items[key].id, client_id=client.id, product_id=product.id
                )
            )
        session.commit()
    return Trade(
        tenant=tenant,
        client=client,
        supplier=factory,
        link=link,
        items=items,
        store_user=create_user(tenant, "client", client=client),
        supplier_user=create_user(tenant, "supplier", supplier=factory),
    )


@pytest.fixture
def trade(app, in_tenant, tenant, create_client, create_user, create_product):
    return make_trade(app, in_tenant, tenant, create_client, create_user, create_product)


def order_from(app, in_tenant, trade, containers=None, *, send=True, **details):
    """Order from the trade's supplier through the domain: cart, draft, book and (unless
    ``send`` is false) send and transfer. Returns the purchase order's id."""
    containers = containers or {"boots": 2, "socks": 1}
    with in_tenant(trade.tenant) as session:
        client = session.get(Client, (trade.tenant.id, trade.client.id))
        supplier = session.get(Supplier, (trade.tenant.id, trade.supplier.id))
        for key, count in containers.items():
            item = session.get(CatalogueItem, (trade.tenant.id, trade.items[key].id))
            ordering.add_to_cart(client, item, count)
        po = ordering.create_from_cart(client, supplier)
        for name, value in details.items():
            setattr(po, name, value)
        ordering.book(po)
        if send:
            ordering.send(po)
        session.commit()
        po_id = po.id
    if send:
        with app.app_context():
            deliver_due()
    return po_id


def load(in_tenant, tenant, po_id) -> PurchaseOrder:
    with in_tenant(tenant) as session:
        po = session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == po_id))
        _ = [(line.quantity, line.unit_price, line.product.code) for line in po.lines]
        return po


def text_of(response) -> str:
    return response.get_data(as_text=True)


def post(browser, path, **data):
    return browser.post(path, data={"csrf_token": browser.csrf_token("/account"), **data})


def tomorrow(days=1):
    return (utcnow() + timedelta(days=days)).date()


# --- who may come in -------------------------------------------------------------------------


def test_the_supplier_sees_its_released_orders(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade, reference="STORE-REF")
    po = load(in_tenant, trade.tenant, po_id)
    assert po.status == PurchaseOrderStatus.TRANSFERRED
    browser = login_as(trade.supplier_user, trade.tenant)
    page = text_of(browser.get("/supplier/"))
    assert po.number in page
    assert "Acme Store" in page
    assert "C-4711" in page
    assert "The store is waiting for your answer." in page
    assert po.number in text_of(browser.get("/supplier/orders"))
    detail = browser.get(f"/supplier/orders/{po_id}")
    assert detail.status_code == 200
    page = text_of(detail)
    for expected in ("BOOT-1", "F-BOOT", "Boots", "4006381333931", "STORE-REF", "C-4711"):
        assert expected in page
    assert "Stella Store" in page
    assert "stella@acme.test" in page
    assert "2 \N{MULTIPLICATION SIGN} 6" in page  # containers times their amount
    assert "Acknowledge receipt" in page
    assert "Sent by the store" in page  # the status history


def test_drafts_booked_and_other_suppliers_orders_are_not_found(
    app, in_tenant, trade, login_as, tenant, create_client, create_user, create_product
):
    draft = order_from(app, in_tenant, trade, send=False)
    other = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Mill",
    )
    theirs = order_from(app, in_tenant, other)
    mine = order_from(app, in_tenant, trade, {"socks": 3})
    browser = login_as(trade.supplier_user, trade.tenant)
    assert load(in_tenant, tenant, draft).status == PurchaseOrderStatus.BOOKED
    for po_id in (draft, theirs):
        assert browser.get(f"/supplier/orders/{po_id}").status_code == 404
        assert browser.get(f"/supplier/orders/{po_id}/confirm").status_code == 404
        response = post(browser, f"/supplier/orders/{po_id}/acknowledge", version=1)
        assert response.status_code == 404
    page = text_of(browser.get("/supplier/orders"))
    assert load(in_tenant, tenant, mine).number in page
    assert load(in_tenant, tenant, theirs).number not in page
    assert load(in_tenant, tenant, draft).number not in page


def test_a_cancelled_draft_never_reaches_the_supplier(app, in_tenant, trade, login_as):
    from portal.core.purchasing.services import cancel_purchase_order

    po_id = order_from(app, in_tenant, trade, send=False)
    with in_tenant(trade.tenant) as session:
        cancel_purchase_order(session.get(PurchaseOrder, (trade.tenant.id, po_id)))
        session.commit()
    browser = login_as(trade.supplier_user, trade.tenant)
    assert browser.get(f"/supplier/orders/{po_id}").status_code == 404


def test_clients_staff_and_inactive_suppliers_are_refused(
    app, in_tenant, trade, login_as, create_user, client_for
):
    po_id = order_from(app, in_tenant, trade)
    paths = ["/supplier/", "/supplier/stores", f"/supplier/orders/{po_id}"]
    for user in (trade.store_user, create_user(trade.tenant, "staff")):
        browser = login_as(user, trade.tenant)
        for path in paths:
            assert browser.get(path).status_code == 403, path
        response = post(browser, f"/supplier/orders/{po_id}/acknowledge", version=1)
        assert response.status_code == 403
    anonymous = client_for(trade.tenant).get("/supplier/")
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]
    browser = login_as(trade.supplier_user, trade.tenant)
    with in_tenant(trade.tenant) as session:
        session.get(Supplier, (trade.tenant.id, trade.supplier.id)).active = False
        session.commit()
    assert browser.get("/supplier/").status_code == 403


def test_another_tenants_ids_are_not_found(
    app, in_tenant, trade, login_as, other_tenant, create_client, create_user, create_product
):
    theirs = make_trade(app, in_tenant, other_tenant, create_client, create_user, create_product)
    po_id = order_from(app, in_tenant, theirs)
    with in_tenant(other_tenant) as session:
        po = session.get(PurchaseOrder, (other_tenant.id, po_id))
        document = ordering_document(po)
        session.commit()
        document_id = document.id
    staff = login_as(create_user(trade.tenant, "admin"), trade.tenant)
    supplier = login_as(trade.supplier_user, trade.tenant)
    for path in (
        f"/supplier/orders/{po_id}",
        f"/supplier/orders/{po_id}/confirm",
        f"/supplier/orders/{po_id}/dispatch",
        f"/supplier/stores/{theirs.link.id}",
    ):
        assert supplier.get(path).status_code == 404, path
    for action in ("acknowledge", "reject", "reference", "production", "confirm", "dispatch"):
        response = post(supplier, f"/supplier/orders/{po_id}/{action}", version=1)
        assert response.status_code == 404, action
    assert post(supplier, f"/supplier/orders/{po_id}/documents").status_code == 404
    assert post(supplier, f"/supplier/stores/{theirs.link.id}").status_code == 404
    for browser in (staff, supplier):
        assert browser.get(f"/supplier/documents/{document_id}").status_code == 404


def ordering_document(po, data=None, filename="confirmation.pdf"):
    from portal.core.purchasing.responses import add_document

    return add_document(po, filename, data or b"%PDF-1.4\n%test\n", "Confirmation")


# --- the list --------------------------------------------------------------------------------


def test_the_list_filters_and_pages(app, in_tenant, trade, login_as):
    first = order_from(app, in_tenant, trade, {"boots": 1})
    second = order_from(app, in_tenant, trade, {"socks": 1})
    with in_tenant(trade.tenant) as session:
        po = session.get(PurchaseOrder, (trade.tenant.id, second))
        po.supplier_order_number = "SO-99-XYZ"
        session.commit()
    numbers = {po_id: load(in_tenant, trade.tenant, po_id).number for po_id in (first, second)}
    browser = login_as(trade.supplier_user, trade.tenant)
    page = text_of(browser.get("/supplier/orders?q=99-XY"))
    assert numbers[second] in page
    assert numbers[first] not in page
    page = text_of(browser.get(f"/supplier/orders?q={numbers[first]}"))
    assert numbers[first] in page
    assert numbers[second] not in page
    page = text_of(browser.get(f"/supplier/orders?client={trade.client.id}&status=transferred"))
    assert numbers[first] in page
    assert numbers[second] in page
    page = text_of(browser.get("/supplier/orders?status=confirmed"))
    assert numbers[first] not in page
    assert "No purchase order matches these filters." in page
    today = utcnow().date()
    page = text_of(browser.get(f"/supplier/orders?sent_from={today}&sent_to={today}"))
    assert numbers[first] in page
    page = text_of(browser.get(f"/supplier/orders?sent_from={tomorrow()}"))
    assert numbers[first] not in page
    page = text_of(browser.get("/supplier/orders?size=1"))
    assert numbers[second] in page  # newest first
    assert numbers[first] not in page
    after = re.search(r'href="([^"]*after=[^"]*)"', page).group(1).replace("&amp;", "&")
    page = text_of(browser.get(after))
    assert numbers[first] in page
    assert numbers[second] not in page
    for bad in ("status=draft", "status=nonsense", "client=nope", "sent_from=yesterday"):
        assert browser.get(f"/supplier/orders?{bad}").status_code == 400, bad


def test_the_list_needs_the_same_queries_for_more_rows(
    app, in_tenant, trade, login_as, count_queries
):
    order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    browser.get("/supplier/orders")  # warm up: the session's own queries
    with count_queries() as few:
        assert browser.get("/supplier/orders").status_code == 200
    for containers in ({"boots": 1}, {"socks": 2}, {"boots": 3, "socks": 3}):
        order_from(app, in_tenant, trade, containers)
    with count_queries() as many:
        page = text_of(browser.get("/supplier/orders"))
    assert page.count("/supplier/orders/") >= 4
    assert many.count == few.count, many.statements


# --- the answers -----------------------------------------------------------------------------


def version_of(in_tenant, tenant, po_id) -> int:
    with in_tenant(tenant) as session:
        return session.scalar(select(PurchaseOrder.version).where(PurchaseOrder.id == po_id))


def act(browser, in_tenant, trade, po_id, action, *, version=None, **data):
    """Post an action of the order's page with its current version; return the response."""
    if version is None:
        version = version_of(in_tenant, trade.tenant, po_id)
    return post(browser, f"/supplier/orders/{po_id}/{action}", version=version, **data)


def followed(browser, response) -> str:
    assert response.status_code == 302, text_of(response)[:3000]
    return text_of(browser.get(response.headers["Location"]))


def test_acknowledge_then_a_second_time_is_refused(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    page = followed(browser, act(browser, in_tenant, trade, po_id, "acknowledge"))
    po = load(in_tenant, trade.tenant, po_id)
    assert po.status == PurchaseOrderStatus.ACKNOWLEDGED
    assert f"Purchase order {po.number} is acknowledged." in page
    assert "Acknowledge receipt" not in page
    page = followed(browser, act(browser, in_tenant, trade, po_id, "acknowledge"))
    assert "This purchase order cannot be acknowledged any more." in page
    with in_tenant(trade.tenant) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == str(po_id))
        ).all()
    assert actions.count("purchase_order.acknowledged") == 1


def test_an_answer_based_on_an_older_version_is_refused(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    old = version_of(in_tenant, trade.tenant, po_id)
    assert (
        act(browser, in_tenant, trade, po_id, "reference", order_number="SO-1").status_code == 302
    )
    page = followed(
        browser, act(browser, in_tenant, trade, po_id, "reject", version=old, reason="No")
    )
    assert STALE in page
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.ACKNOWLEDGED
    # The confirmation page keeps what was typed and offers to reload.
    line = load(in_tenant, trade.tenant, po_id).lines[0]
    response = post(
        browser, f"/supplier/orders/{po_id}/confirm", version=old, **{f"quantity-{line.id}": "6"}
    )
    assert response.status_code == 200
    assert STALE in text_of(response)
    assert "Reload the purchase order" in text_of(response)
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.ACKNOWLEDGED


def test_the_order_number_acknowledges_and_situations_come_from_the_list(
    app, in_tenant, trade, login_as
):
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    page = text_of(browser.get(f"/supplier/orders/{po_id}"))
    assert '<input id="situation"' in page  # free text without a list
    page = followed(
        browser,
        act(
            browser,
            in_tenant,
            trade,
            po_id,
            "reference",
            order_number=" SO-77 ",
            situation="Planned",
        ),
    )
    assert "Your order number and situation were saved." in page
    po = load(in_tenant, trade.tenant, po_id)
    assert (po.supplier_order_number, po.supplier_situation) == ("SO-77", "Planned")
    assert po.status == PurchaseOrderStatus.ACKNOWLEDGED  # the order counts as taken
    with in_tenant(trade.tenant) as session:
        session.get(
            Supplier, (trade.tenant.id, trade.supplier.id)
        ).situations = "In planning\nIn the warehouse"
        session.commit()
    page = text_of(browser.get(f"/supplier/orders/{po_id}"))
    assert '<select id="situation"' in page
    assert '<option value="In the warehouse">' in page
    response = act(
        browser, in_tenant, trade, po_id, "reference", order_number="SO-77", situation="Lost"
    )
    assert response.status_code == 200
    assert "Please choose one of the listed situations." in text_of(response)
    response = act(browser, in_tenant, trade, po_id, "reference", order_number="x" * 65)
    assert response.status_code == 200
    assert load(in_tenant, trade.tenant, po_id).supplier_situation == "Planned"
    act(
        browser, in_tenant, trade, po_id, "reference", order_number="SO-77", situation="In planning"
    )
    assert load(in_tenant, trade.tenant, po_id).supplier_situation == "In planning"


def test_a_rejection_needs_a_reason(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    response = act(browser, in_tenant, trade, po_id, "reject", reason="  ")
    assert response.status_code == 200
    page = text_of(response)
    assert "Please give the store a reason for the rejection." in page
    assert 'id="reason-errors"' in page  # shown at the field
    page = followed(browser, act(browser, in_tenant, trade, po_id, "reject", reason="Sold out <b>"))
    assert "was rejected; the store has been told." in page
    assert "Sold out &lt;b&gt;" in page
    po = load(in_tenant, trade.tenant, po_id)
    assert (po.status, po.rejection_reason) == (PurchaseOrderStatus.REJECTED, "Sold out <b>")
    page = followed(browser, act(browser, in_tenant, trade, po_id, "reject", reason="Again"))
    assert "can no longer be confirmed or rejected" in page


def test_confirming_as_ordered(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade, expected_date=tomorrow(3))
    browser = login_as(trade.supplier_user, trade.tenant)
    form = text_of(browser.get(f"/supplier/orders/{po_id}/confirm"))
    assert "Your changes are final" in form
    po = load(in_tenant, trade.tenant, po_id)
    boots = po.lines[0]
    assert f'name="quantity-{boots.id}" value="12"' in form
    assert f'name="price-{boots.id}" value="12.50"' in form
    assert f'name="date-{boots.id}" value="{tomorrow(3).isoformat()}"' in form
    values = {}
    for line in po.lines:
        values[f"quantity-{line.id}"] = str(line.quantity)
        values[f"price-{line.id}"] = str(line.unit_price)
        values[f"date-{line.id}"] = line.delivery_date.isoformat()
    response = post(browser, f"/supplier/orders/{po_id}/confirm", version=po.version, **values)
    page = followed(browser, response)
    assert f"Purchase order {po.number} is confirmed." in page
    po = load(in_tenant, trade.tenant, po_id)
    assert po.status == PurchaseOrderStatus.CONFIRMED
    assert all(not line.changed_fields for line in po.lines)
    response = browser.get(f"/supplier/orders/{po_id}/confirm")
    assert "can no longer be confirmed or rejected" in followed(browser, response)


def test_confirming_with_final_changes(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade, expected_date=tomorrow(3))
    browser = login_as(trade.supplier_user, trade.tenant)
    po = load(in_tenant, trade.tenant, po_id)
    boots, socks = po.lines
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=po.version,
        **{
            f"quantity-{boots.id}": "18",
            f"price-{boots.id}": "13.00",
            f"date-{socks.id}": tomorrow(10).isoformat(),
        },
    )
    page = followed(browser, response)
    assert "is confirmed." in page
    po = load(in_tenant, trade.tenant, po_id)
    boots, socks = po.lines
    assert po.status == PurchaseOrderStatus.CONFIRMED
    assert (boots.quantity, boots.unit_price, boots.ordered_quantity) == (18, Decimal("13.00"), 12)
    assert boots.changed_fields == {"quantity", "unit_price"}
    assert socks.changed_fields == {"delivery_date"}
    assert "ordered: 12" in page  # the order's page shows what was ordered


def test_changes_become_a_proposal_when_the_store_must_approve(app, in_tenant, trade, login_as):
    with in_tenant(trade.tenant) as session:
        session.get(Supplier, (trade.tenant.id, trade.supplier.id)).changes_need_approval = True
        session.commit()
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    form = text_of(browser.get(f"/supplier/orders/{po_id}/confirm"))
    assert "Changes need the store's approval" in form
    po = load(in_tenant, trade.tenant, po_id)
    boots = po.lines[0]
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=po.version,
        **{f"quantity-{boots.id}": "6"},
    )
    page = followed(browser, response)
    assert f"Your changes to {po.number} were sent to the store for approval." in page
    assert "proposed: 6" in page
    po = load(in_tenant, trade.tenant, po_id)
    assert po.status == PurchaseOrderStatus.CHANGES_PROPOSED
    assert (po.lines[0].quantity, po.lines[0].proposed_quantity) == (12, 6)
    # The store refuses; the supplier sees why and may answer again.
    with in_tenant(trade.tenant) as session:
        ordering.refuse_changes(
            session.get(PurchaseOrder, (trade.tenant.id, po_id)), "We need all twelve."
        )
        session.commit()
    page = text_of(browser.get(f"/supplier/orders/{po_id}"))
    assert "The store did not accept your proposed changes." in page
    assert "We need all twelve." in page
    assert "Confirm the order" in page


def test_bad_lines_are_named_at_the_line(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    po = load(in_tenant, trade.tenant, po_id)
    boots, socks = po.lines
    yesterday = (utcnow() - timedelta(days=2)).date().isoformat()
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=po.version,
        **{
            f"quantity-{boots.id}": "0",
            f"price-{boots.id}": "cheap",
            f"date-{socks.id}": yesterday,
        },
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Line 1 (BOOT-1): the quantity must be a whole number of at least 1." in page
    assert "Line 1 (BOOT-1): the price must be an amount of zero or more." in page
    assert "Line 2 (SOCK-1): the delivery date cannot lie in the past." in page
    assert 'value="cheap"' in page  # what was typed is kept
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=po.version,
        **{f"date-{socks.id}": "next week"},
    )
    assert "Line 2 (SOCK-1): please enter the delivery date as YYYY-MM-DD." in text_of(response)
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.TRANSFERRED


def test_a_price_is_read_in_the_users_language(app, in_tenant, trade, create_user, login_as):
    german = create_user(trade.tenant, "supplier", supplier=trade.supplier, locale="de")
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(german, trade.tenant)
    po = load(in_tenant, trade.tenant, po_id)
    boots = po.lines[0]
    form = text_of(browser.get(f"/supplier/orders/{po_id}/confirm"))
    assert f'name="price-{boots.id}" value="12,50"' in form
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=po.version,
        **{f"price-{boots.id}": "14,25"},
    )
    assert response.status_code == 302
    assert load(in_tenant, trade.tenant, po_id).lines[0].unit_price == Decimal("14.25")


def confirm_order(in_tenant, trade, po_id):
    from portal.core.purchasing import responses

    with in_tenant(trade.tenant) as session:
        responses.confirm(session.get(PurchaseOrder, (trade.tenant.id, po_id)))
        session.commit()


def test_production_and_dispatch_in_parts(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    page = followed(browser, act(browser, in_tenant, trade, po_id, "production"))
    assert "Only a confirmed purchase order can go into production." in page
    assert "Goods can be announced only" in followed(
        browser, browser.get(f"/supplier/orders/{po_id}/dispatch")
    )
    confirm_order(in_tenant, trade, po_id)
    page = followed(browser, act(browser, in_tenant, trade, po_id, "production"))
    assert "is in production." in page
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.IN_PRODUCTION
    po = load(in_tenant, trade.tenant, po_id)
    boots, socks = po.lines
    form = text_of(browser.get(f"/supplier/orders/{po_id}/dispatch"))
    assert f'name="line-{boots.id}" value="12"' in form  # prefilled with what is open
    assert f'name="line-{socks.id}" value="10"' in form
    response = post(
        browser,
        f"/supplier/orders/{po_id}/dispatch",
        version=po.version,
        carrier="DHL",
        tracking_code="JD0001",
        expected_date=tomorrow(2).isoformat(),
        note="First part",
        **{f"line-{boots.id}": "13", f"line-{socks.id}": "x"},
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Line 1 (BOOT-1): only 12 units are still to be dispatched." in page
    assert "Line 2 (SOCK-1): the quantity must be a whole number of zero or more." in page
    response = post(
        browser,
        f"/supplier/orders/{po_id}/dispatch",
        version=po.version,
        carrier="DHL",
        tracking_code="JD0001",
        expected_date=tomorrow(2).isoformat(),
        **{f"line-{boots.id}": "12", f"line-{socks.id}": ""},
    )
    page = followed(browser, response)
    assert "was sent to the store." in page
    assert "JD0001" in page
    assert "tracking-id=JD0001" in page  # the carrier's tracking page
    po = load(in_tenant, trade.tenant, po_id)
    assert po.status == PurchaseOrderStatus.PARTIALLY_DISPATCHED  # the socks are still to come
    assert "Part of the goods is on its way" in page
    assert po.expected_date is None  # the store's requested date is not the notice's
    assert tomorrow(2).isoformat() in str(load_notices(in_tenant, trade.tenant, po_id))
    form = text_of(browser.get(f"/supplier/orders/{po_id}/dispatch"))
    assert re.search(rf'name="line-{boots.id}" value="0" disabled', form)
    response = post(
        browser,
        f"/supplier/orders/{po_id}/dispatch",
        version=po.version,
        **{f"line-{socks.id}": "10"},
    )
    assert response.status_code == 302
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.DISPATCHED
    with in_tenant(trade.tenant) as session:
        notices = session.scalars(
            select(DispatchNotice).where(DispatchNotice.purchase_order_id == po_id)
        ).all()
        assert sorted(sum(line.quantity for line in n.lines) for n in notices) == [10, 12]
    assert "Announce a dispatch" not in text_of(browser.get(f"/supplier/orders/{po_id}"))
    page = followed(browser, browser.get(f"/supplier/orders/{po_id}/dispatch"))
    assert "Goods can be announced only" in page


# --- every action in every state -------------------------------------------------------------

ACTIONS = ("acknowledge", "confirm", "reject", "reference", "production", "dispatch", "documents")
ALLOWED = {
    "transferred": {"acknowledge", "confirm", "reject", "reference", "documents"},
    "acknowledged": {"confirm", "reject", "reference", "documents"},
    "changes_proposed": {"reference", "documents"},
    "confirmed": {"reference", "production", "dispatch", "documents"},
    "in_production": {"reference", "dispatch", "documents"},
    "partially_dispatched": {"reference", "dispatch", "documents"},
    "dispatched": {"reference", "dispatch", "documents"},
    "partially_received": {"reference", "dispatch", "documents"},
    "received": {"documents"},
    "rejected": set(),
    "cancelled": set(),
}
REFUSALS = {
    "acknowledge": "This purchase order cannot be acknowledged any more.",
    "confirm": "can no longer be confirmed or rejected",
    "reject": "can no longer be confirmed or rejected",
    "reference": "The order number and situation can no longer be changed for this order.",
    "production": "Only a confirmed purchase order can go into production.",
    "dispatch": "Goods can be announced only for a confirmed purchase order.",
    "documents": "Documents can no longer be added to this purchase order.",
}


def pdf_upload(name="confirmation.pdf", data=b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"):
    return (io.BytesIO(data), name)


@pytest.mark.parametrize("status", list(ALLOWED))
def test_every_action_is_allowed_or_refused_by_status(app, in_tenant, trade, login_as, status):
    po_id = order_from(app, in_tenant, trade)
    with in_tenant(trade.tenant) as session:
        session.get(PurchaseOrder, (trade.tenant.id, po_id)).status = PurchaseOrderStatus(status)
        session.commit()
    browser = login_as(trade.supplier_user, trade.tenant)
    page = text_of(browser.get(f"/supplier/orders/{po_id}"))
    allowed = ALLOWED[status]
    assert ("Acknowledge receipt" in page) == ("acknowledge" in allowed)
    assert ("Reject the order" in page) == ("reject" in allowed)
    assert ("Mark as in production" in page) == ("production" in allowed)
    assert ("Announce a dispatch" in page) == ("dispatch" in allowed)
    assert ("Add a document" in page) == ("documents" in allowed)
    assert ("Save order number and situation" in page) == ("reference" in allowed)
    for action in ACTIONS:
        # Each action from a fresh copy of the state, so that one does not change the next.
        with in_tenant(trade.tenant) as session:
            po = session.get(PurchaseOrder, (trade.tenant.id, po_id))
            po.status = PurchaseOrderStatus(status)
            session.commit()
            line_id = po.lines[0].id
        data = {
            "reject": {"reason": "Cannot deliver"},
            "reference": {"order_number": "SO-1"},
            "dispatch": {f"line-{line_id}": "1"},
        }.get(action, {})
        if action == "documents":
            response = browser.post(
                f"/supplier/orders/{po_id}/documents",
                data={"csrf_token": browser.csrf_token("/account"), "file": pdf_upload()},
                content_type="multipart/form-data",
            )
        else:
            response = act(browser, in_tenant, trade, po_id, action, **data)
        page = followed(browser, response)
        if action in allowed:
            assert REFUSALS[action] not in page, (status, action)
            assert "flash-success" in page, (status, action)
        else:
            assert REFUSALS[action] in page, (status, action)


# --- documents -------------------------------------------------------------------------------


def png_bytes() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(image, "PNG")
    return image.getvalue()


def upload(browser, po_id, data, name, description=""):
    # Encoded here in memory: the test client would spool a large body to a temporary file
    # that it never closes.
    boundary, body = encode_multipart(
        {
            "csrf_token": browser.csrf_token("/account"),
            "file": FileStorage(io.BytesIO(data), name),
            "description": description,
        }
    )
    return browser.post(
        f"/supplier/orders/{po_id}/documents",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_documents_are_checked_by_content(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, trade.tenant)
    refused = {
        "setup.exe": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100,
        "invoice.pdf": b"MZ\x90\x00 renamed program",
        "page.html": b"<html><script>alert(1)</script></html>",
        "page.png": b"<!doctype html><html><body>hi</body></html>",
    }
    for name, data in refused.items():
        response = upload(browser, po_id, data, name)
        assert response.status_code == 200, name
        page = text_of(response)
        assert "Only PDF files and PNG, JPEG or WebP images can be uploaded." in page, name
        assert 'id="file-errors"' in page
    response = upload(browser, po_id, b"%PDF-" + b"0" * (10 * 1024 * 1024), "big.pdf")
    assert "The file is larger than 10 MB." in text_of(response)
    response = upload(browser, po_id, b"", "empty.pdf")
    assert response.status_code == 200
    assert "Please choose a file." in text_of(
        browser.post(
            f"/supplier/orders/{po_id}/documents",
            data={"csrf_token": browser.csrf_token("/account")},
            content_type="multipart/form-data",
        )
    )
    with in_tenant(trade.tenant) as session:
        assert session.scalars(select(PurchaseOrderDocument)).all() == []
    page = followed(
        browser,
        upload(browser, po_id, b"%PDF-1.7\n%%EOF\n", "Order confirmation.pdf", "Confirmation"),
    )
    assert "The document Order confirmation.pdf was added." in page
    page = followed(browser, upload(browser, po_id, png_bytes(), "photo.jpeg"))
    assert "photo.png" in page  # named by what it is
    with in_tenant(trade.tenant) as session:
        documents = session.scalars(
            select(PurchaseOrderDocument).order_by(PurchaseOrderDocument.uploaded_at)
        ).all()
        assert [(d.filename, d.content_type) for d in documents] == [
            ("Order confirmation.pdf", "application/pdf"),
            ("photo.png", "image/png"),
        ]
        ids = [d.id for d in documents]
    response = browser.get(f"/supplier/documents/{ids[0]}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Order confirmation.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.data == b"%PDF-1.7\n%%EOF\n"
    assert browser.get(f"/supplier/documents/{ids[1]}").mimetype == "image/png"


def test_the_store_and_staff_download_documents_and_nobody_else(
    app, in_tenant, trade, login_as, create_user, tenant, create_client, create_product
):
    po_id = order_from(app, in_tenant, trade)
    with in_tenant(trade.tenant) as session:
        document = ordering_document(session.get(PurchaseOrder, (trade.tenant.id, po_id)))
        session.commit()
        path = f"/supplier/documents/{document.id}"
    readers = [trade.store_user, create_user(tenant, "staff"), trade.supplier_user]
    for user in readers:
        response = login_as(user, tenant).get(path)
        assert response.status_code == 200, user.role
        assert response.headers["Content-Disposition"].startswith("attachment;")
    other = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Mill",
    )
    for user in (other.store_user, other.supplier_user):
        assert login_as(user, tenant).get(path).status_code == 404, user.role
    with in_tenant(tenant) as session:
        session.get(Client, (tenant.id, trade.client.id)).portal_access = False
        session.commit()
    assert login_as(trade.store_user, tenant).get(path).status_code == 403


# --- stores ----------------------------------------------------------------------------------


def test_the_supplier_keeps_its_registration_data_per_store(
    app, in_tenant, trade, login_as, tenant, create_client, create_user, create_product
):
    browser = login_as(trade.supplier_user, tenant)
    page = text_of(browser.get("/supplier/stores"))
    assert "Acme Store" in page
    assert "C-4711" in page
    assert "Stella Store" in page
    path = f"/supplier/stores/{trade.link.id}"
    form = text_of(browser.get(path))
    assert "stella@acme.test" in form
    response = post(browser, path, account_email="not an address", account_manager="Max")
    assert response.status_code == 200
    assert "not a valid e-mail address" in text_of(response)
    response = post(
        browser,
        path,
        account_manager="Max Mill",
        account_phone="+49 30 123",
        account_email="Max@Factory.test",
        payment_terms="30 days net",
        supplier_notes="Ships on Tuesdays",
    )
    page = followed(browser, response)
    assert "Your data for Acme Store was saved." in page
    assert "Max Mill" in page
    assert "30 days net" in page
    with in_tenant(tenant) as session:
        link = session.get(SupplierClient, (tenant.id, trade.link.id))
        assert (link.account_email, link.supplier_notes) == (
            "max@factory.test",
            "Ships on Tuesdays",
        )
        entry = session.scalar(
            select(AuditEntry).where(AuditEntry.action == "supplier.registration_changed")
        )
        assert entry.actor_id == trade.supplier_user.id
        assert entry.changes["account_manager"] == ["", "Max Mill"]
        assert entry.changes["payment_terms"] == ["", "30 days net"]
        assert entry.details == {"client": "Acme Store"}
    other = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Mill",
    )
    assert browser.get(f"/supplier/stores/{other.link.id}").status_code == 404
    assert "Other Store" not in text_of(browser.get("/supplier/stores"))


# --- mandatory data --------------------------------------------------------------------------


def test_the_supplier_says_which_data_its_orders_must_carry(
    app, in_tenant, trade, login_as, tenant
):
    from portal.core.suppliers.models import SupplierRuleSet
    from portal.plugins.models import PluginActivation

    browser = login_as(trade.supplier_user, tenant)
    page = text_of(browser.get("/supplier/mandatory-data"))
    assert "No rule sets are available." in page
    with in_tenant(tenant) as session:
        session.add(PluginActivation(name="required_fields", enabled=True))
        session.commit()
    page = text_of(browser.get("/supplier/mandatory-data"))
    assert "Required fields" in page
    assert 'name="rule_sets" value="required_fields">' in page  # not chosen yet
    token = browser.csrf_token("/supplier/mandatory-data")
    response = browser.post(
        "/supplier/mandatory-data",
        data={
            "csrf_token": token,
            "rule_sets": "required_fields",
            "rule_set_required_fields-required": ["reference", "contact_phone"],
            "rule_set_required_fields-reference_pattern": "([",
        },
    )
    assert response.status_code == 200
    assert "is not a valid regular expression" in text_of(response)
    with in_tenant(tenant) as session:
        assert session.scalars(select(SupplierRuleSet)).all() == []
    response = browser.post(
        "/supplier/mandatory-data",
        data={
            "csrf_token": token,
            "rule_sets": "required_fields",
            "rule_set_required_fields-required": ["reference", "contact_phone"],
        },
    )
    assert "Your mandatory data was saved." in followed(browser, response)
    with in_tenant(tenant) as session:
        [chosen] = session.scalars(select(SupplierRuleSet)).all()
        assert chosen.supplier_id == trade.supplier.id
        assert chosen.settings["required"] == ["reference", "contact_phone"]
        entry = session.scalar(
            select(AuditEntry).where(AuditEntry.action == "supplier.rule_sets_changed")
        )
        assert entry.actor_id == trade.supplier_user.id
    # A store's order without a reference is refused from now on.
    with pytest.raises(ordering.RuleViolations):
        order_from(app, in_tenant, trade)


# --- the start page --------------------------------------------------------------------------


def test_the_supplier_menu(trade, login_as):
    browser = login_as(trade.supplier_user, trade.tenant)
    page = text_of(browser.get("/supplier/stores"))
    assert re.search(r'href="/supplier/(orders)?"', page)
    assert 'href="/supplier/stores" aria-current="page"' in page
    assert 'href="/supplier/mandatory-data"' in page
    store_page = text_of(login_as(trade.store_user, trade.tenant).get("/purchase-orders/"))
    assert 'href="/supplier/stores"' not in store_page


def load_notices(in_tenant, tenant, po_id):
    from portal.core.purchasing.models import DispatchNotice

    with in_tenant(tenant) as session:
        return [
            notice.expected_date.isoformat()
            for notice in session.scalars(
                select(DispatchNotice).where(DispatchNotice.purchase_order_id == po_id)
            )
            if notice.expected_date
        ]


# --- whole containers, partial dispatch, cancelling (issue 10, defects 5, 6 and 13) ----------

TIMES = "\N{MULTIPLICATION SIGN}"


def test_the_supplier_confirms_whole_containers_and_the_numbers_add_up(
    app, in_tenant, trade, login_as
):
    po_id = order_from(app, in_tenant, trade)  # boots 2 x 6, socks 1 x 10
    browser = login_as(trade.supplier_user, trade.tenant)
    po = load(in_tenant, trade.tenant, po_id)
    boots, socks = po.lines
    form = text_of(browser.get(f"/supplier/orders/{po_id}/confirm"))
    assert f"2 {TIMES} 6 = 12 units" in form
    assert "a multiple of 6" in form
    assert f'aria-describedby="quantity-{boots.id}-hint"' in form
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=po.version,
        **{f"quantity-{boots.id}": "7", f"quantity-{socks.id}": "10"},
    )
    assert response.status_code == 200
    page = text_of(response)
    assert (
        "Line 1 (BOOT-1): this line is ordered in containers of 6 units; please confirm a "
        "multiple of 6, for example 6." in page
    )
    assert f'name="quantity-{boots.id}" value="7" aria-invalid="true"' in page
    assert f'aria-describedby="quantity-{boots.id}-hint line-1-errors"' in page
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.TRANSFERRED
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=po.version,
        **{f"quantity-{boots.id}": "18"},
    )
    page = followed(browser, response)
    assert f"3 {TIMES} 6 = 18 units" in page  # the supplier's own page
    assert f"1 {TIMES} 6" not in page
    po = load(in_tenant, trade.tenant, po_id)
    assert (po.status, po.lines[0].quantity) == (PurchaseOrderStatus.CONFIRMED, 18)
    # The store's page: containers, ordered and confirmed all agree.
    store = login_as(trade.store_user, trade.tenant)
    page = text_of(store.get(f"/purchase-orders/{po_id}"))
    assert f"3 {TIMES} 6 = 18 units" in page
    assert f"1 {TIMES} 10 = 10 units" in page
    assert re.search(
        r'<td class="numeric">12</td>\s*<td class="numeric changed"><ins>18</ins>', page
    )


def test_a_units_line_shows_its_loose_units(app, in_tenant, trade, login_as):
    po_id = order_from(app, in_tenant, trade, {"boots": 2})
    with in_tenant(trade.tenant) as session:
        line = session.get(PurchaseOrder, (trade.tenant.id, po_id)).lines[0]
        line.quantity = line.ordered_quantity = 13  # cases of 6 since the order was placed
        session.commit()
    browser = login_as(trade.supplier_user, trade.tenant)
    page = text_of(browser.get(f"/supplier/orders/{po_id}"))
    assert f"2 {TIMES} 6 + 1 unit = 13 units" in page
    form = text_of(browser.get(f"/supplier/orders/{po_id}/confirm"))
    assert "a multiple of 6" not in form


def test_the_store_sees_a_partial_dispatch_and_what_is_still_to_come(
    app, in_tenant, trade, login_as, create_user
):
    po_id = order_from(app, in_tenant, trade)
    confirm_order(in_tenant, trade, po_id)
    po = load(in_tenant, trade.tenant, po_id)
    boots, socks = po.lines
    supplier = login_as(trade.supplier_user, trade.tenant)
    response = post(
        supplier,
        f"/supplier/orders/{po_id}/dispatch",
        version=po.version,
        carrier="DHL",
        **{f"line-{boots.id}": "6", f"line-{socks.id}": ""},
    )
    page = followed(supplier, response)
    assert "Partially dispatched" in page
    assert "the store is waiting for the rest to be dispatched" in page
    assert "Announce a dispatch" in page
    assert po.number in text_of(
        supplier.get("/supplier/", query_string={"status": "partially_dispatched"})
    )
    store = login_as(trade.store_user, trade.tenant)
    page = text_of(store.get(f"/purchase-orders/{po_id}"))
    assert "Partially dispatched" in page
    assert "Part of the goods is on its way; the supplier has still to dispatch the rest." in page
    for heading in ("Ordered", "Confirmed", "Dispatched", "Received", "Still to come"):
        assert f'<th scope="col" class="numeric">{heading}</th>' in page
    # Boots: ordered 12, confirmed 12, dispatched 6, received 0, still to come 12 (6 not sent).
    assert re.search(
        r"<td class=\"numeric\">12</td>\s*<td class=\"numeric\">12</td>\s*"
        r"<td class=\"numeric\">6</td>\s*<td class=\"numeric\">0</td>\s*"
        r"<td class=\"numeric\">12<br><span class=\"hint\">6 not dispatched yet</span></td>",
        page,
    )
    listed = text_of(
        store.get("/purchase-orders/", query_string={"status": "partially_dispatched"})
    )
    assert po.number in listed
    assert '<option value="partially_dispatched"' in listed
    # Staff receive what came so far; the receipts tell the state from then on.
    staff = login_as(create_user(trade.tenant, "staff"), trade.tenant)
    form = text_of(staff.get(f"/purchase-orders/{po_id}/receive"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    response = staff.post(
        f"/purchase-orders/{po_id}/receive",
        data={
            "csrf_token": staff.csrf_token(f"/purchase-orders/{po_id}/receive"),
            "version": version,
            f"line-{boots.id}": "6",
        },
    )
    assert response.status_code == 302
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    response = post(
        supplier,
        f"/supplier/orders/{po_id}/dispatch",
        version=load(in_tenant, trade.tenant, po_id).version,
        **{f"line-{boots.id}": "6", f"line-{socks.id}": "10"},
    )
    assert response.status_code == 302
    page = text_of(store.get(f"/purchase-orders/{po_id}"))
    assert "not dispatched yet" not in page
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.PARTIALLY_RECEIVED


def test_cancelling_a_sent_order_asks_first_and_says_the_supplier_is_told(
    app, in_tenant, trade, login_as, tenant, create_client, create_user, create_product
):
    po_id = order_from(app, in_tenant, trade)
    store = login_as(trade.store_user, trade.tenant)
    detail = text_of(store.get(f"/purchase-orders/{po_id}"))
    assert f'<a class="button button-danger" href="/purchase-orders/{po_id}/cancel">' in detail
    assert f'action="/purchase-orders/{po_id}/cancel"' not in detail  # no one-click form
    page = text_of(store.get(f"/purchase-orders/{po_id}/cancel"))
    assert "Do you want to cancel this purchase order?" in page
    assert "Shoe Factory already has this order: the supplier is told by e-mail" in page
    assert "Keep the purchase order" in page
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.TRANSFERRED
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = store.post(
        f"/purchase-orders/{po_id}/cancel",
        data={
            "csrf_token": store.csrf_token(f"/purchase-orders/{po_id}/cancel"),
            "version": version,
        },
    )
    assert response.status_code == 302
    assert load(in_tenant, trade.tenant, po_id).status == PurchaseOrderStatus.CANCELLED
    page = text_of(store.get(f"/purchase-orders/{po_id}/cancel"))
    assert "This purchase order can no longer be cancelled" in page
    assert 'type="submit"' not in page.split("<main", 1)[-1]
    # Another store's and another supplier's orders are not found, and the supplier has no page.
    other = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Mill",
    )
    theirs = order_from(app, in_tenant, other)
    assert store.get(f"/purchase-orders/{theirs}/cancel").status_code == 404
    supplier = login_as(trade.supplier_user, trade.tenant)
    assert supplier.get(f"/purchase-orders/{theirs}/cancel").status_code in (403, 404)
