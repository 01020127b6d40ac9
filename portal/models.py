"""Import every model module, so metadata and mappers are complete wherever one is used."""

from portal.accounts.models import LoginAttempt, Role, User, UserSession
from portal.audit.models import AuditEntry
from portal.core.clients.models import Client
from portal.core.suppliers.models import Supplier
from portal.outbox.models import OutboxMessage
from portal.tenants.models import Tenant, TenantDomain

__all__ = [
    "AuditEntry",
    "Client",
    "LoginAttempt",
    "OutboxMessage",
    "Role",
    "Supplier",
    "Tenant",
    "TenantDomain",
    "User",
    "UserSession",
]
