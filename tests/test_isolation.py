"""Every route that takes an id answers 404 for another tenant's object.

The routes are read from the URL map, so a new route with an id cannot be forgotten: it
fails here until ID_FACTORIES knows how to make an object for its id argument.
"""

import uuid
from dataclasses import dataclass, field
from functools import cached_property

from flask import url_for

from portal.testing import factories

# Arguments that are not object ids, and where they are tested instead.
NOT_IDS = {
    "filename": "static files are not tenant data",
    "theme": "bundled theme names are not tenant data",
    "kind": "logo or favicon; the asset id is a query argument: tests/branding/",
    "token": "signed per tenant; tests/accounts/test_password_reset.py",
    "fmt": "an export's file format (csv, xlsx); tests/admin/test_audit_log.py",
}


@dataclass
class World:
    """One tenant with a client, its users and one object of each kind, made on demand."""

    app: object
    tenant: object
    create_user: object
    made: dict = field(default_factory=dict)

    def _commit(self, make):
        from portal.db import db

        with self.app.app_context():
            obj = make()
            db.session.commit()
            return obj

    @cached_property
    def client(self):
        return self._commit(lambda: factories.make_client(self.tenant))

    @cached_property
    def admin(self):
        return self.create_user(self.tenant, "admin")

    @cached_property
    def client_user(self):
        return self.create_user(self.tenant, "client", client=self.client)

    @cached_property
    def product(self):
        return self._commit(lambda: factories.make_product(self.tenant, self.client, stock=5))

    @cached_property
    def order(self):
        return self._commit(
            lambda: factories.make_order(self.tenant, self.client, [(self.product, 1)])
        )

    def _in_tenant(self, make):
        from portal.core.clients.models import Client
        from portal.db import db
        from portal.tenants.context import tenant_context

        def run():
            with tenant_context(self.tenant):
                client = db.session.get(Client, (self.tenant.id, self.client.id))
                obj = make(client)
                db.session.flush()
                return obj

        return self._commit(run)

    @cached_property
    def supplier(self):
        return self._commit(lambda: factories.make_supplier(self.tenant))

    @cached_property
    def supplier_user(self):
        return self.create_user(self.tenant, "supplier", supplier=self.supplier)

    @cached_property
    def link(self):
        """The client's link to the supplier (customer number, registration data)."""
        from portal.core.suppliers.models import SupplierClient
        from portal.db import db

        supplier_id = self.supplier.id

        def make(client):
            link = SupplierClient(supplier_id=supplier_id, client_id=client.id)
            db.session.add(link)
            return link

        return self._in_tenant(make)

    @cached_property
    def catalogue_item(self):
        """A catalogue item of the supplier, matched to the client's product."""
        from portal.core.suppliers.models import CatalogueItem, CatalogueMatch
        from portal.db import db

        _ = self.link
        supplier_id, product_id = self.supplier.id, self.product.id

        def make(client):
            item = CatalogueItem(
                supplier_id=supplier_id, supplier_code="X-1", name="X", container_amount=2
            )
            db.session.add(item)
            db.session.flush()
            db.session.add(
                CatalogueMatch(
                    catalogue_item_id=item.id, client_id=client.id, product_id=product_id
                )
            )
            return item

        return self._in_tenant(make)

    @cached_property
    def purchase_order(self):
        """A purchase order sent to the supplier: the store's and the supplier's pages show it."""
        from portal.core.purchasing import ordering
        from portal.core.suppliers.models import CatalogueItem, Supplier
        from portal.db import db

        item_id, supplier_id = self.catalogue_item.id, self.supplier.id

        def make(client):
            item = db.session.get(CatalogueItem, (self.tenant.id, item_id))
            ordering.add_to_cart(client, item, 2)
            po = ordering.create_from_cart(
                client, db.session.get(Supplier, (self.tenant.id, supplier_id))
            )
            ordering.book(po)
            ordering.send(po)
            return po

        return self._in_tenant(make)

    @cached_property
    def cart_line(self):
        from portal.core.purchasing import ordering
        from portal.core.suppliers.models import CatalogueItem
        from portal.db import db

        item_id = self.catalogue_item.id
        return self._in_tenant(
            lambda client: ordering.add_to_cart(
                client, db.session.get(CatalogueItem, (self.tenant.id, item_id)), 1
            )
        )

    @cached_property
    def document(self):
        from portal.core.purchasing import responses
        from portal.core.purchasing.models import PurchaseOrder
        from portal.db import db

        po_id = self.purchase_order.id
        return self._in_tenant(
            lambda client: responses.add_document(
                db.session.get(PurchaseOrder, (self.tenant.id, po_id)), "a.pdf", b"%PDF-1.4 test"
            )
        )

    @cached_property
    def returned(self):
        """A registered return (``return`` is a keyword)."""
        from portal.core.returns.services import ReturnLineInput, register_return

        product = self.product
        return self._in_tenant(
            lambda client: register_return(client, [ReturnLineInput(product.id, 1)])
        )

    @cached_property
    def shipment(self):
        return self._commit(
            lambda: factories.make_shipment(self.tenant, self.client, [(self.product, 1)])
        )

    @cached_property
    def address(self):
        return self._commit(lambda: factories.make_address(self.tenant, self.client))

    @cached_property
    def image(self):
        """An image of the world's product (the image route takes both ids)."""
        import io

        from PIL import Image

        from portal.core.products.models import Product
        from portal.core.products.services import add_image
        from portal.db import db

        png = io.BytesIO()
        Image.new("RGB", (2, 2)).save(png, "PNG")
        product_id = self.product.id
        return self._in_tenant(
            lambda client: add_image(
                db.session.get(Product, (self.tenant.id, product_id)), png.getvalue()
            )
        )


def _import_job(world):
    from portal.db import db
    from portal.jobs.services import create_job
    from portal.tenants.context import tenant_context

    def make():
        with tenant_context(world.tenant):
            job = create_job(
                "order_import",
                data=b"",
                name="x.xlsx",
                created_by_id=None,
                client_id=world.client.id,
            )
            db.session.flush()  # inside the tenant context: row-level security checks it
            return job

    return world._commit(make)


def _catalogue_import(world):
    import portal.core.suppliers.catalogue  # noqa: F401 - registers the job handler
    from portal.db import db
    from portal.jobs.services import create_job
    from portal.tenants.context import tenant_context

    supplier_id = world.supplier.id

    def make():
        with tenant_context(world.tenant):
            job = create_job(
                "catalogue_import",
                data=b"",
                name="c.xlsx",
                created_by_id=None,
                options={
                    "supplier_id": str(supplier_id),
                    "rows": 1,
                    "confirmed": False,
                    "preview": {"columns": [], "rows": []},
                },
            )
            db.session.flush()
            return job

    return world._commit(make)


def _passkey(world):
    from portal.accounts.models import PasskeyCredential
    from portal.db import db
    from portal.tenants.context import tenant_context

    owner_id = world.admin.id

    def make():
        with tenant_context(world.tenant):
            passkey = PasskeyCredential(
                user_id=owner_id, credential_id=uuid.uuid4().hex, public_key=b"-", name="Key"
            )
            db.session.add(passkey)
            db.session.flush()
            return passkey

    return world._commit(make)


def _api_token(world):
    from portal.accounts.models import User
    from portal.api.tokens import create_token
    from portal.db import db
    from portal.tenants.context import tenant_context

    owner_id = world.supplier_user.id

    def make():
        with tenant_context(world.tenant):
            owner = db.session.get(User, (world.tenant.id, owner_id))
            token = create_token(owner, "ERP", ["purchase_orders:read"]).token
            db.session.flush()  # the audit entry too, while the tenant is set
            return token

    return world._commit(make)


def _webhook(world):
    """A webhook of the world's supplier with one delivery (a test event): (ids)."""
    from portal.db import db
    from portal.tenants.context import tenant_context
    from portal.webhooks import services
    from portal.webhooks.models import OwnerKind

    if "webhook" not in world.made:
        owner = services.Owner(OwnerKind.SUPPLIER, supplier_id=world.supplier.id)

        def make():
            with tenant_context(world.tenant):
                # A public address literal: no lookup, and nothing is delivered in this test.
                endpoint, _secret = services.create_endpoint(
                    owner, "https://8.8.8.8/hook", ["purchase_order.sent"]
                )
                delivery = services.send_test_event(endpoint)
                db.session.flush()
                return endpoint.id, delivery.id

        world.made["webhook"] = world._commit(make)
    return world.made["webhook"]


# How to make an object of a world's tenant for each id argument that routes take.
ID_FACTORIES = {
    "user_id": lambda world: world.create_user(world.tenant).id,
    "client_id": lambda world: world.client.id,
    "product_id": lambda world: world.product.id,
    "order_id": lambda world: world.order.id,
    "purchase_order_id": lambda world: world.purchase_order.id,
    "return_id": lambda world: world.returned.id,
    "job_id": lambda world: _import_job(world).id,
    "shipment_id": lambda world: world.shipment.id,
    "address_id": lambda world: world.address.id,
    "image_id": lambda world: world.image.id,
    "supplier_id": lambda world: world.supplier.id,
    "link_id": lambda world: world.link.id,
    "line_id": lambda world: world.cart_line.id,
    "document_id": lambda world: world.document.id,
    "catalogue_item_id": lambda world: world.catalogue_item.id,
    "import_id": lambda world: _catalogue_import(world).id,
    "passkey_id": lambda world: _passkey(world).id,
    "token_id": lambda world: _api_token(world).id,
    "endpoint_id": lambda world: _webhook(world)[0],
    "delivery_id": lambda world: _webhook(world)[1],
}

# The API's blueprints take a token, not a login: tests/api/ run the same check with tokens.
API_BLUEPRINT_PREFIX = "api_"


def _rules_with_ids(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(API_BLUEPRINT_PREFIX):
            continue
        arguments = set(rule.arguments) - set(NOT_IDS)
        if arguments:
            yield rule, arguments


def test_every_id_argument_has_a_factory(app):
    missing = {
        (rule.rule, argument)
        for rule, arguments in _rules_with_ids(app)
        for argument in arguments
        if argument not in ID_FACTORIES
    }
    assert missing == set(), "add these id arguments to ID_FACTORIES"


def test_another_tenants_ids_are_not_found(
    app, login_as, create_user, tenant, other_tenant, db_session
):
    mine = World(app, tenant, create_user)
    theirs = World(app, other_tenant, create_user)
    visitors = {
        "admin": login_as(mine.admin, tenant),
        "client": login_as(mine.client_user, tenant),
        "supplier": login_as(mine.supplier_user, tenant),
    }
    tokens = {name: client.csrf_token("/account") for name, client in visitors.items()}
    checked = []
    for rule, arguments in _rules_with_ids(app):
        their_ids = {name: ID_FACTORIES[name](theirs) for name in arguments}
        my_ids = {name: ID_FACTORIES[name](mine) for name in arguments}
        with app.test_request_context():
            their_url = url_for(rule.endpoint, **their_ids)
            my_url = url_for(rule.endpoint, **my_ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            statuses = {}
            for name, client in visitors.items():
                data = {"csrf_token": tokens[name]} if method != "GET" else None
                statuses[name] = client.open(their_url, method=method, data=data).status_code
            # Nobody gets the object; someone allowed on this route is told it does not exist.
            assert set(statuses.values()) <= {403, 404}, (method, their_url, statuses)
            assert 404 in statuses.values(), (method, their_url, statuses)
            checked.append((method, rule.rule))
        if "GET" in rule.methods:
            # With the tenant's own object the route works for someone: the 404 is isolation.
            # A redirect counts: some pages send to the order's page when its state has moved on.
            own = {}
            for name, client in visitors.items():
                response = client.get(my_url)
                own[name] = response.status_code
                if response.status_code == 302:
                    assert "/login" not in response.headers["Location"], (my_url, name)
            assert {200, 302} & set(own.values()), (my_url, own)
    assert checked, "no route with an id was checked"
