"""Purchase orders (announced deliveries): list, create, change, cancel and goods receipts."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.core.orders.models import Order, OrderStatus
from portal.core.purchasing import services as purchasing
from portal.core.purchasing.models import PurchaseOrder, PurchaseOrderStatus
from portal.core.stock.models import MovementReason, StockLevel, StockMovement
from portal.core.warehouses.models import Warehouse
from portal.db import utcnow

STALE = "Someone else changed this in the meantime."


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    client = create_client(tenant, name="Acme Shoes")
    return {
        "client": client,
        "user": create_user(tenant, "client", client=client),
        "boots": create_product(tenant, client, code="BOOT-1", name="Boots"),
        "socks": create_product(tenant, client, code="SOCK-1", name="Socks"),
    }


@pytest.fixture
def staff(create_user, tenant):
    return create_user(tenant, "staff")


def make_po(in_tenant, tenant, client, lines, **kw):
    from portal.core.orders.services import LineInput

    with in_tenant(tenant) as session:
        fresh_client = session.merge(client, load=True)
        po = purchasing.create_purchase_order(
            fresh_client, [LineInput(p.id, q) for p, q in lines], **kw
        )
        session.commit()
        return po


def load(in_tenant, tenant, po_id) -> PurchaseOrder:
    with in_tenant(tenant) as session:
        po = session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == po_id))
        _ = [(line.quantity, line.received, line.product.code) for line in po.lines]
        return po


def lines_data(*rows):
    data = {}
    for index, (code, quantity) in enumerate(rows):
        data[f"lines-{index}-code"] = code
        data[f"lines-{index}-quantity"] = str(quantity)
    return data


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- create ----------------------------------------------------------------------------


def test_a_client_announces_a_delivery_to_the_default_warehouse(login_as, shop, tenant, in_tenant):
    browser = login_as(shop["user"], tenant)
    form = text_of(browser.get("/purchase-orders/new"))
    assert "Main warehouse" in form
    assert 'value="BOOT-1"' in form  # the product suggestions
    tomorrow = (utcnow() + timedelta(days=1)).date()
    response = browser.post(
        "/purchase-orders/new",
        data={
            "supplier_name": "Shoe Factory",
            "reference": "REF-7",
            "expected_date": tomorrow.isoformat(),
            "csrf_token": browser.csrf_token("/purchase-orders/new"),
            **lines_data(("BOOT-1", 10), ("", ""), ("SOCK-1", 5)),
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    with in_tenant(tenant) as session:
        po = session.scalar(select(PurchaseOrder))
        assert po.client_id == shop["client"].id
        assert po.status == PurchaseOrderStatus.BOOKED
        assert (po.supplier_name, po.reference, po.expected_date) == (
            "Shoe Factory",
            "REF-7",
            tomorrow,
        )
        assert [(line.product.code, line.quantity) for line in po.lines] == [
            ("BOOT-1", 10),
            ("SOCK-1", 5),
        ]
        assert po.warehouse.is_default
    detail = text_of(browser.get(response.headers["Location"]))
    assert po.number in detail
    assert "Main warehouse" in detail
    assert "Booked" in detail


def test_the_clients_own_warehouse_for_purchase_orders_is_used(
    login_as, shop, tenant, in_tenant, create_client, create_user
):
    with in_tenant(tenant) as session:
        north = Warehouse(code="NORTH", name="North hall")
        session.add(north)
        session.flush()
        session.merge(shop["client"]).purchase_order_warehouse_id = north.id
        session.commit()
    browser = login_as(shop["user"], tenant)
    assert "North hall" in text_of(browser.get("/purchase-orders/new"))
    browser.post(
        "/purchase-orders/new",
        data={
            "csrf_token": browser.csrf_token("/purchase-orders/new"),
            **lines_data(("BOOT-1", 1)),
        },
    )
    with in_tenant(tenant) as session:
        po = session.scalar(select(PurchaseOrder))
        assert po.warehouse.code == "NORTH"


def test_bad_lines_are_all_named_and_nothing_is_created(login_as, shop, tenant, in_tenant):
    browser = login_as(shop["user"], tenant)
    response = browser.post(
        "/purchase-orders/new",
        data={
            "csrf_token": browser.csrf_token("/purchase-orders/new"),
            **lines_data(("NOPE-9", 3), ("BOOT-1", "two"), ("SOCK-1", 1), ("SOCK-1", 2), ("", 4)),
        },
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Line 1: there is no product with the code NOPE-9." in page
    assert "Line 2: the quantity must be a positive whole number." in page
    assert "Line 4: SOCK-1 is already on line 3." in page
    assert "Line 5: please enter a product code." in page
    assert 'value="NOPE-9"' in page  # what was typed is kept
    page = text_of(
        browser.post(
            "/purchase-orders/new",
            data={
                "csrf_token": browser.csrf_token("/purchase-orders/new"),
                **lines_data(("<b>bold</b>", 1)),
            },
        )
    )
    assert "there is no product with the code &lt;b&gt;bold&lt;/b&gt;." in page
    assert "<b>bold</b>" not in page
    with in_tenant(tenant) as session:
        assert session.scalar(select(PurchaseOrder)) is None


def test_an_empty_form_and_a_past_date_are_refused(login_as, shop, tenant, in_tenant):
    browser = login_as(shop["user"], tenant)
    token = browser.csrf_token("/purchase-orders/new")
    page = text_of(browser.post("/purchase-orders/new", data={"csrf_token": token}))
    assert "Please enter at least one line." in page
    yesterday = (utcnow() - timedelta(days=2)).date().isoformat()
    page = text_of(
        browser.post(
            "/purchase-orders/new",
            data={"csrf_token": token, "expected_date": yesterday, **lines_data(("BOOT-1", 1))},
        )
    )
    assert "The expected date cannot lie in the past." in page
    with in_tenant(tenant) as session:
        assert session.scalar(select(PurchaseOrder)) is None


def test_a_client_cannot_order_another_clients_products(
    login_as, shop, tenant, in_tenant, create_client, create_product
):
    other = create_client(tenant)
    create_product(tenant, other, code="THEIRS-1")
    browser = login_as(shop["user"], tenant)
    page = text_of(
        browser.post(
            "/purchase-orders/new",
            data={
                "csrf_token": browser.csrf_token("/purchase-orders/new"),
                **lines_data(("THEIRS-1", 1)),
            },
        )
    )
    assert "there is no product with the code THEIRS-1" in page
    with in_tenant(tenant) as session:
        assert session.scalar(select(PurchaseOrder)) is None


def test_staff_announce_a_delivery_for_a_chosen_client(login_as, staff, shop, tenant, in_tenant):
    browser = login_as(staff, tenant)
    form = text_of(browser.get("/purchase-orders/new"))
    assert "Acme Shoes" in form
    assert 'list="None"' not in form
    response = browser.post(
        "/purchase-orders/new",
        data={
            "client_id": str(shop["client"].id),
            "csrf_token": browser.csrf_token("/purchase-orders/new"),
            **lines_data(("BOOT-1", 2)),
        },
    )
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        assert session.scalar(select(PurchaseOrder)).client_id == shop["client"].id


# --- list --------------------------------------------------------------------------------


def test_clients_see_only_their_own_purchase_orders(
    login_as, shop, tenant, in_tenant, create_client, create_product, staff
):
    mine = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 1)])
    other = create_client(tenant, name="Other Client")
    theirs = make_po(in_tenant, tenant, other, [(create_product(tenant, other, code="OTHER-1"), 1)])
    page = text_of(login_as(shop["user"], tenant).get("/purchase-orders/"))
    assert mine.number in page
    assert theirs.number not in page

    staff_browser = login_as(staff, tenant)
    page = text_of(staff_browser.get("/purchase-orders/"))
    assert mine.number in page
    assert theirs.number in page
    page = text_of(staff_browser.get("/purchase-orders/", query_string={"client": other.id}))
    assert theirs.number in page
    assert mine.number not in page


def test_the_list_filters_by_status_and_pages_with_a_cursor(login_as, shop, tenant, in_tenant):
    pos = [make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 1)]) for _ in range(5)]
    with in_tenant(tenant) as session:
        purchasing.cancel_purchase_order(
            session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == pos[0].id))
        )
        session.commit()
    browser = login_as(shop["user"], tenant)
    page = text_of(browser.get("/purchase-orders/", query_string={"status": "cancelled"}))
    assert pos[0].number in page
    assert pos[1].number not in page

    seen = []
    url = "/purchase-orders/?size=2"
    while url:
        page = text_of(browser.get(url))
        seen += re.findall(r"PO-\d{4}-\d{6}", page)
        link = re.search(r'href="([^"]+)" rel="next"', page)
        url = link.group(1).replace("&amp;", "&") if link else None
    assert seen == [po.number for po in reversed(pos)]
    assert browser.get("/purchase-orders/?status=bogus").status_code == 400
    assert browser.get("/purchase-orders/?after=garbage").status_code == 400


def test_the_list_needs_the_same_number_of_queries_for_3_and_30_rows(
    login_as, shop, staff, tenant, in_tenant, count_queries
):
    browser = login_as(staff, tenant)

    def queries() -> int:
        browser.get("/purchase-orders/")  # warm-up: session and user loading
        with count_queries() as counter:
            assert browser.get("/purchase-orders/").status_code == 200
        return counter.count

    for _ in range(3):
        make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 1), (shop["socks"], 2)])
    few = queries()
    for _ in range(27):
        make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 1), (shop["socks"], 2)])
    more = queries()
    assert more == few


# --- detail, isolation and permissions ---------------------------------------------------


def test_another_clients_purchase_order_is_not_found(
    login_as, shop, tenant, in_tenant, create_client, create_user, create_product
):
    other = create_client(tenant)
    theirs = make_po(in_tenant, tenant, other, [(create_product(tenant, other, code="OTHER-1"), 1)])
    browser = login_as(shop["user"], tenant)
    token = browser.csrf_token("/purchase-orders/new")
    for path in ("", "/edit", "/cancel"):
        assert browser.get(f"/purchase-orders/{theirs.id}{path}").status_code == 404
    response = browser.post(
        f"/purchase-orders/{theirs.id}/cancel", data={"csrf_token": token, "version": "1"}
    )
    assert response.status_code == 404
    assert load(in_tenant, tenant, theirs.id).status == PurchaseOrderStatus.BOOKED


def test_goods_receipt_is_for_staff_only(login_as, shop, tenant, in_tenant):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 3)])
    browser = login_as(shop["user"], tenant)
    assert browser.get(f"/purchase-orders/{po.id}/receive").status_code == 403
    response = browser.post(
        f"/purchase-orders/{po.id}/receive",
        data={"csrf_token": browser.csrf_token("/purchase-orders/new"), "version": "1"},
    )
    assert response.status_code == 403
    assert "Receive goods" not in text_of(browser.get(f"/purchase-orders/{po.id}"))


def test_suppliers_and_clients_without_portal_access_are_refused(
    login_as, shop, tenant, in_tenant, create_user
):
    supplier = create_user(tenant, "supplier")
    assert login_as(supplier, tenant).get("/purchase-orders/").status_code == 403
    browser = login_as(shop["user"], tenant)
    with in_tenant(tenant) as session:
        session.merge(shop["client"]).portal_access = False
        session.commit()
    assert browser.get("/purchase-orders/").status_code == 403
    assert browser.get("/purchase-orders/new").status_code == 403


# --- change and cancel -------------------------------------------------------------------


def test_the_client_changes_lines_date_and_reference(login_as, shop, tenant, in_tenant):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 3)], reference="OLD")
    browser = login_as(shop["user"], tenant)
    form = text_of(browser.get(f"/purchase-orders/{po.id}/edit"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    assert 'value="BOOT-1"' in form
    response = browser.post(
        f"/purchase-orders/{po.id}/edit",
        data={
            "reference": "NEW",
            "version": version,
            "csrf_token": browser.csrf_token(f"/purchase-orders/{po.id}/edit"),
            **lines_data(("BOOT-1", 4), ("SOCK-1", 6)),
        },
    )
    assert response.status_code == 302, text_of(response)[:3000]
    saved = load(in_tenant, tenant, po.id)
    assert saved.reference == "NEW"
    assert [(line.product.code, line.quantity) for line in saved.lines] == [
        ("BOOT-1", 4),
        ("SOCK-1", 6),
    ]
    detail = text_of(browser.get(f"/purchase-orders/{po.id}"))
    assert "Lines, date or reference changed" in detail
    assert "OLD → NEW" in detail


def test_a_stale_edit_from_a_second_session_is_refused(
    login_as, shop, tenant, in_tenant, create_user
):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 3)])
    colleague = create_user(tenant, "client", client=shop["client"])
    first, second = login_as(shop["user"], tenant), login_as(colleague, tenant)
    path = f"/purchase-orders/{po.id}/edit"
    first_form, second_form = text_of(first.get(path)), text_of(second.get(path))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', first_form).group(1)
    assert version == re.search(r'name="version" type="hidden" value="(\d+)"', second_form).group(1)

    saved = first.post(
        path,
        data={
            "version": version,
            "csrf_token": first.csrf_token(path),
            **lines_data(("BOOT-1", 5)),
        },
    )
    assert saved.status_code == 302
    refused = second.post(
        path,
        data={
            "version": version,
            "csrf_token": second.csrf_token(path),
            **lines_data(("BOOT-1", 9)),
        },
    )
    assert refused.status_code == 200
    page = text_of(refused)
    assert STALE in page
    assert "Reload the purchase order" in page
    assert [line.quantity for line in load(in_tenant, tenant, po.id).lines] == [5]


def test_the_client_cancels_and_then_cannot_change(login_as, shop, tenant, in_tenant):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 3)])
    browser = login_as(shop["user"], tenant)
    detail = text_of(browser.get(f"/purchase-orders/{po.id}"))
    assert f'href="/purchase-orders/{po.id}/cancel"' in detail  # a link that asks first
    confirmation = text_of(browser.get(f"/purchase-orders/{po.id}/cancel"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', confirmation).group(1)
    token = browser.csrf_token(f"/purchase-orders/{po.id}/cancel")
    response = browser.post(
        f"/purchase-orders/{po.id}/cancel", data={"csrf_token": token, "version": version}
    )
    assert response.status_code == 302
    assert load(in_tenant, tenant, po.id).status == PurchaseOrderStatus.CANCELLED
    response = browser.get(f"/purchase-orders/{po.id}/edit", follow_redirects=True)
    assert "can no longer be changed" in text_of(response)


def test_one_click_on_cancel_only_asks(login_as, shop, staff, tenant, in_tenant):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 3)])
    for user in (shop["user"], staff):
        browser = login_as(user, tenant)
        detail = text_of(browser.get(f"/purchase-orders/{po.id}"))
        assert "Cancel purchase order" in detail
        assert f'action="/purchase-orders/{po.id}/cancel"' not in detail
        page = text_of(browser.get(f"/purchase-orders/{po.id}/cancel"))
        assert "Do you want to cancel this purchase order?" in page
        assert "This cannot be undone." in page
        assert "the supplier is told" not in page  # never sent to a supplier
        assert f'href="/purchase-orders/{po.id}">Keep the purchase order</a>' in page
    assert load(in_tenant, tenant, po.id).status == PurchaseOrderStatus.BOOKED


def test_another_tenants_purchase_order_has_no_cancel_page(
    login_as, shop, staff, tenant, other_tenant, in_tenant, create_client, create_product
):
    client = create_client(other_tenant)
    theirs = make_po(
        in_tenant, other_tenant, client, [(create_product(other_tenant, client, code="X-1"), 2)]
    )
    for user in (shop["user"], staff):
        browser = login_as(user, tenant)
        assert browser.get(f"/purchase-orders/{theirs.id}/cancel").status_code == 404
        response = browser.post(
            f"/purchase-orders/{theirs.id}/cancel",
            data={"csrf_token": browser.csrf_token("/account"), "version": "1"},
        )
        assert response.status_code == 404
    assert load(in_tenant, other_tenant, theirs.id).status == PurchaseOrderStatus.BOOKED


def test_a_stale_cancel_is_refused(login_as, shop, tenant, in_tenant):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 3)])
    browser = login_as(shop["user"], tenant)
    token = browser.csrf_token(f"/purchase-orders/{po.id}")
    response = browser.post(
        f"/purchase-orders/{po.id}/cancel",
        data={"csrf_token": token, "version": "0"},
        follow_redirects=True,
    )
    assert STALE in text_of(response)
    assert load(in_tenant, tenant, po.id).status == PurchaseOrderStatus.BOOKED


def test_after_a_goods_receipt_change_and_cancel_are_refused(
    login_as, shop, staff, tenant, in_tenant
):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 3)])
    with in_tenant(tenant) as session:
        loaded = session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == po.id))
        purchasing.receive_goods(loaded, {loaded.lines[0].id: 1})
        session.commit()
        version = loaded.version
    browser = login_as(shop["user"], tenant)
    detail = text_of(browser.get(f"/purchase-orders/{po.id}"))
    assert "Cancel purchase order" not in detail
    assert "can no longer be changed or cancelled" in detail
    response = browser.get(f"/purchase-orders/{po.id}/edit", follow_redirects=True)
    assert (
        "This purchase order can no longer be changed: goods have arrived or it is closed."
        in text_of(response)
    )
    response = browser.post(
        f"/purchase-orders/{po.id}/edit",
        data={
            "version": str(version),
            "csrf_token": browser.csrf_token("/purchase-orders/new"),
            **lines_data(("BOOT-1", 1)),
        },
        follow_redirects=True,
    )
    assert "can no longer be changed" in text_of(response)
    response = browser.post(
        f"/purchase-orders/{po.id}/cancel",
        data={"csrf_token": browser.csrf_token("/purchase-orders/new"), "version": str(version)},
        follow_redirects=True,
    )
    assert (
        "This purchase order can no longer be cancelled: it is confirmed or goods have arrived."
        in text_of(response)
    )
    saved = load(in_tenant, tenant, po.id)
    assert saved.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert [line.quantity for line in saved.lines] == [3]


# --- goods receipt -----------------------------------------------------------------------


def receive(browser, po_id, quantities: dict, note: str = "", version: str | None = None):
    path = f"/purchase-orders/{po_id}/receive"
    form = text_of(browser.get(path))
    if version is None:
        version = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    return browser.post(
        path,
        data={
            "csrf_token": browser.csrf_token("/purchase-orders/new"),
            "version": version,
            "note": note,
            **{f"line-{line_id}": str(q) for line_id, q in quantities.items()},
        },
    )


def test_staff_receive_goods_partially_then_fully(login_as, shop, staff, tenant, in_tenant):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 10), (shop["socks"], 4)])
    boots_line, socks_line = (line.id for line in load(in_tenant, tenant, po.id).lines)
    browser = login_as(staff, tenant)

    response = receive(browser, po.id, {boots_line: 6, socks_line: ""}, note="first pallet")
    assert response.status_code == 302, text_of(response)[:3000]
    saved = load(in_tenant, tenant, po.id)
    assert saved.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert [(line.received, line.outstanding) for line in saved.lines] == [(6, 4), (0, 4)]

    response = receive(browser, po.id, {boots_line: 4, socks_line: 4})
    assert response.status_code == 302
    saved = load(in_tenant, tenant, po.id)
    assert saved.status == PurchaseOrderStatus.RECEIVED
    with in_tenant(tenant) as session:
        movements = session.scalars(
            select(StockMovement)
            .where(StockMovement.product_id == shop["boots"].id)
            .order_by(StockMovement.id)
        ).all()
        assert [(m.quantity, m.reason, m.reference) for m in movements] == [
            (6, MovementReason.GOODS_RECEIPT, po.number),
            (4, MovementReason.GOODS_RECEIPT, po.number),
        ]
    detail = text_of(login_as(shop["user"], tenant).get(f"/purchase-orders/{po.id}"))
    assert "first pallet" in detail
    assert "Goods received" in detail
    assert "Partially received" in detail
    assert "Received" in detail
    assert detail.count("\u00d7 BOOT-1") == 2
    # Fully received: nothing more to count in.
    response = browser.get(f"/purchase-orders/{po.id}/receive", follow_redirects=True)
    assert "Goods cannot be received for this purchase order." in text_of(response)


def test_over_receipt_is_refused_naming_the_line(login_as, shop, staff, tenant, in_tenant):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 10), (shop["socks"], 4)])
    boots_line, socks_line = (line.id for line in load(in_tenant, tenant, po.id).lines)
    browser = login_as(staff, tenant)
    response = receive(browser, po.id, {boots_line: 2, socks_line: 5})
    assert response.status_code == 200
    page = text_of(response)
    assert "Line 2 (SOCK-1): only 4 units are still expected." in page
    response = receive(browser, po.id, {boots_line: "-1"})
    assert "Line 1 (BOOT-1): the quantity must be a whole number of zero or more." in text_of(
        response
    )
    response = receive(browser, po.id, {})
    assert "Please enter at least one received quantity." in text_of(response)
    saved = load(in_tenant, tenant, po.id)
    assert saved.status == PurchaseOrderStatus.BOOKED
    assert [line.received for line in saved.lines] == [0, 0]
    with in_tenant(tenant) as session:
        assert session.scalar(select(StockMovement)) is None


def test_a_stale_goods_receipt_is_refused(login_as, shop, staff, tenant, in_tenant, create_user):
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 10)])
    [line_id] = [line.id for line in load(in_tenant, tenant, po.id).lines]
    first, second = login_as(staff, tenant), login_as(create_user(tenant, "staff"), tenant)
    version = str(load(in_tenant, tenant, po.id).version)
    assert receive(first, po.id, {line_id: 8}, version=version).status_code == 302
    response = receive(second, po.id, {line_id: 8}, version=version)
    assert STALE in text_of(response)
    assert [line.received for line in load(in_tenant, tenant, po.id).lines] == [8]


def test_a_goods_receipt_releases_a_backorder(
    login_as, shop, staff, tenant, in_tenant, create_order
):
    order = create_order(tenant, shop["client"], [(shop["boots"], 3)])
    with in_tenant(tenant) as session:
        assert session.get(Order, (tenant.id, order.id)).status == OrderStatus.BACKORDER
    po = make_po(in_tenant, tenant, shop["client"], [(shop["boots"], 5)])
    [line_id] = [line.id for line in load(in_tenant, tenant, po.id).lines]
    assert receive(login_as(staff, tenant), po.id, {line_id: 5}).status_code == 302
    with in_tenant(tenant) as session:
        saved = session.scalar(select(Order).where(Order.id == order.id))
        assert saved.status == OrderStatus.PROCESSING
        assert saved.lines[0].allocated == 3
        level = session.scalar(select(StockLevel).where(StockLevel.product_id == shop["boots"].id))
        assert (level.on_hand, level.allocated) == (5, 3)
