"""E-mails about purchase orders to suppliers: each recipient in its own language, only to those
who want them, with the supplier's changes visible, queued once however often they are asked
for, and delivered by the outbox to a real SMTP server."""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

# The trade between a store and a supplier is built as in the supplier portal's tests (pytest
# puts tests/ on the path; tests/web is a package).
from web.test_supplier_portal import load, make_trade, order_from, post

from portal.accounts.models import User
from portal.core.purchasing import ordering, responses
from portal.core.purchasing.models import PurchaseOrder
from portal.core.suppliers.models import Supplier
from portal.db import db, utcnow
from portal.outbox.models import OutboxMessage
from portal.outbox.services import deliver_due
from portal.purchase_notifications import (
    notify_store_of_answer,
    notify_store_of_dispatch,
    notify_supplier_of_cancellation,
    notify_supplier_of_order,
    notify_supplier_of_refused_changes,
)


@pytest.fixture
def trade(app, in_tenant, tenant, create_client, create_user, create_product):
    trade = make_trade(app, in_tenant, tenant, create_client, create_user, create_product)
    with in_tenant(tenant) as session:
        session.get(Supplier, (tenant.id, trade.supplier.id)).email = "orders@factory.test"
        session.commit()
    return trade


@contextmanager
def on_tenant_host(app, tenant):
    """A request on the tenant's host, as a view has it: the tenant, and links to its host."""
    with app.test_request_context("/", base_url=f"http://{tenant.slug}.localhost"):
        app.preprocess_request()
        yield db.session
        db.session.commit()


def delivered(app, mailbox):
    mailbox.clear()
    with app.app_context():
        deliver_due()
    return {message["To"]: message for message in mailbox.messages}


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def html(message) -> str:
    return message.get_body(("html",)).get_content()


def get_po(session, tenant, po_id) -> PurchaseOrder:
    return session.get(PurchaseOrder, (tenant.id, po_id))


def test_a_new_order_goes_to_the_suppliers_users_and_address(
    app, tenant, trade, in_tenant, create_user, mailbox
):
    german = create_user(tenant, "supplier", supplier=trade.supplier, locale="de")
    quiet = create_user(tenant, "supplier", supplier=trade.supplier)
    gone = create_user(tenant, "supplier", supplier=trade.supplier)
    create_user(tenant, "supplier")  # another supplier's user
    with in_tenant(tenant) as session:
        session.get(User, (tenant.id, quiet.id)).email_notifications = False
        session.get(User, (tenant.id, gone.id)).active = False
        session.commit()
    po_id = order_from(app, in_tenant, trade, expected_date=(utcnow() + timedelta(days=5)).date())
    mailbox.clear()
    with on_tenant_host(app, tenant) as session:
        po = get_po(session, tenant, po_id)
        assert notify_supplier_of_order(po) == 3
        assert notify_supplier_of_order(po) == 0  # a repeat queues nothing more
    messages = delivered(app, mailbox)
    assert set(messages) == {trade.supplier_user.email, german.email, "orders@factory.test"}
    number = load(in_tenant, tenant, po_id).number
    english = messages[trade.supplier_user.email]
    assert english["Subject"] == f"New purchase order {number} from Acme Store"
    text = plain(english)
    assert "C-4711" in text  # the store's customer number with the supplier
    assert "BOOT-1 / F-BOOT Boots: 2 \N{MULTIPLICATION SIGN} 6 = 12 units" in text
    assert re.search(rf"http://{tenant.slug}\.localhost/supplier/orders/{po_id}", text)
    assert f'href="http://{tenant.slug}.localhost/supplier/orders/{po_id}"' in html(english)
    assert "Hello Shoe Factory," in plain(messages["orders@factory.test"])
    deutsch = messages[german.email]
    assert '<html lang="de"' in html(deutsch)
    assert "Guten Tag" in plain(deutsch)


def test_a_confirmation_with_changes_tells_the_store_what_changed(
    app, tenant, trade, in_tenant, create_user, login_as, mailbox
):
    german = create_user(tenant, "client", client=trade.client, locale="de")
    quiet = create_user(tenant, "client", client=trade.client)
    with in_tenant(tenant) as session:
        session.get(User, (tenant.id, quiet.id)).email_notifications = False
        session.commit()
    po_id = order_from(app, in_tenant, trade)
    po = load(in_tenant, tenant, po_id)
    boots = po.lines[0]
    browser = login_as(trade.supplier_user, tenant)
    # An acknowledgement is no news worth an e-mail.
    post(browser, f"/supplier/orders/{po_id}/acknowledge", version=po.version)
    assert delivered(app, mailbox) == {}
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=load(in_tenant, tenant, po_id).version,
        **{f"quantity-{boots.id}": "18", f"price-{boots.id}": "13.75"},
    )
    assert response.status_code == 302
    messages = delivered(app, mailbox)
    assert set(messages) == {trade.store_user.email, german.email}
    english = messages[trade.store_user.email]
    assert english["Subject"] == f"Purchase order {po.number} has been confirmed by Shoe Factory"
    text = plain(english)
    # Quantities in whole containers that add up (issue 10, defect 5).
    assert (
        "Line 1 (BOOT-1) Boots: Quantity was 2 \N{MULTIPLICATION SIGN} 6 = 12 units, "
        "now 3 \N{MULTIPLICATION SIGN} 6 = 18 units" in text
    )
    assert "Unit price was €12.50, now €13.75" in text
    assert re.search(rf"http://{tenant.slug}\.localhost/purchase-orders/{po_id}", text)
    body = html(english)
    assert re.search(r"<del[^>]*>2 \N{MULTIPLICATION SIGN} 6 = 12 units</del>", body)
    assert re.search(
        r"<ins[^>]*><mark[^>]*>3 \N{MULTIPLICATION SIGN} 6 = 18 units</mark></ins>", body
    )
    deutsch = messages[german.email]
    assert '<html lang="de"' in html(deutsch)
    assert "Guten Tag" in plain(deutsch)
    assert "13,75" in plain(deutsch)  # amounts as Germans write them


def test_a_proposal_asks_for_the_stores_approval(app, tenant, trade, in_tenant, login_as, mailbox):
    with in_tenant(tenant) as session:
        session.get(Supplier, (tenant.id, trade.supplier.id)).changes_need_approval = True
        session.commit()
    po_id = order_from(app, in_tenant, trade)
    po = load(in_tenant, tenant, po_id)
    socks = po.lines[1]
    later = (utcnow() + timedelta(days=20)).date()
    browser = login_as(trade.supplier_user, tenant)
    response = post(
        browser,
        f"/supplier/orders/{po_id}/confirm",
        version=po.version,
        **{f"date-{socks.id}": later.isoformat()},
    )
    assert response.status_code == 302
    [message] = delivered(app, mailbox).values()
    assert "your approval is needed" in message["Subject"]
    text = plain(message)
    assert "Line 2 (SOCK-1) Socks: Delivery date now" in text
    assert "Your approval is needed" in text
    assert re.search(rf"/purchase-orders/{po_id}", text)
    # The store refuses: the supplier is told why.
    with on_tenant_host(app, tenant) as session:
        po = get_po(session, tenant, po_id)
        ordering.refuse_changes(po, "The season starts earlier.")
        assert notify_supplier_of_refused_changes(po) == 2
    messages = delivered(app, mailbox)
    refused = messages[trade.supplier_user.email]
    assert refused["Subject"].strip() == (
        f"Acme Store did not accept your changes to purchase order {po.number}"
    )
    assert "The season starts earlier." in plain(refused)
    assert "The season starts earlier." in html(refused)


def test_a_rejection_gives_the_store_the_reason(app, tenant, trade, in_tenant, login_as, mailbox):
    po_id = order_from(app, in_tenant, trade)
    browser = login_as(trade.supplier_user, tenant)
    post(
        browser,
        f"/supplier/orders/{po_id}/reject",
        version=load(in_tenant, tenant, po_id).version,
        reason="Out of leather <until May>",
    )
    [message] = delivered(app, mailbox).values()
    assert "has been rejected by Shoe Factory" in message["Subject"]
    assert "Out of leather <until May>" in plain(message)
    assert "Out of leather &lt;until May&gt;" in html(message)
    with on_tenant_host(app, tenant) as session:
        assert notify_store_of_answer(get_po(session, tenant, po_id)) == 0  # queued already


def test_a_dispatch_tells_the_store_carrier_tracking_and_lines(
    app, tenant, trade, in_tenant, login_as, mailbox
):
    po_id = order_from(app, in_tenant, trade)
    with in_tenant(tenant) as session:
        responses.confirm(get_po(session, tenant, po_id))
        session.commit()
    po = load(in_tenant, tenant, po_id)
    boots, socks = po.lines
    expected = (utcnow() + timedelta(days=4)).date()
    browser = login_as(trade.supplier_user, tenant)
    response = post(
        browser,
        f"/supplier/orders/{po_id}/dispatch",
        version=po.version,
        carrier="UPS",
        tracking_code="1Z999",
        expected_date=expected.isoformat(),
        **{f"line-{boots.id}": "6", f"line-{socks.id}": ""},
    )
    assert response.status_code == 302
    [message] = delivered(app, mailbox).values()
    # Part of the order: the store is told what is still to be dispatched.
    assert message["Subject"] == f"Part of purchase order {po.number} is on its way"
    text = plain(message)
    assert "UPS" in text
    assert "1Z999" in text
    lines, rest = text.split("Still to be dispatched:")
    assert "BOOT-1 Boots: 6 units" in lines
    assert "SOCK-1" not in lines  # not in this dispatch
    assert "BOOT-1 Boots: 1 \N{MULTIPLICATION SIGN} 6 = 6 units" in rest
    assert "SOCK-1 Socks: 1 \N{MULTIPLICATION SIGN} 10 = 10 units" in rest
    assert "Still to be dispatched:" in html(message)
    assert "https://www.ups.com/track?tracknum=1Z999" in html(message)
    with in_tenant(tenant) as session:
        keys = session.scalars(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.like("po-dispatched:%")
            )
        ).all()
    assert len(keys) == 1
    assert keys[0].startswith(f"po-dispatched:{po_id}:")
    assert keys[0].endswith(f":{trade.store_user.id}")


def test_a_cancellation_is_told_to_the_supplier(app, tenant, trade, in_tenant, mailbox):
    from portal.core.purchasing.services import cancel_purchase_order

    po_id = order_from(app, in_tenant, trade)
    with on_tenant_host(app, tenant) as session:
        po = get_po(session, tenant, po_id)
        cancel_purchase_order(po)
        assert notify_supplier_of_cancellation(po) == 2
    messages = delivered(app, mailbox)
    message = messages["orders@factory.test"]
    assert message["Subject"] == f"Purchase order {po.number} has been cancelled"
    assert "Acme Store has cancelled purchase order" in plain(message)


def test_nothing_is_sent_when_the_change_is_rolled_back(app, tenant, trade, in_tenant, mailbox):
    po_id = order_from(app, in_tenant, trade)
    mailbox.clear()
    with app.test_request_context("/", base_url=f"http://{tenant.slug}.localhost"):
        app.preprocess_request()
        po = get_po(db.session, tenant, po_id)
        notify_supplier_of_order(po)
        db.session.rollback()
    assert delivered(app, mailbox) == {}


def test_dispatch_notices_of_one_order_are_told_each(app, tenant, trade, in_tenant, mailbox):
    po_id = order_from(app, in_tenant, trade)
    with on_tenant_host(app, tenant) as session:
        po = get_po(session, tenant, po_id)
        responses.confirm(po)
        first = responses.dispatch(po, quantities={po.lines[0].id: 6})
        second = responses.dispatch(po, quantities={po.lines[0].id: 6})
        assert notify_store_of_dispatch(po, first) == 1
        assert notify_store_of_dispatch(po, second) == 1
        assert notify_store_of_dispatch(po, first) == 0
    delivered(app, mailbox)
    assert [m["To"] for m in mailbox.messages] == [trade.store_user.email] * 2
