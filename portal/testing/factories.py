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


def make_client(tenant: Tenant, name: str | None = None) -> Client:
    with tenant_context(tenant):
        client = Client(name=name or f"Client {next(_sequence)}")
        db.session.add(client)
        db.session.flush()
        return client


def make_supplier(tenant: Tenant, name: str | None = None) -> Supplier:
    with tenant_context(tenant):
        supplier = Supplier(name=name or f"Supplier {next(_sequence)}")
        db.session.add(supplier)
        db.session.flush()
        return supplier


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
