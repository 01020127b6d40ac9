"""Stock: staff's corrections with a reason, the stock list, and a ledger that stays
consistent when two workers change the same stock at once."""

import re
import threading

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.core.products.models import Product
from portal.core.stock.models import MovementReason, StockLevel, StockMovement
from portal.core.stock.queries import check_ledger
from portal.core.stock.services import correct_stock
from portal.core.warehouses.models import Warehouse
from portal.core.warehouses.services import default_warehouse
from portal.db import db
from portal.tenants.context import TenantRef, tenant_context
from portal.testing import factories, fixtures
from portal.testing.fixtures import postgres_database, postgres_server_url, separate_app

POSTGRES_SERVER = postgres_server_url()


def text_of(response) -> str:
    return response.get_data(as_text=True)


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    acme = create_client(tenant, name="Acme Shoes")
    other = create_client(tenant, name="Other Co")
    return {
        "acme": acme,
        "other": other,
        "acme_user": create_user(tenant, "client", client=acme),
        "staff": create_user(tenant, "staff"),
        "boots": create_product(tenant, acme, code="BOOT-1", name="Boots", stock=10),
        "hat": create_product(tenant, other, code="HAT-1", name="Hat", stock=2, price="5.00"),
    }


def main_warehouse(in_tenant, tenant):
    with in_tenant(tenant):
        return default_warehouse().id


def level(in_tenant, tenant, product_id):
    with in_tenant(tenant) as session:
        stock = session.scalar(select(StockLevel).where(StockLevel.product_id == product_id))
        return stock.on_hand, stock.allocated


def correct(browser, product_id, warehouse_id, quantity, note):
    token = browser.csrf_token(f"/products/{product_id}")
    return browser.post(
        f"/stock/products/{product_id}/corrections",
        data={
            "csrf_token": token,
            "warehouse_id": str(warehouse_id),
            "quantity": str(quantity),
            "note": note,
        },
    )


# --- corrections -----------------------------------------------------------------------------


def test_staff_correct_stock_from_the_product_page(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    page = text_of(browser.get(f"/products/{shop['boots'].id}"))
    assert "Correct stock" in page
    assert 'name="note"' in page
    warehouse_id = main_warehouse(in_tenant, tenant)
    response = correct(browser, shop["boots"].id, warehouse_id, -3, "Stocktaking difference")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/products/{shop['boots'].id}#history"
    assert level(in_tenant, tenant, shop["boots"].id) == (7, 0)
    page = text_of(browser.get(response.headers["Location"]))
    assert "The stock of BOOT-1 was corrected by -3." in page
    history = page.split('id="history"', 1)[1]
    newest = re.search(r"<tr>\s*<td>.*?</tr>", history, re.S).group(0)
    assert "\N{MINUS SIGN}3" in newest
    assert "Stock correction" in newest
    assert "Stocktaking difference" in newest
    assert ">7<" in newest
    with in_tenant(tenant) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "stock.corrected"))
        assert entry.changes == {"on_hand": [10, 7]}
        assert entry.actor_id == shop["staff"].id


def test_a_correction_below_what_is_promised_is_refused(
    login_as, tenant, shop, in_tenant, create_order
):
    create_order(tenant, shop["acme"], [(shop["boots"], 8)])  # 8 of 10 promised
    browser = login_as(shop["staff"], tenant)
    warehouse_id = main_warehouse(in_tenant, tenant)
    response = correct(browser, shop["boots"].id, warehouse_id, -3, "Damaged")
    assert response.status_code == 422
    errors = field_errors(text_of(response), "quantity")
    assert "Stock of BOOT-1 cannot drop by 3" in errors
    assert "promised to orders" in errors
    # Nothing was written: no movement, no audit entry, the level unchanged.
    assert level(in_tenant, tenant, shop["boots"].id) == (10, 8)
    with in_tenant(tenant) as session:
        assert (
            session.scalar(
                select(StockMovement).where(StockMovement.reason == MovementReason.CORRECTION)
            )
            is None
        )
        assert (
            session.scalar(select(AuditEntry).where(AuditEntry.action == "stock.corrected")) is None
        )
    # Taking out what is free is fine.
    assert correct(browser, shop["boots"].id, warehouse_id, -2, "Damaged").status_code == 302
    assert level(in_tenant, tenant, shop["boots"].id) == (8, 8)


@pytest.mark.parametrize(
    ("quantity", "note", "field", "message"),
    [
        ("0", "Counted", "quantity", "The quantity must not be zero."),
        ("", "Counted", "quantity", "This field is required."),
        ("1.5", "Counted", "quantity", "Please enter a whole number."),
        ("5", "  ", "note", "Please give a reason for the correction."),
    ],
)
def test_a_correction_needs_a_non_zero_whole_quantity_and_a_reason(
    login_as, tenant, shop, in_tenant, quantity, note, field, message
):
    browser = login_as(shop["staff"], tenant)
    warehouse_id = main_warehouse(in_tenant, tenant)
    response = correct(browser, shop["boots"].id, warehouse_id, quantity, note)
    assert response.status_code == 422
    assert message in field_errors(text_of(response), field)
    assert level(in_tenant, tenant, shop["boots"].id) == (10, 0)


def test_a_correction_in_another_warehouse_starts_its_own_balance(
    login_as, tenant, shop, in_tenant
):
    with in_tenant(tenant) as session:
        second = Warehouse(code="WEST", name="West warehouse")
        session.add(second)
        session.commit()
        second_id = second.id
    browser = login_as(shop["staff"], tenant)
    assert correct(browser, shop["boots"].id, second_id, 4, "Moved in").status_code == 302
    page = text_of(browser.get(f"/products/{shop['boots'].id}"))
    assert re.search(r"WEST · West warehouse</th>\s*<td class=\"num\">4</td>", page)
    history = page.split('id="history"', 1)[1]
    newest = re.search(r"<tr>\s*<td>.*?</tr>", history, re.S).group(0)
    # With several warehouses the history names the warehouse of each movement.
    assert "<td>WEST</td>" in newest
    assert ">4<" in newest


def test_client_users_cannot_correct_stock(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["acme_user"], tenant)
    page = text_of(browser.get(f"/products/{shop['boots'].id}"))
    assert "Correct stock" not in page
    warehouse_id = main_warehouse(in_tenant, tenant)
    token = browser.csrf_token("/account")
    response = browser.post(
        f"/stock/products/{shop['boots'].id}/corrections",
        data={"csrf_token": token, "warehouse_id": str(warehouse_id), "quantity": "5", "note": "x"},
    )
    assert response.status_code == 403
    assert level(in_tenant, tenant, shop["boots"].id) == (10, 0)


def test_a_correction_of_another_tenants_product_is_not_found(
    login_as, tenant, other_tenant, shop, create_client, create_product, in_tenant
):
    theirs = create_product(other_tenant, create_client(other_tenant), stock=1)
    browser = login_as(shop["staff"], tenant)
    response = correct(browser, theirs.id, main_warehouse(in_tenant, tenant), 5, "x")
    assert response.status_code == 404


# --- the stock list --------------------------------------------------------------------------


def codes_in(html: str) -> list[str]:
    return re.findall(r'<td class="code"><a href="/products/[^"]+">([^<]+)</a>', html)


def number_cells(html: str) -> list[list[str]]:
    """Return the numeric cells of each row of the stock list (on hand, promised, available)."""
    rows = re.findall(r"<tr>\s*<td class=\"code\">(.*?)</tr>", html, re.S)
    return [re.findall(r'<td class="num">([^<]*)</td>', row)[:3] for row in rows]


def test_the_stock_list_shows_products_that_never_had_stock(
    login_as, tenant, shop, create_product, in_tenant
):
    never = create_product(tenant, shop["acme"], code="NEW-1", name="Never stocked")
    sold_out = create_product(tenant, shop["acme"], code="GONE-1", stock=3)
    with in_tenant(tenant) as session:
        correct_stock(session.merge(sold_out), default_warehouse().id, -3, "Damaged")
        session.commit()
    browser = login_as(shop["staff"], tenant)

    html = text_of(browser.get("/stock/"))
    assert codes_in(html) == ["BOOT-1", "GONE-1", "HAT-1", "NEW-1"]
    assert number_cells(html)[3] == ["0", "0", "0"]
    assert f'href="/products/{never.id}"' in html

    out_of_stock = codes_in(text_of(browser.get("/stock/?stock=out")))
    products_page = text_of(browser.get("/products/?stock=out"))
    assert out_of_stock == ["GONE-1", "NEW-1"]
    assert out_of_stock == codes_in(products_page)

    export = browser.get("/exports/stock.csv?stock=out").get_data(as_text=True)
    assert "NEW-1" in export
    assert "GONE-1" in export


def test_the_stock_list_pages_through_products_without_stock(
    login_as, tenant, create_client, create_user, create_product
):
    client = create_client(tenant)
    for number in range(5):
        create_product(tenant, client, code=f"P-{number}", stock=number % 2)
    browser = login_as(create_user(tenant, "staff"), tenant)
    seen, url = [], "/stock/?size=2"
    while url:
        html = text_of(browser.get(url))
        seen += codes_in(html)
        after = re.search(r'href="(/stock/\?[^"]*after=[^"]+)"', html)
        url = after.group(1).replace("&amp;", "&") if after else None
    assert seen == [f"P-{number}" for number in range(5)]


def test_the_stock_list_is_scoped_to_the_client(login_as, tenant, shop):
    html = text_of(login_as(shop["acme_user"], tenant).get("/stock/"))
    assert codes_in(html) == ["BOOT-1"]
    html = text_of(login_as(shop["staff"], tenant).get("/stock/"))
    assert codes_in(html) == ["BOOT-1", "HAT-1"]
    assert "€10.00" in html  # 2 hats at 5.00


def test_the_stock_list_filters_like_the_product_list(login_as, tenant, shop, in_tenant):
    with in_tenant(tenant) as session:
        west = Warehouse(code="WEST", name="West warehouse")
        session.add(west)
        session.flush()
        correct_stock(session.merge(shop["hat"]), west.id, 1, "Found")
        session.commit()
        west_id = west.id
    browser = login_as(shop["staff"], tenant)
    assert codes_in(text_of(browser.get("/stock/?q=hat"))) == ["HAT-1", "HAT-1"]
    # In one warehouse every product has a row: what lies there, or 0.
    west = text_of(browser.get(f"/stock/?warehouse={west_id}"))
    assert codes_in(west) == ["BOOT-1", "HAT-1"]
    assert [cells[0] for cells in number_cells(west)] == ["0", "1"]
    assert codes_in(text_of(browser.get(f"/stock/?client={shop['acme'].id}"))) == ["BOOT-1"]
    html = text_of(browser.get(f"/stock/?q=hat&warehouse={west_id}"))
    assert f'href="/exports/stock.csv?q=hat&amp;warehouse={west_id}"' in html


def test_the_stock_list_needs_the_same_queries_for_3_or_30_rows(
    login_as, tenant, create_client, create_user, create_product, count_queries
):
    client = create_client(tenant)
    browser = login_as(create_user(tenant, "staff"), tenant)

    def measure():
        with count_queries() as counter:
            html = text_of(browser.get("/stock/"))
        return counter.count, len(codes_in(html))

    for number in range(3):
        create_product(tenant, client, code=f"S-{number:02d}", stock=1)
    few, rows = measure()
    assert rows == 3
    for number in range(3, 30):
        create_product(tenant, client, code=f"S-{number:02d}", stock=number % 2)
    many, rows = measure()
    assert (many, rows) == (few, 30)


def test_stock_is_in_the_menu(login_as, tenant, shop):
    html = text_of(login_as(shop["acme_user"], tenant).get("/stock/"))
    assert '<a href="/stock/" aria-current="page">Stock</a>' in html


# --- concurrent changes ----------------------------------------------------------------------

MOVEMENTS_PER_WORKER = 50


def _sqlite_database(directory) -> fixtures.TestDatabase:
    path = directory / "ledger.db"
    return fixtures.TestDatabase(f"sqlite:///{path}", None, lambda: path.unlink(missing_ok=True))


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("sqlite"),
    ]
)
def ledger_app(request, tmp_path):
    """An application on its own database with real commits (not the test transaction)."""
    if request.param == "postgresql":
        database = postgres_database(POSTGRES_SERVER)
    else:
        database = _sqlite_database(tmp_path)
    with separate_app(database, mail_port=1) as app:
        with app.app_context():
            tenant = factories.make_tenant()
            client = factories.make_client(tenant)
            product = factories.make_product(tenant, client, code="RACE", stock=10)
            with tenant_context(tenant):
                setup = (
                    TenantRef(id=tenant.id, slug=tenant.slug),
                    product.id,
                    default_warehouse().id,
                )
                db.session.commit()
        yield app, setup


def test_concurrent_changes_keep_the_level_and_the_ledger_consistent(ledger_app):
    app, (tenant, product_id, warehouse_id) = ledger_app
    start = threading.Barrier(2)
    failures = []

    def work(first_step: int) -> None:
        try:
            # Each worker has its own application context, hence its own session and
            # connection, and commits every movement like a request would.
            with app.app_context(), tenant_context(tenant):
                product = db.session.scalar(select(Product).where(Product.id == product_id))
                db.session.expunge(product)
                db.session.commit()
                start.wait(timeout=30)
                step = first_step
                for _ in range(MOVEMENTS_PER_WORKER):
                    correct_stock(product, warehouse_id, step, "Concurrent count")
                    db.session.commit()
                    step = -step
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)
            start.abort()

    workers = [threading.Thread(target=work, args=(step,)) for step in (1, -1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not failures, failures

    with app.app_context(), tenant_context(tenant):
        movements = db.session.execute(
            select(StockMovement.quantity, StockMovement.balance_after)
            .where(StockMovement.product_id == product_id)
            .order_by(StockMovement.id)
        ).all()
        on_hand = db.session.scalar(
            select(StockLevel.on_hand).where(StockLevel.product_id == product_id)
        )
        check = check_ledger(product_id, warehouse_id)
    assert len(movements) == 1 + 2 * MOVEMENTS_PER_WORKER
    assert on_hand == sum(quantity for quantity, _ in movements) == 10
    balance = 0
    for quantity, balance_after in movements:
        assert balance_after == balance + quantity
        balance = balance_after
    assert check.consistent, check
