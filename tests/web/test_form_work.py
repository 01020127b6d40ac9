"""Forms keep the user's work and show every error once (walkthrough issue, defect 14).

The product form reports every wrong field of one submit and keeps the chosen image; the
new-order form keeps its lines as typed; the order import keeps the address and reference
for "upload a corrected file"; WTForms' own messages are replaced by ours, one per problem.
"""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from portal.core.products.models import Product, ProductImage


def text_of(response) -> str:
    return response.get_data(as_text=True)


def png_bytes(size=(6, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def field_errors(html: str, field: str) -> list[str]:
    match = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1), re.S) if match else []


def kept_token(html: str) -> str:
    match = re.search(r'id="kept_image" name="kept_image" type="hidden" value="([^"]*)"', html)
    assert match, "no kept_image field"
    return match.group(1)


@pytest.fixture(autouse=True)
def upload_cache(app, tmp_path, monkeypatch):
    """Keep chosen images in this test's own folder, not in the instance folder."""
    monkeypatch.setitem(app.config, "PORTAL_UPLOAD_CACHE", str(tmp_path / "upload-cache"))
    return tmp_path / "upload-cache"


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    acme = create_client(tenant, name="Acme Shoes")
    return {
        "acme": acme,
        "staff": create_user(tenant, "staff"),
        "german": create_user(tenant, "staff", locale="de"),
        "boots": create_product(tenant, acme, code="BOOT-1", name="Hiking boots"),
    }


def product_post(browser, shop, **values):
    data = {
        "csrf_token": browser.csrf_token("/products/new"),
        "client_id": str(shop["acme"].id),
        "code": "NEW-1",
        "name": "New product",
        "barcode": "",
        "price": "12.50",
        "low_stock_threshold": "2",
    }
    data.update(values)
    return browser.post("/products/new", data=data, content_type="multipart/form-data")


def images_of(in_tenant, tenant, code):
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.code == code))
        if product is None:
            return None
        return session.execute(
            select(ProductImage.width, ProductImage.height).where(
                ProductImage.product_id == product.id
            )
        ).all()


# --- the product form ------------------------------------------------------------------------

THREE_ERRORS = {
    "en": {
        "code": "The code may contain letters, digits and . _ / - (at most 64 characters).",
        "barcode": "4006381333932 is not a valid EAN/GTIN barcode.",
        "price": "The price must be a number.",
        "low_stock_threshold": "Please enter a whole number.",
    },
    "de": {
        "code": "Die Artikelnummer darf Buchstaben",
        "barcode": "4006381333932 ist kein gültiger EAN/GTIN-Barcode.",
        "price": "Der Preis muss eine Zahl sein.",
        "low_stock_threshold": "Bitte geben Sie eine ganze Zahl ein.",
    },
}


@pytest.mark.parametrize("language", ["en", "de"])
def test_one_submit_reports_every_wrong_field_of_a_product_once(
    login_as, tenant, shop, in_tenant, language
):
    user = shop["staff"] if language == "en" else shop["german"]
    browser = login_as(user, tenant)
    response = product_post(
        browser,
        shop,
        code="bad code!",
        barcode="4006381333932",
        price="cheap",
        low_stock_threshold="1.5",
    )
    assert response.status_code == 200
    html = text_of(response)
    for field, expected in THREE_ERRORS[language].items():
        errors = field_errors(html, field)
        assert len(errors) == 1, (field, errors)
        assert expected in errors[0]
    assert "Not a valid integer value" not in html
    assert "Number must be between" not in html
    assert images_of(in_tenant, tenant, "bad code!") is None


def test_what_was_typed_is_escaped_in_the_messages(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    html = text_of(product_post(browser, shop, barcode="<b>x</b>"))
    assert field_errors(html, "barcode") == [
        "&lt;b&gt;x&lt;/b&gt; is not a valid EAN/GTIN barcode."
    ]


def test_a_taken_code_is_reported_with_the_other_errors(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    html = text_of(product_post(browser, shop, code="BOOT-1", price="cheap"))
    assert field_errors(html, "code") == ["A product with the code BOOT-1 already exists."]
    assert field_errors(html, "price") == ["The price must be a number."]


def test_the_chosen_image_is_kept_while_the_form_has_errors(
    login_as, tenant, shop, in_tenant, upload_cache
):
    browser = login_as(shop["staff"], tenant)
    response = product_post(
        browser, shop, name="", image=(io.BytesIO(png_bytes((9, 5))), "boots.png")
    )
    html = text_of(response)
    assert field_errors(html, "name") == ["Please enter a name."]
    assert "Image chosen: boots.png." in html
    token = kept_token(html)
    assert token
    # The corrected submit sends no file: the kept image is stored with the product.
    response = product_post(browser, shop, name="Boots", kept_image=token)
    assert response.status_code == 302
    assert images_of(in_tenant, tenant, "NEW-1") == [(9, 5)]
    # Stored with its product, the kept file is gone.
    assert [path for path in upload_cache.rglob("*") if path.is_file()] == []


def test_a_kept_image_can_be_replaced_or_dropped(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    html = text_of(product_post(browser, shop, price="x", image=(io.BytesIO(png_bytes()), "a.png")))
    first = kept_token(html)
    # Replaced: a new file wins over the kept one, which is kept in its place.
    html = text_of(
        product_post(
            browser,
            shop,
            price="y",
            kept_image=first,
            image=(io.BytesIO(png_bytes((3, 3))), "b.png"),
        )
    )
    assert "Image chosen: b.png." in html
    second = kept_token(html)
    assert second != first
    # Dropped: the product is saved without an image.
    response = product_post(browser, shop, kept_image=second, drop_kept_image="y")
    assert response.status_code == 302
    assert images_of(in_tenant, tenant, "NEW-1") == []


def test_a_bad_image_is_reported_with_the_other_errors_and_not_kept(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    html = text_of(
        product_post(browser, shop, price="x", image=(io.BytesIO(b"not a picture"), "x.png"))
    )
    assert field_errors(html, "image") == ["The file is not an image that can be read."]
    assert field_errors(html, "price") == ["The price must be a number."]
    assert kept_token(html) == ""
    assert "Image chosen" not in html


def test_another_users_kept_image_cannot_be_used(login_as, tenant, shop, create_user, in_tenant):
    browser = login_as(shop["staff"], tenant)
    html = text_of(product_post(browser, shop, price="x", image=(io.BytesIO(png_bytes()), "a.png")))
    token = kept_token(html)
    # Another staff user of the same tenant sends the token: it is not theirs.
    colleague = login_as(create_user(tenant, "staff"), tenant)
    assert product_post(colleague, shop, kept_image=token).status_code == 302
    assert images_of(in_tenant, tenant, "NEW-1") == []


def test_an_edit_with_errors_keeps_the_image_too(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    path = f"/products/{shop['boots'].id}/edit"
    page = text_of(browser.get(path))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    data = {
        "csrf_token": browser.csrf_token(path),
        "code": "BOOT-1",
        "name": "Hiking boots",
        "price": "cheap",
        "barcode": "123",
        "low_stock_threshold": "0",
        "version": version,
    }
    html = text_of(
        browser.post(
            path,
            data={**data, "image": (io.BytesIO(png_bytes((4, 4))), "side.png")},
            content_type="multipart/form-data",
        )
    )
    assert field_errors(html, "price") == ["The price must be a number."]
    assert field_errors(html, "barcode") == ["123 is not a valid EAN/GTIN barcode."]
    token = kept_token(html)
    response = browser.post(path, data={**data, "price": "3", "barcode": "", "kept_image": token})
    assert response.status_code == 302
    assert images_of(in_tenant, tenant, "BOOT-1") == [(4, 4)]


# --- the new-order form ----------------------------------------------------------------------


@pytest.fixture
def orders(tenant, create_client, create_user, create_product):
    client = create_client(tenant, name="Acme Shop")
    return {
        "client": client,
        "user": create_user(tenant, "client", client=client),
        "german": create_user(tenant, "client", client=client, locale="de"),
        "widget": create_product(tenant, client, code="WID-1", name="Widget", stock=10),
    }


def order_post(browser, rows, **fields):
    from portal.testing.factories import DEFAULT_ADDRESS

    data = {
        "csrf_token": browser.csrf_token("/orders/new"),
        "action": "submit",
        **DEFAULT_ADDRESS,
    }
    for index, (code, quantity) in enumerate(rows):
        data[f"lines-{index}-code"] = code
        data[f"lines-{index}-quantity"] = str(quantity)
    data.update(fields)
    return text_of(browser.post("/orders/new", data=data))


def line_rows(page: str) -> list[str]:
    return re.findall(r"<tr data-line-row.*?</tr>", page, re.S)


@pytest.mark.parametrize(
    ("language", "hint", "unknown"),
    [
        ("en", "Widget · 10 available", "Line 2: there is no product with the code NOPE."),
        (
            "de",
            "Widget · 10 verfügbar",
            "Position 2: Es gibt keinen Artikel mit der Artikelnummer NOPE.",
        ),
    ],
)
def test_an_order_shown_again_keeps_its_rows_names_and_shows_each_error_once(
    login_as, tenant, orders, language, hint, unknown
):
    user = orders["user"] if language == "en" else orders["german"]
    browser = login_as(user, tenant)
    sent = [("WID-1", 2), ("NOPE", 1), ("WID-1", "1.5"), ("", ""), ("", ""), ("", "")]
    page = order_post(browser, sent)
    rows = line_rows(page)
    # The rows come back as they were sent: none added, none lost.
    assert len(rows) == len(sent)
    assert 'value="WID-1"' in rows[0]
    assert 'value="2"' in rows[0]
    # The product typed on line 1 is named with its free stock, as the picker showed it.
    assert hint in rows[0]
    assert hint not in rows[1]
    # Each line's message: once in the summary at the top (a link to the row), once at the row.
    assert page.count(unknown) == 2
    summary = re.search(
        r'<div class="form-errors" role="alert" id="error-summary">(.*?)</div>', page, re.S
    )
    assert f'<a href="#lines-1-code">{unknown}</a>' in summary.group(1)
    assert unknown in rows[1]
    assert page.count('role="alert"') == 1


def test_an_order_form_sent_again_and_again_does_not_grow(login_as, tenant, orders):
    browser = login_as(orders["user"], tenant)
    sent = [("WID-1", 1), ("NOPE", 1), ("X", 1), ("Y", 1), ("Z", 1)]
    for _attempt in range(3):
        assert len(line_rows(order_post(browser, sent))) == 5


def test_more_lines_still_adds_rows(login_as, tenant, orders):
    browser = login_as(orders["user"], tenant)
    page = order_post(browser, [("WID-1", 1)] + [("", "")] * 4, action="more_lines")
    assert len(line_rows(page)) == 10


# --- the order import's "upload a corrected file" --------------------------------------------


def xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def importing(tenant, create_client, create_user, create_product, create_address):
    client = create_client(tenant, name="Import Shop")
    create_product(tenant, client, code="IMP-1", stock=5)
    create_address(tenant, client, name="First Place", city="Utrecht")
    chosen = create_address(tenant, client, name="Second Place", city="Leiden")
    return {
        "client": client,
        "address": chosen,
        "user": create_user(tenant, "client", client=client),
        "staff": create_user(tenant, "staff"),
    }


def refused_import(browser, importing, **fields):
    data = {
        "csrf_token": browser.csrf_token("/orders/import"),
        "file": (io.BytesIO(xlsx([("code", "qty"), ("NOPE", 1)])), "order.xlsx"),
        "address": str(importing["address"].id),
        "reference": "Spring 2027",
        "submit_order": "y",
        **fields,
    }
    response = browser.post("/orders/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    return text_of(browser.get(response.headers["Location"]))


def corrected_file_form(browser, status_page: str) -> str:
    link = re.search(r'<a class="button" href="([^"]+)">Upload a corrected file</a>', status_page)
    assert link, "no link to upload a corrected file"
    return text_of(browser.get(link.group(1).replace("&amp;", "&")))


def test_a_corrected_file_keeps_the_address_reference_and_submit_choice(
    login_as, tenant, importing
):
    browser = login_as(importing["user"], tenant)
    form = corrected_file_form(browser, refused_import(browser, importing))
    chosen = re.search(r'<option selected value="([^"]+)">', form)
    assert chosen
    assert chosen.group(1) == str(importing["address"].id)
    assert 'value="Spring 2027"' in form
    assert re.search(r'<input checked id="submit_order"', form)


def test_staff_get_the_client_back_with_the_corrected_file(login_as, tenant, importing):
    browser = login_as(importing["staff"], tenant)
    form = corrected_file_form(
        browser, refused_import(browser, importing, client=str(importing["client"].id))
    )
    assert f'<option selected value="{importing["client"].id}">Import Shop</option>' in form
    assert f'<option selected value="{importing["address"].id}">' in form


def test_another_clients_or_tenants_import_cannot_be_taken_up(
    login_as, tenant, other_tenant, importing, create_client, create_user
):
    browser = login_as(importing["user"], tenant)
    page = refused_import(browser, importing)
    link = re.search(r'href="(/orders/import\?again=[^"]+)"', page).group(1)
    stranger = login_as(create_user(tenant, "client", client=create_client(tenant)), tenant)
    assert stranger.get(link).status_code == 404
    foreigner = login_as(create_user(other_tenant, "staff"), other_tenant)
    assert foreigner.get(link).status_code == 404
    assert browser.get("/orders/import?again=not-an-id").status_code == 400


# --- WTForms' own messages: ours, translated, one per problem ---------------------------------

WHOLE_NUMBER = {"en": "Please enter a whole number.", "de": "Bitte geben Sie eine ganze Zahl ein."}


def user_in(create_user, tenant, role, language, **overrides):
    return create_user(tenant, role, locale=language, **overrides)


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_decimal_stock_correction_gets_one_message_in_our_words(
    login_as, tenant, shop, create_user, language
):
    browser = login_as(user_in(create_user, tenant, "staff", language), tenant)
    product_id = shop["boots"].id
    # The correction form on the product's page offers the tenant's warehouse.
    page = text_of(browser.get(f"/products/{product_id}"))
    warehouse = re.search(r'<option[^>]*value="([0-9a-f-]{36})"', page).group(1)
    response = browser.post(
        f"/stock/products/{product_id}/corrections",
        data={
            "csrf_token": browser.csrf_token(f"/products/{product_id}"),
            "warehouse_id": warehouse,
            "quantity": "1.5",
            "note": "Counted",
        },
    )
    assert response.status_code == 422
    assert field_errors(text_of(response), "quantity") == [WHOLE_NUMBER[language]]


def test_a_whole_number_out_of_range_gets_one_range_message(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    html = text_of(product_post(browser, shop, low_stock_threshold="-1"))
    assert field_errors(html, "low_stock_threshold") == [
        "Please enter a whole number from 0 to 1,000,000,000."
    ]


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The password must be at least 8 characters long."),
        ("de", "Das Passwort muss mindestens 8 Zeichen lang sein."),
    ],
)
def test_a_short_new_password_gets_our_message(login_as, tenant, create_user, language, message):
    from portal.testing.factories import DEFAULT_PASSWORD

    browser = login_as(user_in(create_user, tenant, "staff", language), tenant)
    response = browser.post(
        "/account/password",
        data={
            "csrf_token": browser.csrf_token("/account/password"),
            "current_password": DEFAULT_PASSWORD,
            "new_password": "short",
            "confirm": "short",
        },
    )
    html = text_of(response)
    assert field_errors(html, "new_password") == [message]
    assert "Field must be between" not in html


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Product code: At most 64 characters are allowed here."),
        ("de", "Artikelnummer: Hier sind höchstens 64 Zeichen erlaubt."),
    ],
)
def test_a_too_long_product_code_on_an_order_line_is_named_once(
    login_as, tenant, orders, create_user, language, message
):
    user = orders["user"] if language == "en" else orders["german"]
    browser = login_as(user, tenant)
    page = order_post(browser, [("X" * 65, 1)])
    assert page.count(message) == 2  # the summary at the top and the row
    assert "Field cannot be longer" not in page


def test_the_lines_of_a_draft_shown_again_keep_rows_names_and_one_summary(
    login_as, tenant, orders, create_order, create_client, create_user
):
    draft = create_order(tenant, orders["client"], [(orders["widget"], 1)], submit=False)
    browser = login_as(orders["user"], tenant)
    path = f"/orders/{draft.id}/lines"
    assert "Widget · 10 available" in line_rows(text_of(browser.get(path)))[0]
    sent = {"WID-1": 2, "NOPE": 1, "X": 1, "Y": 1, "Z": 1}
    data = {"csrf_token": browser.csrf_token(path), "version": draft.version}
    for index, (code, quantity) in enumerate(sent.items()):
        data[f"lines-{index}-code"] = code
        data[f"lines-{index}-quantity"] = str(quantity)
    page = text_of(browser.post(path, data=data))
    rows = line_rows(page)
    assert len(rows) == len(sent)
    assert "Widget · 10 available" in rows[0]
    assert page.count('role="alert"') == 1
    assert page.count("Line 2: there is no product with the code NOPE.") == 2
    # Another client's user does not find the order.
    stranger = login_as(create_user(tenant, "client", client=create_client(tenant)), tenant)
    assert stranger.get(path).status_code == 404
