"""Realistic demo data for one tenant: products, stock, orders in every status, shipments,
backorders, purchase orders, returns and an address book. Deterministic per tenant."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from portal.audit.services import Actor, acting_as
from portal.core.addresses.services import create_address
from portal.core.clients.models import Client
from portal.core.orders import services as orders
from portal.core.orders.services import LineInput
from portal.core.products.services import create_product
from portal.core.purchasing import services as purchasing
from portal.core.returns import services as returns
from portal.core.returns.models import Disposition
from portal.core.returns.services import ReturnLineInput
from portal.core.stock.models import MovementReason
from portal.core.stock.services import record_movement
from portal.core.warehouses.services import default_warehouse
from portal.db import db, utcnow

CATALOGUES = {
    "acme": (
        "ACM",
        [
            "T-shirt",
            "Hoodie",
            "Cap",
            "Socks",
            "Tote bag",
            "Water bottle",
            "Notebook",
            "Mug",
            "Phone case",
            "Backpack",
            "Scarf",
            "Beanie",
            "Sticker set",
            "Poster",
            "Lanyard",
        ],
        ["black", "white", "navy", "red", "olive", "sand", "grey", "teal"],
        ["S", "M", "L", "XL", "one size"],
    ),
    "nordic": (
        "NRD",
        [
            "Oak chair",
            "Pine table",
            "Birch shelf",
            "Wool rug",
            "Linen cushion",
            "Floor lamp",
            "Side table",
            "Bench",
            "Wardrobe",
            "Bed frame",
            "Desk",
            "Bookcase",
            "Stool",
            "Mirror",
        ],
        ["natural", "white", "black", "smoked", "walnut", "grey"],
        ["small", "medium", "large"],
    ),
}
PLACES = [
    ("Eva Jansen", "Prinsengracht 263", "1016 GV", "Amsterdam", "", "NL", "+31 20 555 0101"),
    ("Lukas Weber", "Torstraße 12", "10119", "Berlin", "", "DE", "+49 30 555 0102"),
    ("Marie Dubois", "12 rue de Rivoli", "75004", "Paris", "", "FR", "+33 1 55 50 01 03"),
    ("Tom Peeters", "Meir 50", "2000", "Antwerpen", "", "BE", "+32 3 555 01 04"),
    ("Olivia Smith", "221B Baker Street", "NW1 6XE", "London", "", "GB", "+44 20 7946 0105"),
    ("Ethan Brown", "350 Fifth Avenue", "10118", "New York", "NY", "US", "+1 212 555 0106"),
    (
        "Ana Souza",
        "Avenida Paulista 1000",
        "01310-100",
        "São Paulo",
        "SP",
        "BR",
        "+55 11 5550 0107",
    ),
    ("Sofia Rossi", "Via Roma 1", "00184", "Roma", "RM", "IT", "+39 06 5550 0108"),
]
CARRIERS = ["DHL", "UPS", "DPD", "GLS", "PostNL"]


def gtin13(body: str) -> str:
    """Return ``body`` (12 digits) with its GTIN check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _address(place) -> dict:
    name, street, postcode, city, state, country, phone = place
    return {
        "name": name,
        "street": street,
        "postcode": postcode,
        "city": city,
        "state": state,
        "country": country,
        "phone": phone,
        "email": name.split()[0].lower() + "@example.com",
    }


def seed_tenant_data(slug: str, client: Client, staff_id, client_user_id) -> None:
    """Fill one tenant's demo client with a living history."""
    rng = random.Random(slug)
    prefix, articles, colours, sizes = CATALOGUES[slug]
    warehouse = default_warehouse()
    client.product_management = True
    with acting_as(Actor(user_id=staff_id)):
        products = []
        for number in range(1, 241):
            article = articles[number % len(articles)]
            name = f"{article}, {rng.choice(colours)}, {rng.choice(sizes)}"
            product = create_product(
                client.id,
                f"{prefix}-{10000 + number}",
                name,
                barcode=gtin13(f"87{rng.randrange(10**9, 10**10):010d}"),
                price=Decimal(rng.randrange(299, 24999)) / 100,
                low_stock_threshold=rng.choice([0, 5, 10, 20]),
            )
            products.append(product)
            if number % 9:  # every ninth product starts out of stock: backorders follow
                record_movement(
                    product,
                    warehouse.id,
                    rng.randrange(5, 400),
                    MovementReason.INITIAL,
                    reference="Opening stock",
                )
        db.session.flush()
    with acting_as(Actor(user_id=client_user_id)):
        for place in PLACES:
            create_address(client.id, _address(place), label=place[3])
        placed = []
        for number in range(120):
            lines = rng.sample(products, rng.randint(1, 4))
            order = orders.create_order(
                client,
                [LineInput(p.id, rng.randint(1, 6)) for p in lines],
                _address(rng.choice(PLACES)),
                reference=f"WEB-{50000 + number}",
                submit=number % 15 != 0,  # a few drafts
            )
            placed.append(order)
    with acting_as(Actor(user_id=staff_id)):
        for number, order in enumerate(placed):
            stage = number % 10
            if order.status.value == "draft":
                continue
            if stage in (0, 1):
                continue  # processing or backorder, as allocation left it
            if stage == 2 and order.status.value in ("processing", "backorder"):
                orders.cancel_order(order)
                continue
            if not any(line.allocated for line in order.lines):
                continue
            orders.pick_order(order)
            if stage == 3:
                continue  # being picked
            orders.ship_order(order, rng.choice(CARRIERS), f"{rng.randrange(10**11, 10**12)}")
            if stage >= 7 and order.status.value == "shipped":
                orders.complete_order(order)
        for number in range(12):
            lines = rng.sample(products, rng.randint(1, 5))
            po = purchasing.create_purchase_order(
                client,
                [LineInput(p.id, rng.randint(10, 120)) for p in lines],
                expected_date=(utcnow() + timedelta(days=rng.randint(1, 30))).date(),
                supplier_name=rng.choice(["Textile Works Ltd", "Nordwood AB", "Porto Ceramics"]),
                reference=f"ASN-{7000 + number}",
            )
            if number % 4 == 1:
                purchasing.receive_goods(po, {po.lines[0].id: max(po.lines[0].quantity // 2, 1)})
            elif number % 4 == 2:
                purchasing.receive_goods(po, {line.id: line.quantity for line in po.lines})
            elif number % 4 == 3 and number > 8:
                purchasing.cancel_purchase_order(po)
        shipped = [o for o in placed if o.shipments]
        for number, order in enumerate(shipped[:8]):
            line = order.lines[0]
            replacement = rng.choice(products)
            ret = returns.register_return(
                client,
                [
                    ReturnLineInput(
                        line.product_id,
                        1,
                        replacement.id if number % 2 else None,
                        1 if number % 2 else 0,
                    )
                ],
                order=order,
                reason=rng.choice(["Wrong size", "Damaged in transit", "Changed mind"]),
            )
            if number % 4 >= 1:
                returns.receive_return(ret, "Parcel arrived")
            if number % 4 >= 2:
                returns.process_return(
                    ret,
                    {
                        line.id: Disposition.RESTOCK if number % 3 else Disposition.SCRAP
                        for line in ret.lines
                    },
                )
            if number % 4 == 0 and number:
                returns.cancel_return(ret, "Customer kept the goods")
    db.session.flush()
