"""Create tenants, users and companies for tests, with sensible defaults.

Each function works in the current application context and flushes; callers (usually the
fixtures in :mod:`portal.testing.fixtures`) decide when to commit.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from portal.accounts.models import Role, User
from portal.accounts.services import create_user as create_user_service
from portal.core.clients.models import Client
from portal.core.suppliers.models import Supplier
from portal.db import db
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.tenants.services import create_tenant as create_tenant_service

DEFAULT_PASSWORD = "correct horse battery staple"
_sequence = itertools.count(1)


def unique_slug(prefix: str = "t") -> str:
    return f"{prefix}{next(_sequence)}-{uuid.uuid4().hex[:6]}"


def make_tenant(slug: str | None = None, name: str | None = None, **overrides: Any) -> Tenant:
    """Create a tenant; its slug is unique unless given."""
    slug = slug or unique_slug()
    return create_tenant_service(slug, name or f"Tenant {slug}", **overrides)


def make_client(tenant: Tenant, name: str | None = None, **overrides: Any) -> Client:
    with tenant_context(tenant):
        client = Client(name=name or f"Client {next(_sequence)}", **overrides)
        db.session.add(client)
        db.session.flush()
        return client


def make_supplier(tenant: Tenant, name: str | None = None) -> Supplier:
    with tenant_context(tenant):
        supplier = Supplier(name=name or f"Supplier {next(_sequence)}")
        db.session.add(supplier)
        db.session.flush()
        return supplier


def make_supplier_link(tenant: Tenant, supplier_id, client_id, customer_number: str = ""):
    """Make ``client`` a customer of the supplier, known there as ``customer_number``."""
    from portal.core.suppliers.models import SupplierClient

    with tenant_context(tenant):
        link = SupplierClient(
            supplier_id=supplier_id, client_id=client_id, customer_number=customer_number
        )
        db.session.add(link)
        db.session.flush()
        return link


def make_matched_item(tenant: Tenant, supplier_id, product, **overrides: Any):
    """Create an item of the supplier's catalogue matched to ``product`` of its client."""
    from decimal import Decimal

    from portal.core.suppliers.models import CatalogueItem, CatalogueMatch

    with tenant_context(tenant):
        item = CatalogueItem(
            supplier_id=supplier_id,
            supplier_code=overrides.pop("supplier_code", f"S-{next(_sequence):05d}"),
            name=overrides.pop("name", product.name),
            price=overrides.pop("price", Decimal("1.00")),
            container_amount=overrides.pop("container_amount", 1),
            **overrides,
        )
        db.session.add(item)
        db.session.flush()
        db.session.add(
            CatalogueMatch(
                catalogue_item_id=item.id, client_id=product.client_id, product_id=product.id
            )
        )
        db.session.flush()
        return item


def make_user(
    tenant: Tenant,
    role: Role | str = Role.STAFF,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    **overrides: Any,
) -> User:
    """Create a user of ``tenant``; client and supplier users get a company of their own."""
    role = Role(role)
    email = email or f"{role.value}{next(_sequence)}@{tenant.slug}.test"
    if role == Role.CLIENT and "client" not in overrides:
        overrides["client"] = make_client(tenant)
    if role == Role.SUPPLIER and "supplier" not in overrides:
        overrides["supplier"] = make_supplier(tenant)
    with tenant_context(tenant):
        user = create_user_service(email, password, role, **overrides)
        db.session.flush()
        return user


DEFAULT_ADDRESS = {
    "name": "Jane Receiver",
    "company": "Receiver Ltd",
    "street": "Main Street 1",
    "postcode": "1011 AB",
    "city": "Amsterdam",
    "country": "NL",
    "phone": "+31 20 123 4567",
    "email": "jane@example.com",
}


def address_values(**overrides: Any) -> dict[str, Any]:
    """Return :data:`DEFAULT_ADDRESS` with ``overrides``; valid in the country it names.

    An address in another country without its own postcode (or state, where the country
    needs one) gets an example of that country's, so that ``country="FR"`` alone passes
    the address check.
    """
    from portal.core.addresses.validation import postcode_example, required_parts, state_choices

    values = {**DEFAULT_ADDRESS, **overrides}
    country = str(getattr(values["country"], "code", values["country"]) or "").upper()
    if country and country != DEFAULT_ADDRESS["country"]:
        if "postcode" not in overrides:
            values["postcode"] = postcode_example(country)
        if "state" not in overrides and "state" in required_parts(country):
            values["state"] = next(iter(state_choices(country)), ("", ""))[0]
    return values


def make_product(tenant: Tenant, client: Client, **overrides: Any):
    """Create a product of ``client``; ``stock=N`` puts N units in the default warehouse."""
    from portal.core.products.services import create_product
    from portal.core.stock.models import MovementReason
    from portal.core.stock.services import record_movement
    from portal.core.warehouses.services import default_warehouse

    stock = overrides.pop("stock", 0)
    with tenant_context(tenant):
        product = create_product(
            client.id,
            overrides.pop("code", f"SKU-{next(_sequence):05d}"),
            overrides.pop("name", "Test product"),
            **overrides,
        )
        if stock:
            record_movement(product, default_warehouse().id, stock, MovementReason.INITIAL)
        db.session.flush()
        return product


def make_order(tenant: Tenant, client: Client, lines, *, submit: bool = True, **overrides: Any):
    """Create an order with ``lines`` = [(product, quantity), ...]."""
    from portal.core.orders.services import LineInput, create_order

    with tenant_context(tenant):
        order = create_order(
            client,
            [LineInput(product.id, quantity) for product, quantity in lines],
            overrides.pop("address", None) or address_values(),
            submit=submit,
            **overrides,
        )
        db.session.flush()
        return order


def make_shipment(tenant: Tenant, client: Client, lines, **overrides: Any):
    """Create an order with ``lines``, pick it and ship it; return the shipment."""
    from portal.core.orders.services import pick_order, ship_order

    carrier = overrides.pop("carrier", "DHL")
    tracking_code = overrides.pop("tracking_code", f"TRACK{next(_sequence):08d}")
    order = make_order(tenant, client, lines, **overrides)
    with tenant_context(tenant):
        pick_order(order)
        shipment = ship_order(order, carrier, tracking_code)
        db.session.flush()
        return shipment


def make_address(tenant: Tenant, client: Client, **overrides: Any):
    """Create an entry of ``client``'s address book."""
    from portal.core.addresses.services import create_address

    label = overrides.pop("label", "")
    with tenant_context(tenant):
        address = create_address(client.id, address_values(**overrides), label=label)
        db.session.flush()
        return address
