"""Every shipped language renders the main pages with no English left in them."""

import html
import re

import pytest
from babel.messages.pofile import read_po

from portal import PROJECT_ROOT
from portal.i18n import html_lang, shipped_locales

# Partial catalogs (with a PARTIAL file) may show English for what they lack.
LOCALES = [
    code
    for code in shipped_locales()
    if code != "en" and not (PROJECT_ROOT / "translations" / code / "PARTIAL").is_file()
]
PAGES = ["/dashboard", "/orders/", "/products/", "/account"]
TAG = re.compile(r"<[^>]+>")


def english_strings_translated_differently(locale: str) -> set[str]:
    path = PROJECT_ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    return {
        message.id
        for message in catalog
        if isinstance(message.id, str)
        and message.id
        and "%(" not in message.id
        and message.string
        and message.string != message.id
        and len(message.id) > 3
    }


def text_nodes(page: str) -> set[str]:
    body = page.split("<body", 1)[1]
    body = re.sub(r"<script.*?</script>", "", body, flags=re.S)
    return {html.unescape(part).strip() for part in TAG.split(body)} - {""}


@pytest.mark.parametrize("locale", LOCALES)
def test_pages_have_no_english_left(locale, create_tenant, create_user, login_as):
    tenant = create_tenant(enabled_locales=list(shipped_locales()))
    user = create_user(tenant, "client", locale=locale)
    browser = login_as(user, tenant)
    english = english_strings_translated_differently(locale)
    for path in PAGES:
        page = browser.get(path).get_data(as_text=True)
        assert f'<html lang="{html_lang(locale)}"' in page
        left = sorted(text_nodes(page) & english)
        assert left == [], f"{path} in {locale} still shows: {left}"


@pytest.mark.parametrize("locale", LOCALES)
def test_ordering_pages_have_no_english_left(
    locale, tenant, create_user, login_as, in_tenant, supplier_world
):
    """The store's cart and order data, and the supplier's portal, in every language."""
    from portal.core.suppliers.models import Supplier
    from portal.testing.suppliers import draft, sent

    world = supplier_world
    with in_tenant(tenant) as session:
        tenant_row = session.merge(tenant)
        tenant_row.enabled_locales = list(shipped_locales())
        session.commit()
    released = sent(in_tenant, world)
    po_id = draft(in_tenant, world)  # after sending: a draft would be reused
    with in_tenant(tenant) as session:
        supplier = session.get(Supplier, (tenant.id, world.supplier_id))
    english = english_strings_translated_differently(locale)
    store = login_as(create_user(tenant, "client", client=world.client, locale=locale), tenant)
    maker = login_as(create_user(tenant, "supplier", supplier=supplier, locale=locale), tenant)
    for browser, path in (
        (store, "/purchase-orders/cart"),
        (store, f"/purchase-orders/{po_id}/order-data"),
        (store, f"/purchase-orders/{released}"),
        (maker, "/supplier/orders"),
        (maker, f"/supplier/orders/{released}"),
        (maker, f"/supplier/orders/{released}/confirm"),
        (maker, "/supplier/stores"),
        (maker, "/supplier/mandatory-data"),
    ):
        response = browser.get(path)
        assert response.status_code == 200, path
        left = sorted(text_nodes(response.get_data(as_text=True)) & english)
        assert left == [], f"{path} in {locale} still shows: {left}"


@pytest.mark.parametrize("locale", LOCALES)
def test_admin_pages_have_no_english_left(locale, create_tenant, create_user, login_as):
    """Theme names and descriptions, plugin labels, descriptions and their buttons."""
    tenant = create_tenant(enabled_locales=list(shipped_locales()))
    admin = login_as(create_user(tenant, "admin", locale=locale), tenant)
    english = english_strings_translated_differently(locale)
    for path in ("/admin/branding", "/admin/plugins/"):
        response = admin.get(path)
        assert response.status_code == 200, path
        nodes = text_nodes(response.get_data(as_text=True))
        left = sorted(nodes & english)
        assert left == [], f"{path} in {locale} still shows: {left}"
        # Buttons name a plugin by its label, never by its code ("address_rules deaktivieren").
        buttons = re.findall(r"<button[^>]*>(.*?)</button>", response.get_data(as_text=True))
        codes = [text for text in buttons if re.search(r"\b[a-z]+_[a-z_]+\b", text)]
        assert codes == [], f"{path} in {locale} has buttons with codes: {codes}"


def test_a_plugin_is_named_by_its_translated_label(create_tenant, create_user, login_as):
    tenant = create_tenant(enabled_locales=["en", "de"])
    admin = login_as(create_user(tenant, "admin", locale="de"), tenant)
    page = admin.get("/admin/plugins/").get_data(as_text=True)
    assert "<code>address_rules</code>" in page  # the code is still there, as a code
    assert "address_rules deaktivieren" not in page
    assert "address_rules aktivieren" not in page
    assert "Delivery address rules per country" not in page  # the module's docstring


def test_labels_follow_the_language_of_each_request(
    app, tenant, in_tenant, create_user, login_as, supplier_world
):
    """A label evaluated when a template is compiled would keep the first request's language:
    the purchase order's history showed "Entwurf" in every language."""
    from portal.testing.suppliers import sent

    released = sent(in_tenant, supplier_world)
    with in_tenant(tenant) as session:
        session.merge(tenant).enabled_locales = ["en", "de"]
        session.commit()
    app.jinja_env.cache.clear()  # compiled afresh, by the first of the requests below
    store = login_as(create_user(tenant, "client", client=supplier_world.client), tenant)
    expected = {"en": ("Draft", "Created"), "de": ("Entwurf", "Angelegt")}
    for locale in ("en", "de", "en", "de"):
        page = store.get(
            f"/purchase-orders/{released}", headers={"Accept-Language": locale}
        ).get_data(as_text=True)
        cells = text_nodes(page)
        wanted, other = expected[locale], expected["de" if locale == "en" else "en"]
        assert set(wanted) <= cells, (locale, sorted(cells & {*wanted, *other}))
        assert not (set(other) & cells), (locale, sorted(cells & set(other)))


def test_compiled_templates_run_filters_at_render_time(app):
    """No filter on a literal is folded into the compiled template (any of them translates)."""
    with app.app_context():
        source = app.jinja_env.compile(
            "{{ 'draft'|upper }}{% if 'x'|length %}y{% endif %}", raw=True
        )
    assert "'DRAFT'" not in source
    assert "filters" in source or "t_1" in source
