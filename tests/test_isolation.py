"""Every route that takes an id answers 404 for another tenant's object.

The routes are read from the URL map, so a new route with an id cannot be forgotten: it
fails here until ID_FACTORIES knows how to make an object for its id argument.
"""

from dataclasses import dataclass, field
from functools import cached_property

from flask import url_for

from portal.testing import factories

# Arguments that are not object ids, and where they are tested instead.
NOT_IDS = {
    "filename": "static files are not tenant data",
    "token": "signed per tenant; tests/accounts/test_password_reset.py",
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

    @cached_property
    def shipment(self):
        return self._commit(
            lambda: factories.make_shipment(self.tenant, self.client, [(self.product, 1)])
        )

    @cached_property
    def address(self):
        return self._commit(lambda: factories.make_address(self.tenant, self.client))


def _import_job(world):
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
            return job

    return world._commit(make)


# How to make an object of a world's tenant for each id argument that routes take.
ID_FACTORIES = {
    "user_id": lambda world: world.create_user(world.tenant).id,
    "client_id": lambda world: world.client.id,
    "product_id": lambda world: world.product.id,
    "order_id": lambda world: world.order.id,
    "job_id": lambda world: _import_job(world).id,
    "shipment_id": lambda world: world.shipment.id,
    "address_id": lambda world: world.address.id,
}


def _rules_with_ids(app):
    for rule in app.url_map.iter_rules():
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
            own = {name: client.get(my_url).status_code for name, client in visitors.items()}
            assert 200 in own.values(), (my_url, own)
    assert checked, "no route with an id was checked"
