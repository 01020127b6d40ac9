"""Who receives which events: a supplier only its released purchase orders, a client only its
own objects, a tenant never another tenant's; deliveries are written in the transaction of
the change, so a rolled-back change sends nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from web.test_supplier_portal import make_trade, order_from

from portal.core.clients.models import Client
from portal.core.orders.services import LineInput, cancel_order, create_order
from portal.core.products.services import create_product
from portal.outbox.models import OutboxMessage
from portal.testing.factories import DEFAULT_ADDRESS
from portal.webhooks import services
from portal.webhooks.models import OwnerKind, WebhookDelivery

PO_EVENTS = ["purchase_order.created", "purchase_order.sent", "purchase_order.cancelled"]
ALL_EVENTS = [
    *PO_EVENTS,
    "order.created",
    "order.status_changed",
    "order.cancelled",
    "product.created",
    "product.stock_changed",
    "backorder.created",
]


def add(in_tenant, tenant, owner, events, url="http://127.0.0.1:9/hook"):
    with in_tenant(tenant) as session:
        endpoint, _secret = services.create_endpoint(owner, url, events)
        session.commit()
        return endpoint.id


def received(in_tenant, tenant, endpoint_id) -> list[str]:
    with in_tenant(tenant) as session:
        return sorted(
            session.scalars(
                select(WebhookDelivery.event_type).where(WebhookDelivery.endpoint_id == endpoint_id)
            )
        )


def test_each_owner_receives_only_what_it_may_see(
    app,
    in_tenant,
    tenant,
    other_tenant,
    create_client,
    create_user,
    create_product,
    allow_private,
):
    mine = make_trade(app, in_tenant, tenant, create_client, create_user, create_product)
    theirs = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Factory",
    )
    elsewhere = make_trade(app, in_tenant, other_tenant, create_client, create_user, create_product)
    supplier = add(
        in_tenant,
        tenant,
        services.Owner(OwnerKind.SUPPLIER, supplier_id=mine.supplier.id),
        PO_EVENTS,
    )
    other_supplier = add(
        in_tenant,
        tenant,
        services.Owner(OwnerKind.SUPPLIER, supplier_id=theirs.supplier.id),
        PO_EVENTS,
    )
    client = add(
        in_tenant, tenant, services.Owner(OwnerKind.CLIENT, client_id=mine.client.id), ALL_EVENTS
    )
    other_client = add(
        in_tenant, tenant, services.Owner(OwnerKind.CLIENT, client_id=theirs.client.id), ALL_EVENTS
    )
    whole_tenant = add(in_tenant, tenant, services.Owner(OwnerKind.TENANT), ALL_EVENTS)
    other_tenants = add(in_tenant, other_tenant, services.Owner(OwnerKind.TENANT), ALL_EVENTS)

    order_from(app, in_tenant, mine)  # created (a draft), then sent to my supplier
    order_from(app, in_tenant, mine, send=False)  # a draft: never the supplier's business

    # Created and sent in one transaction: released to the supplier when it commits.
    assert received(in_tenant, tenant, supplier) == [
        "purchase_order.created",
        "purchase_order.sent",
    ]
    assert received(in_tenant, tenant, other_supplier) == []
    assert received(in_tenant, tenant, client) == [
        "purchase_order.created",
        "purchase_order.created",
        "purchase_order.sent",
    ]
    assert received(in_tenant, tenant, other_client) == []
    assert received(in_tenant, tenant, whole_tenant) == received(in_tenant, tenant, client)
    assert received(in_tenant, other_tenant, other_tenants) == []

    order_from(app, in_tenant, elsewhere)
    assert received(in_tenant, other_tenant, other_tenants) == [
        "purchase_order.created",
        "purchase_order.sent",
    ]
    assert len(received(in_tenant, tenant, whole_tenant)) == 3


def test_order_and_product_events_reach_the_clients_endpoint(
    app, in_tenant, tenant, create_client, allow_private
):
    shop = create_client(tenant, name="Webshop")
    other = create_client(tenant, name="Other shop")
    endpoint = add(
        in_tenant, tenant, services.Owner(OwnerKind.CLIENT, client_id=shop.id), ALL_EVENTS
    )
    with in_tenant(tenant) as session:
        product = create_product(shop.id, "CUP-1", "Cup", price="2.50")
        create_product(other.id, "CUP-1", "Cup", price="2.50")
        client = session.get(Client, (tenant.id, shop.id))
        order = create_order(client, [LineInput(product.id, 2)], DEFAULT_ADDRESS, submit=True)
        cancel_order(order)
        session.commit()
    assert received(in_tenant, tenant, endpoint) == [
        "backorder.created",
        "order.cancelled",
        "order.created",
        # Submitted and backordered in one transaction: one event, with the state at commit.
        "order.status_changed",
        "product.created",
    ]


def test_a_rolled_back_change_sends_nothing(in_tenant, tenant, create_client, allow_private):
    shop = create_client(tenant, name="Webshop")
    endpoint = add(in_tenant, tenant, services.Owner(OwnerKind.TENANT), ["product.created"])
    with in_tenant(tenant) as session:
        rows_before = session.scalar(select(func.count()).select_from(OutboxMessage))
        create_product(shop.id, "MUG-1", "Mug", price="3.00")
        session.flush()
        session.rollback()
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == rows_before
    assert received(in_tenant, tenant, endpoint) == []
    with in_tenant(tenant) as session:
        create_product(shop.id, "MUG-1", "Mug", price="3.00")
        session.commit()
        # The delivery and its outbox row came with the product, in the same commit.
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == rows_before + 1
    assert received(in_tenant, tenant, endpoint) == ["product.created"]
