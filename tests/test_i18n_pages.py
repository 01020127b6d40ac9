"""Every shipped language renders the main pages with no English left in them."""

import html
import re

import pytest
from babel.messages.pofile import read_po

from portal import PROJECT_ROOT
from portal.i18n import shipped_locales

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
        assert f'<html lang="{locale}"' in page
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
