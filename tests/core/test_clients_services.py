"""Client services: create, change with audit entries, invite users."""

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.audit.models import AuditEntry
from portal.core.clients import services
from portal.core.errors import DomainError
from portal.core.warehouses.models import Warehouse


def test_create_and_update_write_audit_entries(in_tenant, tenant):
    with in_tenant(tenant) as session:
        client = services.create_client(" Acme ", email="Info@Acme.example")
        assert (client.name, client.email, client.portal_access) == (
            "Acme",
            "info@acme.example",
            True,
        )
        hall = Warehouse(code="HALL", name="Hall")
        session.add(hall)
        session.flush()
        changes = services.update_client(
            client,
            name="Acme",
            email=None,
            portal_access=False,
            product_management=True,
            purchase_order_warehouse_id=hall.id,
        )
        assert changes == {
            "email": ["info@acme.example", None],
            "portal_access": [True, False],
            "product_management": [False, True],
            "purchase_order_warehouse_id": [None, str(hall.id)],
        }
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == str(client.id))
        ).all()
        assert sorted(actions) == ["client.created", "client.updated"]
        # Nothing changed: nothing recorded.
        assert (
            services.update_client(
                client,
                name="Acme",
                email=None,
                portal_access=False,
                product_management=True,
                purchase_order_warehouse_id=hall.id,
            )
            == {}
        )


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"name": ""}, "name", "Please enter a name."),
        ({"name": "taken"}, "name", "A client with the name taken already exists."),
        ({"name": "x" * 201}, "name", "At most 200 characters"),
        ({"name": "New", "email": "nope"}, "email", "nope is not a valid e-mail address."),
    ],
)
def test_bad_values_are_refused_naming_the_field(in_tenant, tenant, kwargs, field, message):
    with in_tenant(tenant):
        services.create_client("Taken")
        with pytest.raises(DomainError) as refused:
            services.create_client(**kwargs)
        assert refused.value.field == field
        assert message in str(refused.value)


def test_another_tenants_warehouse_cannot_be_chosen(in_tenant, tenant, other_tenant):
    with in_tenant(other_tenant) as session:
        foreign = session.scalar(select(Warehouse))
    with in_tenant(tenant):
        with pytest.raises(DomainError) as refused:
            services.create_client("Acme", purchase_order_warehouse_id=foreign.id)
        assert refused.value.field == "purchase_order_warehouse_id"


def test_an_invited_user_belongs_to_the_client(in_tenant, tenant, create_user):
    taken = create_user(tenant)
    with in_tenant(tenant):
        client = services.create_client("Acme")
        user = services.invite_client_user(client, "Someone@Acme.example", "Some One")
        assert (user.role, user.client_id, user.email) == (
            Role.CLIENT,
            client.id,
            "someone@acme.example",
        )
        assert [u.id for u in services.client_users(client)] == [user.id]
        with pytest.raises(DomainError) as refused:
            services.invite_client_user(client, taken.email)
        assert refused.value.field == "email"
