"""Shipment e-mails go, in each person's language, only to client users who want them."""

import re

from sqlalchemy import select

from portal.accounts.models import User
from portal.core.orders.models import Order
from portal.outbox.services import deliver_due


def _post(browser, path, **data):
    return browser.post(path, data={"csrf_token": browser.csrf_token("/account"), **data})


def test_shipping_notifies_the_client_users_who_asked_for_it(
    app,
    tenant,
    create_client,
    create_user,
    create_product,
    create_order,
    login_as,
    in_tenant,
    mailbox,
):
    client = create_client(tenant)
    wants = create_user(tenant, "client", client=client, locale="de")
    declines = create_user(tenant, "client", client=client)
    create_user(tenant, "client")  # another client's user: never told about this order
    with in_tenant(tenant) as session:
        session.scalar(select(User).where(User.id == declines.id)).email_notifications = False
        session.commit()
    product = create_product(tenant, client, stock=5)
    order = create_order(tenant, client, [(product, 2)])
    staff = login_as(create_user(tenant, "staff"), tenant)
    with in_tenant(tenant) as session:
        version = session.scalar(select(Order.version).where(Order.id == order.id))
    assert _post(staff, f"/orders/{order.id}/pick", version=version).status_code == 302
    with in_tenant(tenant) as session:
        version = session.scalar(select(Order.version).where(Order.id == order.id))
    response = _post(
        staff, f"/orders/{order.id}/ship", version=version, carrier="DHL", tracking_code="JD0042"
    )
    assert response.status_code == 302
    with app.app_context():
        assert deliver_due() == 1
    [message] = mailbox.messages
    assert message["To"] == wants.email
    assert order.number in message["Subject"]
    assert "versendet" in message["Subject"]  # in the recipient's language
    text = message.get_body(("plain",)).get_content()
    assert "JD0042" in text
    assert re.search(rf"http://{tenant.slug}\.localhost/orders/{order.id}", text)
    assert message.get_body(("html",)) is not None


def test_the_choice_is_made_in_the_account_settings(tenant, create_user, login_as, in_tenant):
    user = create_user(tenant, "client")
    browser = login_as(user, tenant)
    page = browser.get("/account").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="email_notifications"', page), page
    response = _post(browser, "/account", name="Quiet", email=user.email, locale="")
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        saved = session.scalar(select(User).where(User.id == user.id))
        assert saved.email_notifications is False
        assert saved.name == "Quiet"
