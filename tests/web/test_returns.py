"""Returns: clients follow them; staff register, receive, process (restock or scrap), cancel."""

import re

import pytest
from sqlalchemy import select

from portal.core.returns import services
from portal.core.returns.models import Disposition, Return, ReturnStatus
from portal.core.stock.models import MovementReason, StockMovement


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    client = create_client(tenant, name="Acme Shoes")
    return {
        "client": client,
        "user": create_user(tenant, "client", client=client, name="Cleo Client"),
        "boots": create_product(tenant, client, code="BOOT-1", name="Boots", stock=5),
        "socks": create_product(tenant, client, code="SOCK-1", name="Socks"),
    }


@pytest.fixture
def staff(create_user, tenant):
    return create_user(tenant, "staff", name="Sam Staff")


def make_return(in_tenant, tenant, client, lines, **kw) -> Return:
    with in_tenant(tenant) as session:
        ret = services.register_return(
            session.merge(client),
            [services.ReturnLineInput(p.id, q, r.id if r else None, rq) for p, q, r, rq in lines],
            **kw,
        )
        session.commit()
        return ret


def load(in_tenant, tenant, return_id) -> Return:
    with in_tenant(tenant) as session:
        ret = session.scalar(select(Return).where(Return.id == return_id))
        _ = [(line.disposition, change.status) for line in ret.lines for change in ret.history]
        return ret


def text_of(response) -> str:
    return response.get_data(as_text=True)


def register(browser, client, rows, **fields):
    data = {
        "client_id": str(client.id),
        "csrf_token": browser.csrf_token("/returns/new"),
        **fields,
    }
    for index, row in enumerate(rows):
        for key, value in zip(
            ("code", "quantity", "replacement_code", "replacement_quantity"), row, strict=False
        ):
            data[f"lines-{index}-{key}"] = str(value)
    return browser.post("/returns/new", data=data)


# --- staff register ----------------------------------------------------------------------


def test_staff_register_a_return_for_an_order_with_a_replacement(
    login_as, staff, shop, tenant, in_tenant, create_order
):
    order = create_order(tenant, shop["client"], [(shop["boots"], 2)])
    browser = login_as(staff, tenant)
    prefilled = text_of(browser.get("/returns/new", query_string={"order": order.id}))
    assert f'value="{order.number}"' in prefilled
    response = register(
        browser,
        shop["client"],
        [("BOOT-1", 2, "SOCK-1", ""), ("", "", "", "")],
        order_number=order.number,
        reason="Too small",
    )
    assert response.status_code == 302, text_of(response)[:3000]
    with in_tenant(tenant) as session:
        ret = session.scalar(select(Return))
        assert (ret.client_id, ret.order_id, ret.reason) == (
            shop["client"].id,
            order.id,
            "Too small",
        )
        assert ret.status == ReturnStatus.REGISTERED
        assert [
            (
                line.product.code,
                line.quantity,
                line.replacement_product.code,
                line.replacement_quantity,
            )
            for line in ret.lines
        ] == [("BOOT-1", 2, "SOCK-1", 2)]
        assert [change.status for change in ret.history] == [ReturnStatus.REGISTERED]


def test_bad_return_lines_are_all_named(login_as, staff, shop, tenant, in_tenant):
    browser = login_as(staff, tenant)
    response = register(
        browser,
        shop["client"],
        [("NOPE", 1), ("BOOT-1", "x"), ("SOCK-1", 1, "GONE", 1), ("SOCK-1", 1, "", 3)],
        order_number="O-1999-000001",
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "has no order with the number O-1999-000001" in page
    page = text_of(register(browser, shop["client"], [("BOOT-1", 1)], order_number="<i>x</i>"))
    assert "has no order with the number &lt;i&gt;x&lt;/i&gt;." in page
    assert "<i>x</i>" not in page
    response = register(
        browser,
        shop["client"],
        [("NOPE", 1), ("BOOT-1", "x"), ("SOCK-1", 1, "GONE", 1), ("SOCK-1", 1, "", 3)],
    )
    page = text_of(response)
    assert "Line 1: there is no product with the code NOPE." in page
    assert "Line 2: the quantity must be a positive whole number." in page
    assert "Line 3: there is no replacement product with the code GONE." in page
    assert "Line 4: please enter the code of the replacement product." in page
    page = text_of(register(browser, shop["client"], []))
    assert "Please enter at least one line." in page
    with in_tenant(tenant) as session:
        assert session.scalar(select(Return)) is None


def test_an_order_of_another_client_cannot_be_named(
    login_as, staff, shop, tenant, in_tenant, create_client, create_product, create_order
):
    other = create_client(tenant, name="Other")
    their_order = create_order(tenant, other, [(create_product(tenant, other, stock=1), 1)])
    page = text_of(
        register(
            login_as(staff, tenant),
            shop["client"],
            [("BOOT-1", 1)],
            order_number=their_order.number,
        )
    )
    assert f"Acme Shoes has no order with the number {their_order.number}." in page
    with in_tenant(tenant) as session:
        assert session.scalar(select(Return)) is None


# --- the steps ---------------------------------------------------------------------------


def test_receive_then_process_restocks_and_scraps_with_a_full_history(
    login_as, staff, shop, tenant, in_tenant
):
    ret = make_return(
        in_tenant,
        tenant,
        shop["client"],
        [(shop["boots"], 2, None, 0), (shop["socks"], 1, None, 0)],
    )
    browser = login_as(staff, tenant)
    token = browser.csrf_token(f"/returns/{ret.id}")
    response = browser.post(
        f"/returns/{ret.id}/receive", data={"csrf_token": token, "note": "Box arrived dented"}
    )
    assert response.status_code == 302
    assert load(in_tenant, tenant, ret.id).status == ReturnStatus.RECEIVED

    lines = load(in_tenant, tenant, ret.id).lines
    # A line without a choice: refused, nothing changes.
    response = browser.post(
        f"/returns/{ret.id}/process",
        data={"csrf_token": token, f"line-{lines[0].id}": "restock"},
    )
    assert response.status_code == 200
    assert "Line 2: choose restock or scrap." in text_of(response)
    assert load(in_tenant, tenant, ret.id).status == ReturnStatus.RECEIVED

    response = browser.post(
        f"/returns/{ret.id}/process",
        data={
            "csrf_token": token,
            f"line-{lines[0].id}": "restock",
            f"line-{lines[1].id}": "scrap",
            "note": "Socks torn",
        },
    )
    assert response.status_code == 302
    saved = load(in_tenant, tenant, ret.id)
    assert saved.status == ReturnStatus.COMPLETED
    assert [line.disposition for line in saved.lines] == [Disposition.RESTOCK, Disposition.SCRAP]
    with in_tenant(tenant) as session:
        movements = session.scalars(
            select(StockMovement).where(StockMovement.reason == MovementReason.RETURN)
        ).all()
        assert [(m.product_id, m.quantity, m.reference, m.balance_after) for m in movements] == [
            (shop["boots"].id, 2, saved.number, 7)
        ]

    # The client sees every step: status, date, note and who.
    page = text_of(login_as(shop["user"], tenant).get(f"/returns/{ret.id}"))
    history = re.search(r"Status history.*?<tbody>(.*?)</tbody>", page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", history, re.S)
    assert len(rows) == 3
    assert "Registered" in rows[0]
    assert "Received" in rows[1]
    assert "Box arrived dented" in rows[1]
    assert "Sam Staff" in rows[1]
    assert "Processed" in rows[2]
    assert "Socks torn" in rows[2]
    assert "Back in stock" in page
    assert "Scrapped" in page
    assert "Process return" not in page


def test_refusals_of_steps_are_clear(login_as, staff, shop, tenant, in_tenant):
    ret = make_return(in_tenant, tenant, shop["client"], [(shop["boots"], 1, None, 0)])
    browser = login_as(staff, tenant)
    token = browser.csrf_token(f"/returns/{ret.id}")
    [line] = load(in_tenant, tenant, ret.id).lines
    page = text_of(
        browser.post(
            f"/returns/{ret.id}/process",
            data={"csrf_token": token, f"line-{line.id}": "restock"},
            follow_redirects=True,
        )
    )
    assert "Only a received return can be processed." in page
    browser.post(f"/returns/{ret.id}/receive", data={"csrf_token": token})
    page = text_of(
        browser.post(f"/returns/{ret.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    )
    assert "Only a return that has not arrived yet can be cancelled." in page
    page = text_of(
        browser.post(
            f"/returns/{ret.id}/receive", data={"csrf_token": token}, follow_redirects=True
        )
    )
    assert "Only a registered return can be received." in page
    assert load(in_tenant, tenant, ret.id).status == ReturnStatus.RECEIVED


def test_a_registered_return_can_be_cancelled(login_as, staff, shop, tenant, in_tenant):
    ret = make_return(in_tenant, tenant, shop["client"], [(shop["boots"], 1, None, 0)])
    browser = login_as(staff, tenant)
    token = browser.csrf_token(f"/returns/{ret.id}")
    response = browser.post(
        f"/returns/{ret.id}/cancel", data={"csrf_token": token, "note": "Customer kept it"}
    )
    assert response.status_code == 302
    saved = load(in_tenant, tenant, ret.id)
    assert saved.status == ReturnStatus.CANCELLED
    assert saved.history[-1].note == "Customer kept it"


# --- lists, isolation, permissions -------------------------------------------------------


def test_clients_see_their_returns_with_products_and_replacements(
    login_as, shop, tenant, in_tenant, create_client, create_product
):
    mine = make_return(in_tenant, tenant, shop["client"], [(shop["boots"], 2, shop["socks"], 3)])
    other = create_client(tenant, name="Other")
    theirs = make_return(
        in_tenant, tenant, other, [(create_product(tenant, other, code="X-1"), 1, None, 0)]
    )
    browser = login_as(shop["user"], tenant)
    page = text_of(browser.get("/returns/"))
    assert mine.number in page
    assert theirs.number not in page
    detail = text_of(browser.get(f"/returns/{mine.id}"))
    assert '<span class="code">BOOT-1</span> Boots' in detail
    assert '<span class="code">SOCK-1</span> Socks' in detail
    assert "Mark as received" not in detail
    assert browser.get(f"/returns/{theirs.id}").status_code == 404


def test_staff_only_steps_are_forbidden_to_clients(login_as, shop, tenant, in_tenant):
    ret = make_return(in_tenant, tenant, shop["client"], [(shop["boots"], 1, None, 0)])
    browser = login_as(shop["user"], tenant)
    token = browser.csrf_token("/returns/")
    assert browser.get("/returns/new").status_code == 403
    for step in ("receive", "cancel", "process"):
        response = browser.post(f"/returns/{ret.id}/{step}", data={"csrf_token": token})
        assert response.status_code == 403, step
    assert load(in_tenant, tenant, ret.id).status == ReturnStatus.REGISTERED


def test_staff_filter_returns_by_client_and_status(
    login_as, staff, shop, tenant, in_tenant, create_client, create_product
):
    first = make_return(in_tenant, tenant, shop["client"], [(shop["boots"], 1, None, 0)])
    other = create_client(tenant, name="Other")
    second = make_return(
        in_tenant, tenant, other, [(create_product(tenant, other, code="X-1"), 1, None, 0)]
    )
    browser = login_as(staff, tenant)
    page = text_of(browser.get("/returns/"))
    assert first.number in page
    assert second.number in page
    page = text_of(browser.get("/returns/", query_string={"client": other.id}))
    assert second.number in page
    assert first.number not in page
    page = text_of(browser.get("/returns/", query_string={"status": "received"}))
    assert first.number not in page
    assert browser.get("/returns/?status=nope").status_code == 400


def test_the_list_needs_the_same_number_of_queries_for_3_and_30_rows(
    login_as, staff, shop, tenant, in_tenant, count_queries
):
    browser = login_as(staff, tenant)

    def queries() -> int:
        browser.get("/returns/")
        with count_queries() as counter:
            assert browser.get("/returns/").status_code == 200
        return counter.count

    def add(count):
        for _ in range(count):
            make_return(
                in_tenant,
                tenant,
                shop["client"],
                [(shop["boots"], 1, shop["socks"], 1), (shop["socks"], 2, None, 0)],
            )

    add(3)
    few = queries()
    add(27)
    assert queries() == few
