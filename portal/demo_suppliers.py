"""Demo data for ordering from suppliers: a factory the demo store orders from in the portal
(``supplier@<tenant>.test`` logs in for it), a wholesaler whose changes need the store's
approval, catalogues matched to the store's products, and purchase orders in every state."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.audit.services import Actor, acting_as
from portal.core.clients.models import Client
from portal.core.products.models import Product
from portal.core.purchasing import ordering, responses, services
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.suppliers.models import (
    CatalogueItem,
    CatalogueMatch,
    Supplier,
    SupplierClient,
    SupplierRuleSet,
)
from portal.core.warehouses.services import default_warehouse
from portal.db import db, utcnow
from portal.plugins.host import current_host
from portal.plugins.services import set_plugin_enabled

# The state each demo purchase order is taken to, in order of creation.
# The draft comes last: a later cart would be added to it (an unbooked draft is reused).
STATES = (
    Status.BOOKED,
    Status.SENT,
    Status.TRANSFERRED,
    Status.ACKNOWLEDGED,
    Status.CHANGES_PROPOSED,
    Status.CONFIRMED,
    Status.IN_PRODUCTION,
    Status.PARTIALLY_DISPATCHED,
    Status.DISPATCHED,
    Status.PARTIALLY_RECEIVED,
    Status.RECEIVED,
    Status.REJECTED,
    Status.CANCELLED,
    Status.DRAFT,
)
RULE_SETS = ("required_fields", "address_rules", "lead_time")


def _working_days_ahead(days: int):
    day = utcnow().date()
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def _catalogue(supplier: Supplier, client: Client, products: list[Product], rng) -> list:
    items = []
    for index, product in enumerate(products):
        amount = rng.choice([1, 6, 12, 24])
        item = CatalogueItem(
            supplier_id=supplier.id,
            supplier_code=f"{supplier.name[:3].upper()}-{4000 + index}",
            name=product.name,
            barcode=product.barcode or "",
            price=(product.price or Decimal("10")) * Decimal("0.55"),
            container_amount=amount,
        )
        db.session.add(item)
        db.session.flush()
        if index % 5 != 4:  # a few items stay unmatched, to show matching
            db.session.add(
                CatalogueMatch(
                    catalogue_item_id=item.id, client_id=client.id, product_id=product.id
                )
            )
        items.append(item)
    db.session.flush()
    return items


def _walk(po: PurchaseOrder, target: Status, rng, users: dict) -> None:
    """Take a draft to ``target`` the way the store, the supplier and staff would."""
    with (
        acting_as(Actor(user_id=users["supplier"].id))
        if target.value
        not in (
            "draft",
            "booked",
            "sent",
        )
        else acting_as(Actor(user_id=users["client"].id))
    ):
        _walk_steps(po, target, rng, users)


def _walk_steps(po: PurchaseOrder, target: Status, rng, users: dict) -> None:
    if target in (Status.DRAFT,):
        return
    ordering.book(po)
    if target == Status.BOOKED:
        return
    ordering.send(po)
    if target == Status.SENT:
        return
    ordering.transfer(
        {"purchase_order_id": str(po.id), "revision": po.revision}, ordering.transfer_key(po)
    )
    if target == Status.CANCELLED:
        services.cancel_purchase_order(po)
        return
    if target == Status.TRANSFERRED:
        return
    responses.set_reference(po, f"SO-{rng.randrange(10000, 99999)}", "")
    if target == Status.ACKNOWLEDGED:
        return
    if target == Status.REJECTED:
        responses.reject(po, "This colour is no longer produced; please order the new range.")
        return
    first = po.lines[0]
    later = _working_days_ahead(15)
    answers = {
        first.id: responses.LineAnswer(
            unit_price=(first.unit_price or Decimal("5")) + Decimal("0.40"), delivery_date=later
        )
    }
    responses.confirm(po, answers)
    if target in (Status.CHANGES_PROPOSED, Status.CONFIRMED):
        return
    responses.start_production(po)
    if target == Status.IN_PRODUCTION:
        return
    if target == Status.PARTIALLY_DISPATCHED:
        # The first half of the first line is on its way; the rest is still to come.
        first = po.lines[0]
        responses.dispatch(
            po,
            carrier="DHL",
            tracking_code=f"JJD{rng.randrange(10**9, 10**10)}",
            quantities={first.id: max(first.quantity // 2, 1)},
        )
        return
    responses.dispatch(po, carrier="DHL", tracking_code=f"JJD{rng.randrange(10**9, 10**10)}")
    if target == Status.DISPATCHED:
        return
    with acting_as(Actor(user_id=users["staff"].id)):
        _receive(po, target)


def _receive(po: PurchaseOrder, target: Status) -> None:
    if target == Status.PARTIALLY_RECEIVED:
        services.receive_goods(po, {po.lines[0].id: max(po.lines[0].quantity // 2, 1)})
        return
    services.receive_goods(po, {line.id: line.quantity for line in po.lines})


def seed_supplier_data(slug: str, client: Client, factory: Supplier, users: dict) -> None:
    """Give the tenant's demo store two suppliers to order from, with orders in every state."""
    rng = random.Random(f"{slug}-suppliers")
    warehouse = default_warehouse()
    warehouse.street, warehouse.postcode, warehouse.city = (
        "Waalhaven Oostzijde 12",
        "3087 BM",
        "Rotterdam",
    )
    warehouse.country, warehouse.phone = "NL", "+31 10 555 0100"
    host = current_host()
    for key in RULE_SETS:
        if key in host.rule_sets:
            set_plugin_enabled(host.rule_sets[key][0], True)
    factory.email = f"orders@factory.{slug}.test"
    factory.situations = "Planned\nMaterial ordered\nIn the cutting room\nPacking"
    wholesaler = Supplier(
        name=f"{slug.capitalize()} Wholesale",
        email=f"sales@wholesale.{slug}.test",
        changes_need_approval=True,
    )
    db.session.add(wholesaler)
    db.session.flush()
    for supplier, number in ((factory, "C-1001"), (wholesaler, "WH-88")):
        db.session.add(
            SupplierClient(
                supplier_id=supplier.id,
                client_id=client.id,
                customer_number=number,
                contact_name="Sam Store",
                contact_phone="+31 10 555 0199",
                contact_email=f"purchasing@{slug}.example.com",
                account_manager="Robin Sales",
                payment_terms="30 days net",
            )
        )
    for key in RULE_SETS:
        if key in host.rule_sets:
            db.session.add(SupplierRuleSet(supplier_id=factory.id, rule_set_key=key, settings={}))
    products = list(
        db.session.scalars(
            select(Product).where(Product.client_id == client.id).order_by(Product.code).limit(40)
        )
    )
    catalogues = {
        factory.id: _catalogue(factory, client, products[:25], rng),
        wholesaler.id: _catalogue(wholesaler, client, products[25:], rng),
    }
    db.session.flush()
    with acting_as(Actor(user_id=users["client"].id)):
        for index, target in enumerate(STATES):
            supplier = wholesaler if target == Status.CHANGES_PROPOSED else factory
            items = [i for i in catalogues[supplier.id] if rng.random() < 0.5][:4] or catalogues[
                supplier.id
            ][:2]
            for item in items:
                try:
                    ordering.add_to_cart(client, item, rng.randint(1, 8))
                except ordering.DomainError:
                    continue  # an unmatched item: the store has to match it first
            po = ordering.create_from_cart(client, supplier)
            ordering.update_draft(
                po,
                {
                    "reference": f"STORE-{3100 + index}",
                    "expected_date": _working_days_ahead(10),
                    "contact_phone": "+31 10 555 0199",
                    "contact_email": f"purchasing@{slug}.example.com",
                },
                [],
                expected_version=None,
            )
            _walk(po, target, rng, users)
            db.session.flush()
        # One item waits in the cart, for the visitor to order.
        ordering.add_to_cart(
            client, next(i for i in catalogues[factory.id] if i.supplier_code.endswith("4000")), 2
        )
