"""Suppliers: create and change them, link them to clients (stores), choose and configure
their integration and rule sets, invite their users.

Every change writes an audit entry with old and new values in the same transaction; secrets
are never written there, only the names of the secrets that changed. The caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, or_, select

from portal.accounts.models import Role, User
from portal.accounts.services import AccountError, invite_user, normalise_email
from portal.audit.services import diff, record
from portal.core.clients.models import Client
from portal.core.errors import DomainError, too_long
from portal.core.suppliers.models import Supplier, SupplierClient, SupplierRuleSet
from portal.db import db
from portal.plugins.forms import changed_secrets, jsonable
from portal.plugins.host import current_host

DEFAULT_INTEGRATION = "manual"
LENGTHS = {
    "name": 200,
    "email": 254,
    "phone": 40,
    "customer_number": 64,
    "contact_name": 200,
    "contact_phone": 40,
    "contact_email": 254,
    # The supplier's own registration data for a store.
    "account_manager": 200,
    "account_phone": 40,
    "account_email": 254,
    "payment_terms": 200,
    "supplier_notes": 5000,
}
SITUATIONS_LENGTH = 200
SUPPLIER_FIELDS = (
    "name",
    "email",
    "phone",
    "active",
    "changes_need_approval",
    "situations",
    "integration_key",
)
LINK_FIELDS = ("customer_number", "contact_name", "contact_phone", "contact_email")
REGISTRATION_FIELDS = (
    "account_manager",
    "account_phone",
    "account_email",
    "payment_terms",
    "supplier_notes",
)


def _text(value: str | None, field: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_l("Please enter a name."), field)
    limit = LENGTHS[field]
    if len(value) > limit:
        raise DomainError(too_long(limit), field)
    return value


def _email(value: str | None, field: str) -> str:
    value = _text(value, field)
    if not value:
        return ""
    try:
        return normalise_email(value)
    except AccountError as error:
        raise DomainError(error.message, field) from None


def clean_situations(text: str | None) -> str:
    """Return the situations one per line: trimmed, without blank lines and repeats."""
    seen: dict[str, None] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if len(line) > SITUATIONS_LENGTH:
            raise DomainError(
                lazy_ngettext(
                    "Each situation may have at most %(num)d character; this one is longer: %(situation)s",
                    "Each situation may have at most %(num)d characters; this one is longer: %(situation)s",
                    SITUATIONS_LENGTH,
                    situation=line[:40] + "…",
                ),
                "situations",
            )
        seen.setdefault(line, None)
    return "\n".join(seen)


def integration_choices() -> dict[str, Any]:
    """The integrations a supplier may be switched to: those enabled for the tenant."""
    return current_host().enabled_integrations()


def _integration_key(key: str | None, current: str | None) -> str:
    key = (key or "").strip() or DEFAULT_INTEGRATION
    # Keeping an integration whose plugin was disabled since is allowed: the supplier's
    # settings are not lost by an unrelated save. Choosing one is not.
    if key != current and key not in integration_choices():
        raise DomainError(_l("Please choose one of the enabled integrations."), "integration_key")
    return key


def _clean_supplier(values: Mapping[str, Any], supplier: Supplier | None) -> dict[str, Any]:
    name = _text(values.get("name"), "name", required=True)
    # The exact name too: SQLite's lower() leaves non-ASCII letters alone (Ó), the unique key not.
    taken = select(func.count()).where(
        or_(func.lower(Supplier.name) == name.lower(), Supplier.name == name)
    )
    if supplier is not None:
        taken = taken.where(Supplier.id != supplier.id)
    if db.session.scalar(taken):
        raise DomainError(
            _l("A supplier with the name %(name)s already exists.", name=name), "name"
        )
    return {
        "name": name,
        "email": _email(values.get("email"), "email"),
        "phone": _text(values.get("phone"), "phone"),
        "active": bool(values.get("active", True)),
        "changes_need_approval": bool(values.get("changes_need_approval", False)),
        "situations": clean_situations(values.get("situations")),
    }


def create_supplier(
    name: str,
    *,
    email: str = "",
    phone: str = "",
    active: bool = True,
    changes_need_approval: bool = False,
    situations: str = "",
    integration_key: str | None = None,
) -> Supplier:
    """Add a supplier of the tenant in context (integration: "manual" unless chosen)."""
    values = _clean_supplier(
        {
            "name": name,
            "email": email,
            "phone": phone,
            "active": active,
            "changes_need_approval": changes_need_approval,
            "situations": situations,
        },
        None,
    )
    values["integration_key"] = _integration_key(integration_key, None)
    supplier = Supplier(**values, integration_config={}, integration_secrets=None)
    db.session.add(supplier)
    db.session.flush()
    record("supplier.created", supplier, changes=diff({}, values))
    return supplier


def update_supplier(
    supplier: Supplier,
    *,
    name: str,
    email: str,
    phone: str,
    active: bool,
    changes_need_approval: bool,
    situations: str,
    integration_key: str | None = None,
) -> dict[str, list[Any]]:
    """Change a supplier's data; ``integration_key`` None leaves the integration alone.

    Switching to another integration drops the old one's settings and secrets: they mean
    nothing to the new one. Returns ``{field: [old, new]}`` (also in the audit log).
    """
    values = _clean_supplier(
        {
            "name": name,
            "email": email,
            "phone": phone,
            "active": active,
            "changes_need_approval": changes_need_approval,
            "situations": situations,
        },
        supplier,
    )
    if integration_key is not None:
        values["integration_key"] = _integration_key(integration_key, supplier.integration_key)
    before = {key: getattr(supplier, key) for key in values}
    changes = diff(before, values)
    if not changes:
        return changes
    details = {}
    if "integration_key" in changes:
        dropped = changed_secrets(supplier.integration_secrets, None)
        if supplier.integration_config:
            changes["integration_config"] = [
                jsonable(supplier.integration_config),
                {},
            ]
        if dropped:
            details["secrets_removed"] = ", ".join(dropped)
        supplier.integration_config = {}
        supplier.integration_secrets = None
    for key, value in values.items():
        setattr(supplier, key, value)
    record("supplier.updated", supplier, changes=changes, details=details)
    return changes


def set_integration_config(
    supplier: Supplier, config: Mapping[str, Any], secrets: Mapping[str, str]
) -> dict[str, Any]:
    """Store the integration's settings (plain, JSON-able) and secrets (encrypted).

    ``secrets`` is the complete set to store (see :func:`portal.plugins.forms.merge_secrets`).
    Returns ``{"changes": {setting: [old, new]}, "secrets": [names changed]}``; the audit
    entry names changed secrets without their values.
    """
    config = jsonable(dict(config))
    old_config = dict(supplier.integration_config or {})
    changes = {
        key: [old_config.get(key), config.get(key)]
        for key in old_config.keys() | config.keys()
        if old_config.get(key) != config.get(key)
    }
    secret_names = changed_secrets(supplier.integration_secrets, secrets)
    if changes or secret_names:
        supplier.integration_config = config
        supplier.integration_secrets = dict(secrets) or None
        record(
            "supplier.integration_configured",
            supplier,
            changes={key: [_audit_value(a), _audit_value(b)] for key, (a, b) in changes.items()},
            details={"integration": supplier.integration_key}
            | ({"secrets_changed": ", ".join(secret_names)} if secret_names else {}),
        )
    return {"changes": changes, "secrets": secret_names}


def _audit_value(value: Any) -> Any:
    if isinstance(value, list | dict):
        return ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)
    return value


def set_rule_sets(
    supplier: Supplier,
    chosen: Mapping[str, Mapping[str, Any]],
    *,
    keep: Collection[str] = (),
) -> dict[str, list[Any]]:
    """Make exactly the rule sets in ``chosen`` ({key: settings}) apply to the supplier.

    Stored rule sets whose key is in ``keep`` stay as they are (rule sets whose plugin is
    disabled: they are shown as "not available" and not dropped by a save). Every key of
    ``chosen`` must be an enabled rule set. Returns ``{key: [old settings, new settings]}``.
    """
    available = current_host().enabled_rule_sets()
    for key in chosen:
        if key not in available:
            raise DomainError(_l("The rule set %(name)s is not available.", name=key), "rule_sets")
    stored = {choice.rule_set_key: choice for choice in supplier.rule_sets}
    changes: dict[str, list[Any]] = {}
    for key, choice in list(stored.items()):
        if key in keep and key not in chosen:
            continue
        if key not in chosen:
            changes[key] = [dict(choice.settings or {}), None]
            supplier.rule_sets.remove(choice)
    for key, settings in chosen.items():
        settings = jsonable(dict(settings))
        choice = stored.get(key)
        if choice is None:
            supplier.rule_sets.append(SupplierRuleSet(rule_set_key=key, settings=settings))
            changes[key] = [None, settings]
        elif (choice.settings or {}) != settings:
            changes[key] = [dict(choice.settings or {}), settings]
            choice.settings = settings
    if changes:
        record(
            "supplier.rule_sets_changed",
            supplier,
            changes={
                key: [None if a is None else str(a), None if b is None else str(b)]
                for key, (a, b) in changes.items()
            },
        )
    return changes


# --- stores (clients) ------------------------------------------------------------------


def _clean_link(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        "customer_number": _text(values.get("customer_number"), "customer_number"),
        "contact_name": _text(values.get("contact_name"), "contact_name"),
        "contact_phone": _text(values.get("contact_phone"), "contact_phone"),
        "contact_email": _email(values.get("contact_email"), "contact_email"),
    }


def link_client(
    supplier: Supplier,
    client_id: uuid.UUID | None,
    *,
    customer_number: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
) -> SupplierClient:
    """Link a client (store) to the supplier, with its customer number and contact."""
    # Tenant-scoped: another tenant's client is as unknown as a made-up id.
    client = db.session.scalar(select(Client).where(Client.id == client_id)) if client_id else None
    if client is None:
        raise DomainError(_l("Please choose one of the clients."), "client_id")
    linked = db.session.scalar(
        select(func.count()).where(
            SupplierClient.supplier_id == supplier.id, SupplierClient.client_id == client.id
        )
    )
    if linked:
        raise DomainError(
            _l("%(client)s is already linked to this supplier.", client=client.name), "client_id"
        )
    values = _clean_link(
        {
            "customer_number": customer_number,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
            "contact_email": contact_email,
        }
    )
    link = SupplierClient(supplier_id=supplier.id, client_id=client.id, **values)
    db.session.add(link)
    db.session.flush()
    record(
        "supplier.client_linked",
        supplier,
        changes=diff({}, values),
        details={"client": client.name},
    )
    return link


def update_link(
    link: SupplierClient,
    *,
    customer_number: str,
    contact_name: str,
    contact_phone: str,
    contact_email: str,
) -> dict[str, list[Any]]:
    """Change the customer number and the store's contact for the supplier."""
    values = _clean_link(
        {
            "customer_number": customer_number,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
            "contact_email": contact_email,
        }
    )
    return _change_link(link, values, "supplier.client_link_changed")


def update_registration(link: SupplierClient, values: Mapping[str, str | None]) -> dict[str, list]:
    """Change the supplier's own registration data for a store; return what changed."""
    cleaned = {
        name: (_email if name == "account_email" else _text)(values.get(name), name)
        for name in REGISTRATION_FIELDS
    }
    return _change_link(link, cleaned, "supplier.registration_changed")


def _change_link(link: SupplierClient, values: dict[str, str], action: str) -> dict[str, list]:
    """Write ``values`` on the link and audit the change on the supplier, with the store."""
    before = {key: getattr(link, key) for key in values}
    changes = diff(before, values)
    if changes:
        for key, value in values.items():
            setattr(link, key, value)
        record(action, link.supplier, changes=changes, details={"client": link.client.name})
    return changes


def unlink_client(link: SupplierClient) -> None:
    """Remove the link between a supplier and a client, with its registration data."""
    before = {key: getattr(link, key) for key in LINK_FIELDS}
    record(
        "supplier.client_unlinked",
        link.supplier,
        changes=diff(before, dict.fromkeys(LINK_FIELDS, "")),
        details={"client": link.client.name},
    )
    db.session.delete(link)
    db.session.flush()


def unlinked_clients(supplier: Supplier) -> list[Client]:
    """The clients not linked to the supplier yet, by name."""
    linked = select(SupplierClient.client_id).where(SupplierClient.supplier_id == supplier.id)
    return list(
        db.session.scalars(
            select(Client).where(Client.id.not_in(linked)).order_by(Client.name, Client.id)
        )
    )


def supplier_links(supplier: Supplier) -> list[SupplierClient]:
    """The supplier's links to clients, by client name, with the clients loaded."""
    from sqlalchemy.orm import contains_eager

    return list(
        db.session.scalars(
            select(SupplierClient)
            .join(SupplierClient.client)
            .where(SupplierClient.supplier_id == supplier.id)
            .options(contains_eager(SupplierClient.client))
            .order_by(Client.name, Client.id)
        )
    )


# --- users -------------------------------------------------------------------------------


def invite_supplier_user(
    supplier: Supplier, email: str, name: str = "", locale: str | None = None
) -> User:
    """Create a user of ``supplier`` who chooses a password through an e-mailed link.

    Until then no password works. The caller sends the invitation and commits.
    """
    try:
        user = invite_user(
            email, Role.SUPPLIER, name=name or "", supplier=supplier, locale=locale or None
        )
    except AccountError as error:
        raise DomainError(error.message, error.field) from None
    record("supplier.user_invited", supplier, details={"email": user.email})
    return user


def supplier_users(supplier: Supplier) -> list[User]:
    """Return the users of ``supplier``, by e-mail address."""
    return list(
        db.session.scalars(select(User).where(User.supplier_id == supplier.id).order_by(User.email))
    )


def suppliers_using_integrations(keys: Collection[str]) -> list[Supplier]:
    """The suppliers whose integration is one of ``keys``, by name."""
    if not keys:
        return []
    return list(
        db.session.scalars(
            select(Supplier)
            .where(Supplier.integration_key.in_(list(keys)))
            .order_by(Supplier.name, Supplier.id)
        )
    )


def suppliers_using_rule_sets(keys: Collection[str]) -> list[Supplier]:
    """The suppliers to which one of the rule sets ``keys`` applies, by name."""
    if not keys:
        return []
    chosen = select(SupplierRuleSet.supplier_id).where(SupplierRuleSet.rule_set_key.in_(list(keys)))
    return list(
        db.session.scalars(
            select(Supplier).where(Supplier.id.in_(chosen)).order_by(Supplier.name, Supplier.id)
        )
    )


def usage_counts() -> tuple[dict[str, int], dict[str, int]]:
    """Return how many suppliers use each integration and each rule set, by key."""
    integrations = dict(
        db.session.execute(
            select(Supplier.integration_key, func.count()).group_by(Supplier.integration_key)
        ).all()
    )
    rule_sets = dict(
        db.session.execute(
            select(SupplierRuleSet.rule_set_key, func.count()).group_by(
                SupplierRuleSet.rule_set_key
            )
        ).all()
    )
    return integrations, rule_sets
