"""Products: the list with search, filters and pages; the detail page with images and stock
history; adding and editing products, with the code fixed and images checked."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from portal.audit.models import AuditEntry
from portal.core.products.models import Product, ProductImage
from portal.core.products.services import MAX_IMAGE_BYTES, add_image
from portal.core.stock.models import MovementReason
from portal.core.stock.services import record_movement
from portal.core.warehouses.services import default_warehouse

STALE = "Someone else changed this in the meantime."


def text_of(response) -> str:
    return response.get_data(as_text=True)


def png_bytes(size=(6, 4), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def attach_image(in_tenant, tenant, product_id, data=None):
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.id == product_id))
        image = add_image(product, data or png_bytes())
        session.commit()
        return image.id


def load_product(in_tenant, tenant, product_id) -> Product:
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.id == product_id))
        session.expunge(product)
        return product


def codes_in(html: str) -> list[str]:
    """Return the product codes linked from a list page, in order."""
    return re.findall(r'<td class="code"><a href="/products/[^"]+">([^<]+)</a>', html)


def field_errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    """Two clients of one tenant, each with a user and products; a staff user."""
    acme = create_client(tenant, name="Acme Shoes")
    other = create_client(tenant, name="Other Co")
    return {
        "acme": acme,
        "other": other,
        "acme_user": create_user(tenant, "client", client=acme),
        "other_user": create_user(tenant, "client", client=other),
        "staff": create_user(tenant, "staff"),
        "boots": create_product(
            tenant, acme, code="BOOT-1", name="Hiking boots", barcode="4006381333931", stock=12
        ),
        "socks": create_product(
            tenant, acme, code="SOCK-1", name="Wool socks", stock=0, low_stock_threshold=5
        ),
        "hat": create_product(tenant, other, code="HAT-1", name="Sun hat", stock=3, price="20.00"),
    }


# --- the list --------------------------------------------------------------------------------


def test_a_client_user_sees_only_its_own_products(login_as, tenant, shop):
    browser = login_as(shop["acme_user"], tenant)
    html = text_of(browser.get("/products/"))
    assert codes_in(html) == ["BOOT-1", "SOCK-1"]
    assert "HAT-1" not in html
    # No client filter for client users: the parameter is ignored.
    html = text_of(browser.get(f"/products/?client={shop['other'].id}"))
    assert codes_in(html) == ["BOOT-1", "SOCK-1"]


def test_staff_see_every_client_and_filter_by_client(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    html = text_of(browser.get("/products/"))
    assert codes_in(html) == ["BOOT-1", "HAT-1", "SOCK-1"]
    assert "Acme Shoes" in html
    assert "Other Co" in html
    html = text_of(browser.get(f"/products/?client={shop['other'].id}"))
    assert codes_in(html) == ["HAT-1"]


def test_the_list_shows_stock_and_stock_value(login_as, tenant, shop, create_order):
    # 4 of the 12 boots promised to an order: on hand 12, available 8.
    create_order(tenant, shop["acme"], [(shop["boots"], 4)])
    browser = login_as(shop["acme_user"], tenant)
    html = text_of(browser.get("/products/"))
    row = re.search(r"BOOT-1</a></td>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r'<td class="num[^"]*">(.*?)</td>', row, re.S)
    assert cells[0].strip() == "12"
    assert cells[1].strip().startswith("8")
    assert "4006381333931" in row
    # The value of the stock on hand at the product's price (0.00 by default).
    assert "€0.00" in cells[2]


def test_the_stock_value_is_on_hand_times_price(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    html = text_of(browser.get(f"/products/?client={shop['other'].id}"))
    assert "€60.00" in html  # 3 hats at 20.00


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("boot", ["BOOT-1"]),  # code, any case
        ("wool", ["SOCK-1"]),  # name
        ("4006381333931", ["BOOT-1"]),  # barcode
        ("-1", ["BOOT-1", "SOCK-1"]),
        ("%", []),  # LIKE wildcards are taken literally
    ],
)
def test_search_by_code_name_or_barcode(login_as, tenant, shop, q, expected):
    browser = login_as(shop["acme_user"], tenant)
    html = text_of(browser.get("/products/", query_string={"q": q}))
    assert codes_in(html) == expected


@pytest.mark.parametrize(
    ("stock", "expected"),
    [("low", ["SOCK-1"]), ("in", ["BOOT-1"]), ("out", ["SOCK-1"]), ("bogus", ["BOOT-1", "SOCK-1"])],
)
def test_stock_filters(login_as, tenant, shop, stock, expected):
    browser = login_as(shop["acme_user"], tenant)
    html = text_of(browser.get("/products/", query_string={"stock": stock}))
    assert codes_in(html) == expected


def test_low_stock_counts_what_is_available_not_what_is_on_hand(
    login_as, tenant, shop, create_product, create_order
):
    scarf = create_product(tenant, shop["acme"], code="SCARF", stock=6, low_stock_threshold=5)
    browser = login_as(shop["acme_user"], tenant)
    assert "SCARF" not in codes_in(text_of(browser.get("/products/?stock=low")))
    create_order(tenant, shop["acme"], [(scarf, 2)])  # 4 available of 6 on hand
    assert "SCARF" in codes_in(text_of(browser.get("/products/?stock=low")))


def test_pages_follow_the_code_order_without_gaps_or_repeats(
    login_as, tenant, shop, create_product
):
    for number in range(5):
        create_product(tenant, shop["acme"], code=f"P-{number:02d}")
    browser = login_as(shop["acme_user"], tenant)
    pages, url = [], "/products/?size=3"
    while url:
        html = text_of(browser.get(url))
        pages.append(codes_in(html))
        match = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert pages == [["BOOT-1", "P-00", "P-01"], ["P-02", "P-03", "P-04"], ["SOCK-1"]]


def test_a_broken_cursor_is_a_bad_request(login_as, tenant, shop):
    browser = login_as(shop["acme_user"], tenant)
    assert browser.get("/products/?after=not-a-cursor").status_code == 400


@pytest.mark.parametrize("role", ["staff", "client"])
def test_the_list_needs_the_same_queries_for_3_or_30_products(
    app,
    login_as,
    tenant,
    create_client,
    create_user,
    create_product,
    in_tenant,
    count_queries,
    role,
):
    client = create_client(tenant)
    user = create_user(tenant, role, **({"client": client} if role == "client" else {}))
    browser = login_as(user, tenant)

    def add(count, start):
        for number in range(start, start + count):
            product = create_product(tenant, client, code=f"Q-{number:03d}", stock=number % 3)
            if number % 2:
                attach_image(in_tenant, tenant, product.id)

    def measure():
        with count_queries() as counter:
            html = text_of(browser.get("/products/"))
        return counter.count, len(codes_in(html))

    add(3, 0)
    few, rows = measure()
    assert rows == 3
    add(27, 3)
    many, rows = measure()
    assert rows == 30
    assert many == few


def test_products_are_in_the_menu_of_clients_and_staff(login_as, tenant, shop, create_user):
    for user in (shop["acme_user"], shop["staff"]):
        html = text_of(login_as(user, tenant).get("/products/"))
        assert re.search(r'<a href="/products/" aria-current="page">Products</a>', html)
    supplier = create_user(tenant, "supplier")
    browser = login_as(supplier, tenant)
    assert 'href="/products/"' not in text_of(browser.get("/"))
    assert browser.get("/products/").status_code == 403


def test_the_list_shows_the_first_image_as_thumbnail(login_as, tenant, shop, in_tenant):
    first = attach_image(in_tenant, tenant, shop["boots"].id)
    attach_image(in_tenant, tenant, shop["boots"].id, png_bytes(colour=(0, 0, 255)))
    browser = login_as(shop["acme_user"], tenant)
    html = text_of(browser.get("/products/"))
    thumbnails = re.findall(r'<img class="thumb" src="([^"]+)"', html)
    assert thumbnails == [f"/products/{shop['boots'].id}/images/{first}"]


# --- the detail page -------------------------------------------------------------------------


def test_the_detail_page_shows_data_stock_and_history(
    login_as, tenant, shop, in_tenant, create_order
):
    boots = shop["boots"]
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.id == boots.id))
        warehouse = default_warehouse()
        record_movement(product, warehouse.id, 5, MovementReason.GOODS_RECEIPT, reference="PO-7")
        record_movement(product, warehouse.id, -2, MovementReason.RETURN, reference="R-1")
        session.commit()
    create_order(tenant, shop["acme"], [(boots, 4)])
    browser = login_as(shop["acme_user"], tenant)
    html = text_of(browser.get(f"/products/{boots.id}"))
    assert "Hiking boots" in html
    assert "4006381333931" in html
    # Stock per warehouse: 15 on hand, 4 promised, 11 available.
    row = re.search(r"<th scope=\"row\">MAIN · Main warehouse</th>(.*?)</tr>", html, re.S)
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(1)) == ["15", "4", "11"]
    history = html.split('id="history"', 1)[1]
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", history, re.S)
    assert len(rows) == 3
    # Newest first: the signed quantity, the translated reason, the reference and the balance.
    assert "\N{MINUS SIGN}2" in rows[0]
    assert "Return" in rows[0]
    assert "R-1" in rows[0]
    assert ">15<" in rows[0]
    assert "+5" in rows[1]
    assert "Goods receipt" in rows[1]
    assert "PO-7" in rows[1]
    assert ">17<" in rows[1]
    assert "+12" in rows[2]
    assert "Opening stock" in rows[2]
    assert ">12<" in rows[2]


def test_the_history_is_paged_newest_first(login_as, tenant, shop, in_tenant):
    boots = shop["boots"]
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.id == boots.id))
        for number in range(4):
            record_movement(
                product, default_warehouse().id, 1, MovementReason.CORRECTION, note=f"n{number}"
            )
        session.commit()
    browser = login_as(shop["staff"], tenant)
    pages, url = [], f"/products/{boots.id}?size=2"
    while url:
        html = text_of(browser.get(url)).split('id="history"', 1)[1]
        pages.append([int(b) for b in re.findall(r'<td class="num">(\d+)</td>\s*</tr>', html)])
        match = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert pages == [[16, 15], [14, 13], [12]]


def test_the_detail_page_needs_the_same_queries_for_a_short_or_long_history(
    login_as, tenant, shop, in_tenant, count_queries
):
    browser = login_as(shop["staff"], tenant)
    url = f"/products/{shop['boots'].id}"

    def measure():
        with count_queries() as counter:
            assert browser.get(url).status_code == 200
        return counter.count

    few = measure()
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.id == shop["boots"].id))
        for _ in range(30):
            record_movement(product, default_warehouse().id, 1, MovementReason.CORRECTION)
        session.commit()
    assert measure() == few


def test_a_client_user_cannot_open_another_clients_product(login_as, tenant, shop, in_tenant):
    image_id = attach_image(in_tenant, tenant, shop["hat"].id)
    browser = login_as(shop["acme_user"], tenant)
    assert browser.get(f"/products/{shop['hat'].id}").status_code == 404
    assert browser.get(f"/products/{shop['hat'].id}/images/{image_id}").status_code == 404
    own = login_as(shop["other_user"], tenant)
    assert own.get(f"/products/{shop['hat'].id}").status_code == 200
    assert own.get(f"/products/{shop['hat'].id}/images/{image_id}").status_code == 200


def test_images_are_served_with_their_type_and_nosniff(login_as, tenant, shop, in_tenant):
    image_id = attach_image(in_tenant, tenant, shop["boots"].id)
    browser = login_as(shop["acme_user"], tenant)
    html = text_of(browser.get(f"/products/{shop['boots'].id}"))
    assert f'src="/products/{shop["boots"].id}/images/{image_id}"' in html
    response = browser.get(f"/products/{shop['boots'].id}/images/{image_id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.size == (6, 4)
    # An image id only answers under its own product.
    assert browser.get(f"/products/{shop['socks'].id}/images/{image_id}").status_code == 404
    again = browser.get(
        f"/products/{shop['boots'].id}/images/{image_id}",
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


# --- adding and editing ----------------------------------------------------------------------


def product_data(browser, path, **values):
    data = {
        "csrf_token": browser.csrf_token(path),
        "code": "NEW-1",
        "name": "New product",
        "barcode": "",
        "price": "12.50",
        "low_stock_threshold": "2",
    }
    data.update(values)
    return data


def test_staff_add_a_product_for_a_chosen_client(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    form = text_of(browser.get("/products/new"))
    assert "Acme Shoes" in form
    assert "Other Co" in form
    data = product_data(browser, "/products/new", client_id=str(shop["other"].id))
    response = browser.post("/products/new", data=data)
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.code == "NEW-1"))
        assert product.client_id == shop["other"].id
        assert str(product.price) == "12.50"
        assert product.low_stock_threshold == 2
        assert session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "product.created", AuditEntry.object_id == str(product.id)
            )
        )
    assert response.headers["Location"] == f"/products/{product.id}"


def test_staff_must_choose_a_client_of_the_tenant(login_as, tenant, other_tenant, shop):
    browser = login_as(shop["staff"], tenant)
    for client_id in ("", str(shop["acme"].id).replace("0", "1", 1)):
        data = product_data(browser, "/products/new", client_id=client_id)
        response = browser.post("/products/new", data=data)
        assert response.status_code == 200
        assert field_errors(text_of(response), "client_id")


def test_a_client_with_product_management_adds_its_own_products(
    login_as, tenant, create_client, create_user, in_tenant, shop
):
    client = create_client(tenant, product_management=True)
    user = create_user(tenant, "client", client=client)
    browser = login_as(user, tenant)
    assert 'href="/products/new"' in text_of(browser.get("/products/"))
    form = text_of(browser.get("/products/new"))
    assert 'name="client_id"' not in form
    # A client id smuggled into the form changes nothing: the product is the user's client's.
    data = product_data(browser, "/products/new", client_id=str(shop["other"].id))
    assert browser.post("/products/new", data=data).status_code == 302
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.code == "NEW-1"))
        assert product.client_id == client.id


def test_without_product_management_the_edit_routes_answer_403(login_as, tenant, shop):
    browser = login_as(shop["acme_user"], tenant)
    assert 'href="/products/new"' not in text_of(browser.get("/products/"))
    assert "Edit product" not in text_of(browser.get(f"/products/{shop['boots'].id}"))
    token = browser.csrf_token("/account")
    assert browser.get("/products/new").status_code == 403
    assert browser.post("/products/new", data={"csrf_token": token}).status_code == 403
    edit = f"/products/{shop['boots'].id}/edit"
    assert browser.get(edit).status_code == 403
    response = browser.post(edit, data={"csrf_token": token, "name": "Changed", "version": "1"})
    assert response.status_code == 403


def test_a_client_with_product_management_edits_only_its_own_products(
    login_as, tenant, create_client, create_user, create_product, shop
):
    client = create_client(tenant, product_management=True)
    user = create_user(tenant, "client", client=client)
    mine = create_product(tenant, client, code="MINE")
    browser = login_as(user, tenant)
    assert browser.get(f"/products/{mine.id}/edit").status_code == 200
    assert browser.get(f"/products/{shop['boots'].id}/edit").status_code == 404


def test_a_duplicate_code_is_refused_on_the_code_field(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    data = product_data(browser, "/products/new", client_id=str(shop["acme"].id), code="BOOT-1")
    response = browser.post("/products/new", data=data)
    assert response.status_code == 200
    assert "A product with the code BOOT-1 already exists." in field_errors(
        text_of(response), "code"
    )


def test_a_bad_barcode_and_price_are_refused_on_their_fields(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    data = product_data(
        browser, "/products/new", client_id=str(shop["acme"].id), barcode="4006381333932"
    )
    html = text_of(browser.post("/products/new", data=data))
    assert "is not a valid EAN/GTIN barcode" in field_errors(html, "barcode")
    data = product_data(browser, "/products/new", client_id=str(shop["acme"].id), price="cheap")
    html = text_of(browser.post("/products/new", data=data))
    assert "The price must be a number." in field_errors(html, "price")
    with in_tenant(tenant) as session:
        assert session.scalar(select(Product).where(Product.code == "NEW-1")) is None


def test_prices_are_read_in_the_users_language(login_as, create_user, tenant, shop, in_tenant):
    german = create_user(tenant, "staff", locale="de")
    browser = login_as(german, tenant)
    data = product_data(browser, "/products/new", client_id=str(shop["acme"].id), price="1.234,50")
    assert browser.post("/products/new", data=data).status_code == 302
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.code == "NEW-1"))
        assert str(product.price) == "1234.50"
    form = text_of(browser.get(f"/products/{product.id}/edit"))
    assert 'value="1.234,50"' in form


def edit_data(browser, product_id, **values):
    path = f"/products/{product_id}/edit"
    html = text_of(browser.get(path))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    code = re.search(r'name="code"[^>]*value="([^"]*)"', html).group(1)
    data = {
        "csrf_token": browser.csrf_token(path),
        "code": code,
        "name": "Hiking boots",
        "barcode": "4006381333931",
        "price": "0.00",
        "low_stock_threshold": "0",
        "version": version,
    }
    data.update(values)
    return path, data


def test_the_code_is_shown_read_only_and_a_changed_code_is_refused(
    login_as, tenant, shop, in_tenant
):
    browser = login_as(shop["staff"], tenant)
    html = text_of(browser.get(f"/products/{shop['boots'].id}/edit"))
    assert re.search(r'<input[^>]*name="code"[^>]*readonly', html)
    path, data = edit_data(browser, shop["boots"].id, code="BOOT-2", name="Renamed")
    response = browser.post(path, data=data)
    assert response.status_code == 200
    assert "The product code cannot be changed." in field_errors(text_of(response), "code")
    product = load_product(in_tenant, tenant, shop["boots"].id)
    assert (product.code, product.name) == ("BOOT-1", "Hiking boots")


def test_editing_saves_the_changes_and_raises_the_version(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    before = load_product(in_tenant, tenant, shop["boots"].id).version
    path, data = edit_data(browser, shop["boots"].id, name="Trail boots", price="89.90")
    response = browser.post(path, data=data)
    assert response.status_code == 302
    product = load_product(in_tenant, tenant, shop["boots"].id)
    assert (product.name, str(product.price)) == ("Trail boots", "89.90")
    assert product.version == before + 1


def test_a_stale_edit_is_refused_with_a_reload_link(login_as, create_user, tenant, shop, in_tenant):
    first = login_as(shop["staff"], tenant)
    second = login_as(create_user(tenant, "staff"), tenant)
    path, first_data = edit_data(first, shop["boots"].id, name="First's name")
    _, second_data = edit_data(second, shop["boots"].id, name="Second's name")
    assert second.post(path, data=second_data).status_code == 302
    response = first.post(path, data=first_data)
    assert response.status_code == 200
    html = text_of(response)
    assert STALE in html
    assert f'href="/products/{shop["boots"].id}/edit">Reload the current version' in html
    assert load_product(in_tenant, tenant, shop["boots"].id).name == "Second's name"
    # After reloading, the save goes through.
    path, data = edit_data(first, shop["boots"].id, name="First's name")
    assert first.post(path, data=data).status_code == 302


def test_an_edit_without_its_version_is_refused(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    path, data = edit_data(browser, shop["boots"].id, name="Sneaky")
    del data["version"]
    assert STALE in text_of(browser.post(path, data=data))
    assert load_product(in_tenant, tenant, shop["boots"].id).name == "Hiking boots"


# --- images ----------------------------------------------------------------------------------


def upload(browser, product_id, content: bytes, filename: str, **values):
    path, data = edit_data(browser, product_id, **values)
    data["image"] = FileStorage(io.BytesIO(content), filename)
    # Encoded in memory: the test client would otherwise leave a large body in an open
    # temporary file.
    boundary, body = encode_multipart(MultiDict(data))
    return browser.post(path, data=body, content_type=f'multipart/form-data; boundary="{boundary}"')


def images_of(in_tenant, tenant, product_id):
    with in_tenant(tenant) as session:
        return session.execute(
            select(ProductImage.content_type, ProductImage.width, ProductImage.height).where(
                ProductImage.product_id == product_id
            )
        ).all()


def test_a_real_png_is_stored_re_encoded(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    transparent = io.BytesIO()
    Image.new("RGBA", (10, 7), (0, 128, 0, 100)).save(transparent, "PNG")
    response = upload(browser, shop["boots"].id, transparent.getvalue(), "photo.png")
    assert response.status_code == 302
    assert images_of(in_tenant, tenant, shop["boots"].id) == [("image/png", 10, 7)]
    html = text_of(browser.get(f"/products/{shop['boots'].id}"))
    assert 'width="10" height="7"' in html


def test_a_text_file_named_png_is_refused(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    response = upload(
        browser, shop["boots"].id, b"just some text, not a picture\n", "notes.png", name="Renamed"
    )
    assert response.status_code == 200
    assert "The file is not an image that can be read." in field_errors(text_of(response), "image")
    # Nothing half-written: neither the image nor the other changes were saved.
    assert images_of(in_tenant, tenant, shop["boots"].id) == []
    assert load_product(in_tenant, tenant, shop["boots"].id).name == "Hiking boots"


def test_an_oversized_file_is_refused(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    big = png_bytes() + b"\0" * MAX_IMAGE_BYTES
    response = upload(browser, shop["boots"].id, big, "huge.png")
    assert response.status_code == 200
    html = text_of(response)
    assert "The image is too large (at most 5 MB)." in field_errors(html, "image")
    assert images_of(in_tenant, tenant, shop["boots"].id) == []


def test_a_gif_is_refused_with_the_allowed_types(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    gif = io.BytesIO()
    Image.new("RGB", (3, 3)).save(gif, "GIF")
    response = upload(browser, shop["boots"].id, gif.getvalue(), "anim.png")
    assert "Please upload a PNG, JPEG or WebP image." in field_errors(text_of(response), "image")


def test_a_new_product_can_come_with_an_image(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    data = product_data(browser, "/products/new", client_id=str(shop["acme"].id))
    jpeg = io.BytesIO()
    Image.new("RGB", (6, 4), (10, 20, 30)).save(jpeg, "JPEG")
    data["image"] = (io.BytesIO(jpeg.getvalue()), "p.jpg")
    response = browser.post("/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.code == "NEW-1"))
    assert images_of(in_tenant, tenant, product.id) == [("image/jpeg", 6, 4)]
    image_id = attach_image(in_tenant, tenant, product.id)
    served = browser.get(f"/products/{product.id}/images/{image_id}")
    assert served.headers["Content-Type"] == "image/png"
