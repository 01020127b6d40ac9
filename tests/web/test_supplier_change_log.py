"""The supplier's change log and a purchase order's history speak the viewer's language:
no action code or field name shows, in English or in German."""

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.audit.presenting import ACTION_LABELS, field_label
from portal.audit.services import Actor, acting_as
from portal.core.purchasing import responses
from portal.core.purchasing.models import PurchaseOrder
from portal.core.suppliers.models import SupplierClient
from portal.core.suppliers.services import update_registration

from .test_supplier_portal import make_trade, order_from

RAW = re.compile(
    r"\b(supplier\.registration_changed|account_phone|account_manager|payment_terms|"
    r"supplier_order_number|supplier_situation|purchase_order\.supplier_reference)\b"
)


@pytest.fixture
def tenant(create_tenant):
    return create_tenant(enabled_locales=["en", "de"])


@pytest.fixture
def trade(app, in_tenant, tenant, create_client, create_user, create_product):
    return make_trade(app, in_tenant, tenant, create_client, create_user, create_product)


def in_words(app, text, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(text() if callable(text) else text)


def history_of(page: str) -> str:
    """The page's history table (the last table on these pages)."""
    return page.rsplit("<table", 1)[1]


@pytest.mark.parametrize("locale", ["de", "en"])
def test_the_suppliers_change_log_names_the_registration_fields(
    app, in_tenant, trade, create_user, login_as, locale
):
    with in_tenant(trade.tenant) as session:
        link = session.scalar(
            select(SupplierClient).where(SupplierClient.supplier_id == trade.supplier.id)
        )
        with acting_as(Actor(user_id=trade.supplier_user.id)):
            update_registration(
                link,
                {
                    "account_manager": "Maria Maker",
                    "account_phone": "+49 30 1234567",
                    "payment_terms": "30 Tage netto",
                },
            )
        session.commit()
    staff = login_as(create_user(trade.tenant, "staff", locale=locale), trade.tenant)
    page = staff.get(f"/suppliers/{trade.supplier.id}").get_data(as_text=True)
    assert f'<html lang="{locale}"' in page
    log = history_of(page)
    assert not RAW.search(log), RAW.search(log)
    assert in_words(app, ACTION_LABELS["supplier.registration_changed"], locale) in log
    for key in ("account_manager", "account_phone", "payment_terms"):
        assert in_words(app, lambda key=key: field_label(key), locale) in log
    assert "Maria Maker" in log
    assert "30 Tage netto" in log


def test_the_supplier_sees_its_order_number_change_in_german(
    app, in_tenant, trade, create_user, login_as
):
    po_id = order_from(app, in_tenant, trade)
    with in_tenant(trade.tenant) as session:
        po = session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == po_id))
        responses.set_reference(po, "SO-77", "Planned")
        session.commit()
    german = create_user(trade.tenant, "supplier", supplier=trade.supplier, locale="de")
    page = login_as(german, trade.tenant).get(f"/supplier/orders/{po_id}").get_data(as_text=True)
    log = history_of(page)
    assert not RAW.search(log), RAW.search(log)
    assert in_words(app, lambda: field_label("supplier_order_number"), "de") in log
    assert in_words(app, lambda: field_label("supplier_situation"), "de") in log
    assert "SO-77" in log
    assert "Planned" in log


def test_the_stores_purchase_order_history_names_the_fields(
    app, in_tenant, trade, create_user, login_as
):
    po_id = order_from(app, in_tenant, trade)
    with in_tenant(trade.tenant) as session:
        po = session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == po_id))
        responses.set_reference(po, "SO-78", "")
        session.commit()
    store = create_user(trade.tenant, "client", client=trade.client, locale="de")
    page = login_as(store, trade.tenant).get(f"/purchase-orders/{po_id}").get_data(as_text=True)
    log = history_of(page)
    assert not RAW.search(log), RAW.search(log)
    assert "SO-78" in log
    assert in_words(app, lambda: field_label("supplier_order_number"), "de") in log
