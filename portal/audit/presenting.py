"""Show audit entries in words: translated actions, field names and values, and the object
each entry is about, with a link to its page.

One presenter serves the admin's audit log, its export and every per-object history (the
supplier's change log, a purchase order's status history, ...), so no page shows a raw action
code or field name. Labels are lazy strings, evaluated per request in the viewer's language.

Every action code that the code base passes to :func:`portal.audit.services.record` needs an
entry in :data:`ACTION_LABELS`; ``tests/audit/test_action_labels.py`` scans the source and
fails on a code without one.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app, g, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.routing import BuildError

from portal.audit.models import AuditEntry
from portal.db import db
from portal.i18n import day, moment

# --- actions ---------------------------------------------------------------------------------

# Groups of the action filter, in the order the filter shows them; an action belongs to the
# group of its prefix (the part before the first dot).
ACTION_GROUPS: dict[str, Any] = {
    "order": _l("Orders"),
    "purchase_order": _l("Purchase orders"),
    "return": _l("Returns"),
    "product": _l("Products"),
    "stock": _l("Stock"),
    "client": _l("Clients"),
    "address": _l("Address book"),
    "supplier": _l("Suppliers"),
    "catalogue": _l("Supplier catalogues"),
    "account": _l("Users and sign-in"),
    "api_token": _l("API tokens"),
    "tenant": _l("Portal settings"),
    "plugin": _l("Plugins"),
    "webhook": _l("Webhooks"),
}
# Prefixes that belong to a group of another name.
GROUP_OF_PREFIX = {
    "catalogue_item": "catalogue",
    "user": "account",
    "login": "account",
    "logout": "account",
    "session": "account",
    "password": "account",
    "second_factor": "account",
    "branding": "tenant",
}

ACTION_LABELS: dict[str, Any] = {
    # orders
    "order.created": _l("Order created"),
    "order.lines_changed": _l("Order lines changed"),
    "order.submitted": _l("Order submitted"),
    "order.allocated": _l("All products allocated from stock"),
    "order.backordered": _l("Waiting for stock (backorder)"),
    "order.allocated_again": _l("Stock allocated again"),
    "order.address_changed": _l("Delivery address changed"),
    "order.cancelled": _l("Order cancelled"),
    "order.picking": _l("Picking started"),
    "order.shipped": _l("Order shipped"),
    "order.completed": _l("Order completed"),
    # purchase orders
    "purchase_order.created": _l("Purchase order created"),
    "purchase_order.cart_added": _l("Items added from the cart"),
    "purchase_order.booked": _l("Purchase order booked"),
    "purchase_order.changed": _l("Lines, date or reference changed"),
    "purchase_order.cancelled": _l("Purchase order cancelled"),
    "purchase_order.sent": _l("Sent to the supplier"),
    "purchase_order.transferred": _l("The supplier has it"),
    "purchase_order.transfer_failed": _l("Transfer failed"),
    "purchase_order.inbound_refused": _l("Message from the supplier's system refused"),
    "purchase_order.transfer_retried": _l("Transfer tried again"),
    "purchase_order.acknowledged": _l("Acknowledged by the supplier"),
    "purchase_order.confirmed": _l("Confirmed"),
    "purchase_order.confirmed_with_changes": _l("Confirmed with changes"),
    "purchase_order.changes_proposed": _l("Changes proposed by the supplier"),
    "purchase_order.changes_accepted": _l("Changes accepted"),
    "purchase_order.changes_refused": _l("Changes not accepted"),
    "purchase_order.rejected": _l("Rejected by the supplier"),
    "purchase_order.supplier_reference": _l("Supplier's order number or situation changed"),
    "purchase_order.in_production": _l("In production"),
    "purchase_order.dispatched": _l("Dispatched"),
    "purchase_order.partially_dispatched": _l("Partially dispatched"),
    "purchase_order.received": _l("Goods received"),
    "purchase_order.partially_received": _l("Part of the goods received"),
    "purchase_order.document_added": _l("Document added"),
    # returns
    "return.registered": _l("Return registered"),
    "return.status": _l("Return status changed"),
    # products and stock
    "product.created": _l("Product created"),
    "product.updated": _l("Product changed"),
    "product.image_added": _l("Product image added"),
    "stock.corrected": _l("Stock corrected"),
    # clients and addresses
    "client.created": _l("Client created"),
    "client.updated": _l("Client changed"),
    "client.user_invited": _l("User invited"),
    "address.created": _l("Address added"),
    "address.updated": _l("Address changed"),
    "address.deleted": _l("Address deleted"),
    # suppliers and catalogues
    "supplier.created": _l("Supplier created"),
    "supplier.updated": _l("Supplier changed"),
    "supplier.integration_configured": _l("Integration settings changed"),
    "supplier.inbound_refused": _l("Message from the supplier's system refused"),
    "supplier.rule_sets_changed": _l("Rule sets changed"),
    "supplier.client_linked": _l("Store linked"),
    "supplier.client_link_changed": _l("Store's customer number or contact changed"),
    "supplier.client_unlinked": _l("Store unlinked"),
    "supplier.registration_changed": _l("Supplier registration data changed"),
    "supplier.user_invited": _l("User invited"),
    "catalogue.imported": _l("Catalogue imported"),
    "catalogue_item.updated": _l("Catalogue item changed"),
    "catalogue_item.matched": _l("Catalogue item matched to a product"),
    "catalogue_item.unmatched": _l("Catalogue item no longer matched"),
    # users, sign-in and second factor
    "user.created": _l("User added"),
    "user.updated": _l("User changed"),
    "account.updated": _l("Own account changed"),
    "login.succeeded": _l("Signed in"),
    "login.failed": _l("Sign-in failed"),
    "login.throttled": _l("Sign-in attempts slowed down"),
    "login.failures_reported": _l("Failed sign-ins reported to the user"),
    "logout": _l("Signed out"),
    "session.expired": _l("Session expired"),
    "password.changed": _l("Password changed"),
    "password.reset": _l("Password reset"),
    "password.reset_requested": _l("Password reset requested"),
    "second_factor.enrolled": _l("Second factor set up"),
    "second_factor.removed": _l("Second factor removed"),
    "second_factor.reset": _l("Second factor reset by an administrator"),
    "second_factor.recovery_codes_issued": _l("Recovery codes issued"),
    "second_factor.recovery_code_used": _l("Recovery code used"),
    "second_factor.used": _l("Second factor used"),
    "second_factor.failed": _l("Second factor check failed"),
    "second_factor.throttled": _l("Second factor attempts slowed down"),
    # API tokens, portal settings, plugins
    "api_token.created": _l("API token created"),
    "api_token.regenerated": _l("API token regenerated"),
    "api_token.revoked": _l("API token revoked"),
    "tenant.second_factor_policy": _l("Second factor policy changed"),
    "tenant.domain_added": _l("Domain added"),
    "tenant.domain_removed": _l("Domain removed"),
    "tenant.domain_verified": _l("Domain verified"),
    "tenant.domain_failed": _l("Domain check failed"),
    "tenant.domain_check_restarted": _l("Domain check started again"),
    "branding.updated": _l("Branding changed"),
    "branding.reset": _l("Branding reset"),
    "plugin.enabled": _l("Plugin enabled"),
    "plugin.disabled": _l("Plugin disabled"),
    "webhook.created": _l("Webhook created"),
    "webhook.updated": _l("Webhook changed"),
    "webhook.disabled": _l("Webhook switched off"),
    "webhook.deleted": _l("Webhook deleted"),
    "webhook.secret_rotated": _l("Webhook secret rotated"),
    "webhook.replayed": _l("Webhook delivery sent again"),
}


def action_group(code: str) -> str:
    """Return the filter group of an action code (``"order"`` for ``order.created``)."""
    prefix = code.split(".", 1)[0]
    return GROUP_OF_PREFIX.get(prefix, prefix)


def action_label(code: str | None) -> str:
    """Return an action in words; an unknown code is named as such, never shown raw."""
    if not code:
        return ""
    label = ACTION_LABELS.get(code)
    if label is not None:
        return str(label)
    group = ACTION_GROUPS.get(action_group(code))
    return _("Other change (%(group)s)", group=group) if group else _("Other change")


def grouped_actions() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Return ``(group, group label, [(code, label), ...])`` for the action filter."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for code, label in ACTION_LABELS.items():
        groups[action_group(code)].append((code, str(label)))
    return [
        (key, str(label), sorted(groups[key], key=lambda pair: pair[1].casefold()))
        for key, label in ACTION_GROUPS.items()
        if groups.get(key)
    ]


# --- objects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectKind:
    """What an audited object is: its name in words, how to load and name it, its page."""

    label: Any
    model: Callable[[], type]
    name: Callable[[Any], str]
    endpoint: str | None = None
    id_arg: str = ""
    # The column the object filter searches (number, code, name).
    search: Callable[[], Any] | None = None


def _model(path: str) -> Callable[[], type]:
    module, _sep, name = path.rpartition(".")

    def load():
        import importlib

        return getattr(importlib.import_module(module), name)

    return load


def _column(path: str, attr: str) -> Callable[[], Any]:
    load = _model(path)
    return lambda: getattr(load(), attr)


OBJECT_KINDS: dict[str, ObjectKind] = {
    "Order": ObjectKind(
        _l("Order"),
        _model("portal.core.orders.models.Order"),
        lambda o: o.number,
        "orders.detail",
        "order_id",
        _column("portal.core.orders.models.Order", "number"),
    ),
    "PurchaseOrder": ObjectKind(
        _l("Purchase order"),
        _model("portal.core.purchasing.models.PurchaseOrder"),
        lambda o: o.number,
        "purchase_orders.detail",
        "purchase_order_id",
        _column("portal.core.purchasing.models.PurchaseOrder", "number"),
    ),
    "Return": ObjectKind(
        _l("Return"),
        _model("portal.core.returns.models.Return"),
        lambda o: o.number,
        "returns.detail",
        "return_id",
        _column("portal.core.returns.models.Return", "number"),
    ),
    "Product": ObjectKind(
        _l("Product"),
        _model("portal.core.products.models.Product"),
        lambda o: f"{o.code} · {o.name}",
        "products.detail",
        "product_id",
        _column("portal.core.products.models.Product", "code"),
    ),
    "Client": ObjectKind(
        _l("Client"),
        _model("portal.core.clients.models.Client"),
        lambda o: o.name,
        "clients.edit",
        "client_id",
        _column("portal.core.clients.models.Client", "name"),
    ),
    "Address": ObjectKind(
        _l("Address"),
        _model("portal.core.addresses.models.Address"),
        lambda o: o.name,
        None,
        "",
        _column("portal.core.addresses.models.Address", "name"),
    ),
    "Supplier": ObjectKind(
        _l("Supplier"),
        _model("portal.core.suppliers.models.Supplier"),
        lambda o: o.name,
        "suppliers.edit",
        "supplier_id",
        _column("portal.core.suppliers.models.Supplier", "name"),
    ),
    "CatalogueItem": ObjectKind(
        _l("Catalogue item"),
        _model("portal.core.suppliers.models.CatalogueItem"),
        lambda o: f"{o.supplier_code} · {o.name}",
        "catalogue.detail",
        "catalogue_item_id",
        _column("portal.core.suppliers.models.CatalogueItem", "supplier_code"),
    ),
    "User": ObjectKind(
        _l("User"),
        _model("portal.accounts.models.User"),
        lambda o: o.display_name,
        "admin.edit_user",
        "user_id",
        lambda: (
            _column("portal.accounts.models.User", "email")(),
            _column("portal.accounts.models.User", "name")(),
        ),
    ),
    "ApiToken": ObjectKind(
        _l("API token"),
        _model("portal.api.models.ApiToken"),
        lambda o: f"{o.name} ({o.prefix}…)" if getattr(o, "prefix", None) else o.name,
        None,
        "",
        _column("portal.api.models.ApiToken", "name"),
    ),
    "PluginActivation": ObjectKind(
        _l("Plugin"),
        _model("portal.plugins.models.PluginActivation"),
        lambda o: o.name,
        "admin_plugins.index",
        "",
        _column("portal.plugins.models.PluginActivation", "name"),
    ),
    "WebhookEndpoint": ObjectKind(
        _l("Webhook"),
        _model("portal.webhooks.models.WebhookEndpoint"),
        lambda o: o.description or o.url,
        "webhooks.detail",
        "endpoint_id",
        _column("portal.webhooks.models.WebhookEndpoint", "url"),
    ),
    "Tenant": ObjectKind(
        _l("Portal settings"),
        _model("portal.tenants.models.Tenant"),
        lambda o: o.name,
        "branding.edit",
        "",
    ),
}

# What an entry of an action prefix is about, for entries whose object type was recorded
# wrongly (before the fix, ``record("account.updated", current_user)`` stored "LocalProxy").
TYPE_OF_PREFIX = {
    "order": "Order",
    "purchase_order": "PurchaseOrder",
    "return": "Return",
    "product": "Product",
    "stock": "Product",
    "client": "Client",
    "address": "Address",
    "supplier": "Supplier",
    "catalogue": "Supplier",
    "catalogue_item": "CatalogueItem",
    "user": "User",
    "account": "User",
    "login": "User",
    "logout": "User",
    "session": "User",
    "password": "User",
    "second_factor": "User",
    "api_token": "ApiToken",
    "tenant": "Tenant",
    "branding": "Tenant",
    "plugin": "PluginActivation",
    "webhook": "WebhookEndpoint",
}


def object_type_of(entry: AuditEntry) -> str | None:
    """Return the class name of the entry's object, inferred from its action when the
    recorded one is not a known type (such as the "LocalProxy" of old entries)."""
    if entry.object_type in OBJECT_KINDS:
        return entry.object_type
    if entry.object_id is None:
        return None
    return TYPE_OF_PREFIX.get(entry.action.split(".", 1)[0])


def object_type_label(name: str | None) -> str:
    kind = OBJECT_KINDS.get(name or "")
    return str(kind.label) if kind else ""


def object_type_choices() -> list[tuple[str, str]]:
    """Return ``(type, label)`` of the searchable object types, by label."""
    return sorted(
        ((name, str(kind.label)) for name, kind in OBJECT_KINDS.items() if kind.search),
        key=lambda pair: pair[1].casefold(),
    )


def find_object_ids(type_name: str | None, text: str, limit: int = 500) -> list[str]:
    """Return the ids (as stored in the log) of objects whose number, code or name contains
    ``text``; of one type, or of every searchable type."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found: list[str] = []
    names = [type_name] if type_name else list(OBJECT_KINDS)
    for name in names:
        kind = OBJECT_KINDS.get(name)
        if kind is None or kind.search is None:
            continue
        model = kind.model()
        columns = kind.search()
        columns = columns if isinstance(columns, tuple) else (columns,)
        matches = or_(*[column.ilike(pattern, escape="\\") for column in columns])
        rows = db.session.scalars(select(model.id).where(matches).limit(limit))
        found.extend(str(row) for row in rows)
    return found


# --- fields and values -----------------------------------------------------------------------

FIELD_LABELS: dict[str, Any] = {
    "status": _l("Status"),
    "name": _l("Name"),
    "email": _l("E-mail address"),
    "role": _l("Role"),
    "active": _l("Active"),
    "locale": _l("Language"),
    "password": _l("Password"),
    "code": _l("Code"),
    "barcode": _l("Barcode"),
    "price": _l("Price"),
    "currency": _l("Currency"),
    "on_hand": _l("On hand"),
    "low_stock_threshold": _l("Low stock below"),
    "product": _l("Product"),
    "prefix": _l("Token prefix"),
    "domain": _l("Domain"),
    "enabled": _l("Enabled"),
    "second_factor_policy": _l("Second factor"),
    "account_manager": _l("Account manager"),
    "account_phone": _l("Phone"),
    "account_email": _l("E-mail address"),
    "payment_terms": _l("Payment terms"),
    "supplier_notes": _l("Notes"),
    "phone": _l("Phone number"),
    "supplier_code": _l("Supplier's code"),
    "container_amount": _l("Units per container"),
}
# Values never shown, only the fact that they changed.
SECRET_FIELDS = frozenset({"password", "password_hash", "secret", "token", "totp_secret"})
SECRET_MARK = re.compile(r"(secret|password|token_hash|api_key)", re.I)


def _reused_field_labels() -> list[Mapping[str, Any]]:
    """The labels the forms of the pages already give their fields."""
    labels: list[Mapping[str, Any]] = []
    for module, name in (
        ("portal.web.suppliers", "FIELD_LABELS"),
        ("portal.web.clients", "FIELD_LABELS"),
        ("portal.web.addresses", "FIELD_LABELS"),
    ):
        try:
            import importlib

            labels.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):  # pragma: no cover - a page package left out
            continue
    return labels


def field_label(key: str) -> str:
    """Return a changed field's name in words: our own labels, then the forms' labels, then
    the purchase order's line fields ("Line 2: price")."""
    if key in FIELD_LABELS:
        return str(FIELD_LABELS[key])
    for labels in _reused_field_labels():
        if key in labels:
            return str(labels[key])
    try:
        from portal.web.purchase_orders import change_label
    except ImportError:  # pragma: no cover
        return _("Other field")
    label = change_label(key)
    return label if label != key else _("Other field")


def _status_label(object_type: str | None, value: Any) -> str:
    filters = current_app.jinja_env.filters
    name = {
        "Order": "order_status",
        "PurchaseOrder": "purchase_order_status",
        "Return": "return_status",
    }.get(object_type or "")
    if name and name in filters:
        return str(filters[name](value))
    return str(value)


def _date_text(value: str) -> str | None:
    if len(value) == 10:
        try:
            return day(date.fromisoformat(value))
        except ValueError:
            return None
    if len(value) >= 19 and value[10] in "T ":
        try:
            return moment(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def value_text(key: str, value: Any, object_type: str | None = None) -> str:
    """Return one old or new value in words for the viewer."""
    if key in SECRET_FIELDS or SECRET_MARK.search(key):
        return _("(hidden)") if value not in (None, "") else "—"
    if value is None or value == "":
        return "—"
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if key == "status":
        return _status_label(object_type, value)
    if key == "role":
        return {
            "admin": _("Administrator"),
            "staff": _("Staff"),
            "client": _("Client"),
            "supplier": _("Supplier"),
        }.get(str(value), str(value))
    if key == "locale" or key.endswith("_locale"):
        try:
            from portal.i18n import locale_name

            return locale_name(str(value))
        except ValueError:
            return str(value)
    if key.endswith("country"):
        country_name = current_app.jinja_env.filters.get("country_name")
        if country_name:
            return str(country_name(str(value)))
    if isinstance(value, dict | list):
        return _("(settings)")
    if isinstance(value, str):
        text = _date_text(value)
        if text is not None:
            return text
    return str(value)


@dataclass(frozen=True)
class Change:
    """One changed field: its name and its old and new value, in words."""

    label: str
    old: str
    new: str


def changes_of(entry: AuditEntry) -> list[Change]:
    """Return the entry's changed fields in words."""
    object_type = object_type_of(entry)
    result = []
    for key, pair in (entry.changes or {}).items():
        old, new = (
            ([*list(pair), None, None])[:2] if isinstance(pair, list | tuple) else (None, pair)
        )
        result.append(
            Change(
                field_label(key),
                value_text(key, old, object_type),
                value_text(key, new, object_type),
            )
        )
    return result


# Facts of an entry's details shown as notes; the rest (the object's own number, session
# ids, the token of an API request, ...) is shown elsewhere or not at all.
COUNT_NOTES = frozenset(
    {"lines", "units", "sessions_ended", "failures", "left", "count", "seconds"}
)
TEXT_NOTES = frozenset(
    {
        "client",
        "email",
        "reason",
        "filename",
        "error",
        "copied_from",
        "shipment",
        "url",
        "name",
        "secrets_changed",
        "secrets_removed",
    }
)


def _count_note(key: str, value: int) -> str:
    # One literal call per key, so that the extractor finds each msgid.
    if key == "lines":
        return ngettext("%(num)d line", "%(num)d lines", value)
    if key == "units":
        return ngettext("%(num)d unit", "%(num)d units", value)
    if key == "sessions_ended":
        return ngettext("%(num)d other session ended", "%(num)d other sessions ended", value)
    if key == "failures":
        return ngettext("%(num)d failed attempt", "%(num)d failed attempts", value)
    if key == "left":
        return ngettext("%(num)d recovery code left", "%(num)d recovery codes left", value)
    if key == "count":
        return ngettext("%(num)d code", "%(num)d codes", value)
    return ngettext("Wait %(num)d second", "Wait %(num)d seconds", value)


def _text_note(key: str, value: str) -> str:
    if key == "client":
        return _("Store: %(value)s", value=value)
    if key == "email":
        return _("E-mail address: %(value)s", value=value)
    if key == "reason":
        return _("Reason: %(value)s", value=value)
    if key == "filename":
        return _("File: %(value)s", value=value)
    if key == "error":
        return _("Error: %(value)s", value=value)
    if key == "copied_from":
        return _("Copied from order %(number)s", number=value)
    if key == "shipment":
        return _("Shipment: %(value)s", value=value)
    if key == "name":
        return _("Name: %(value)s", value=value)
    if key == "url":
        return _("URL: %(value)s", value=value)
    if key == "secrets_changed":
        return _("Secrets changed: %(names)s", names=value)
    return _("Secrets removed: %(names)s", names=value)


def notes_of(entry: AuditEntry) -> list[str]:
    """Return the facts of the entry's details worth showing, in words."""
    notes = []
    for key, value in (entry.details or {}).items():
        if value in (None, "", [], {}):
            continue
        if key in COUNT_NOTES and isinstance(value, int) and not isinstance(value, bool):
            notes.append(_count_note(key, value))
        elif key in TEXT_NOTES:
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            notes.append(_text_note(key, text))
    return notes


def secret_notes_of(entry: AuditEntry) -> list[str]:
    """Return which secrets the entry changed or removed (never their values), in words."""
    details = entry.details or {}
    return [
        _text_note(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
        for key in ("secrets_changed", "secrets_removed")
        if (value := details.get(key))
    ]


# --- whole entries ---------------------------------------------------------------------------


@dataclass
class PresentedEntry:
    """An audit entry ready to show or export."""

    entry: AuditEntry
    when: datetime
    who: str
    token: str
    action: str
    object_type: str
    object_name: str
    object_url: str | None
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ip_address(self) -> str:
        return self.entry.ip_address or ""


class Lookup:
    """Actors, tokens and objects of many entries, loaded with one statement per kind."""

    def __init__(self) -> None:
        self.users: dict[uuid.UUID, Any] = {}
        self.tokens: dict[str, Any] = {}
        self.objects: dict[tuple[str, str], Any] = {}

    def load(self, entries: Iterable[AuditEntry]) -> Lookup:
        from portal.accounts.models import User
        from portal.api.models import ApiToken

        entries = list(entries)
        user_ids = {e.actor_id for e in entries if e.actor_id} - set(self.users)
        token_ids = {t for e in entries if (t := (e.details or {}).get("api_token_id"))} - set(
            self.tokens
        )
        wanted: dict[str, set[str]] = defaultdict(set)
        for e in entries:
            kind = object_type_of(e)
            if kind and e.object_id and (kind, e.object_id) not in self.objects:
                wanted[kind].add(e.object_id)
        if user_ids:
            for user in db.session.scalars(select(User).where(User.id.in_(user_ids))):
                self.users[user.id] = user
        if token_ids:
            ids = _uuids(token_ids)
            if ids:
                for token in db.session.scalars(select(ApiToken).where(ApiToken.id.in_(ids))):
                    self.tokens[str(token.id)] = token
        for kind_name, ids in wanted.items():
            # Users who acted are loaded already; the objects of other kinds need one query.
            if kind_name == "Tenant":
                tenant = g.get("tenant") if has_request_context() else None
                for object_id in ids:
                    self.objects[(kind_name, object_id)] = (
                        tenant if tenant is not None and str(tenant.id) == object_id else None
                    )
                continue
            model = OBJECT_KINDS[kind_name].model()
            keys = _uuids(ids)
            if kind_name == "User":
                keys = [key for key in keys if key not in self.users]
                for object_id in ids:
                    with_user = self.users.get(_uuid(object_id))
                    if with_user is not None:
                        self.objects[(kind_name, object_id)] = with_user
            if keys:
                for obj in db.session.scalars(select(model).where(model.id.in_(keys))):
                    self.objects[(kind_name, str(obj.id))] = obj
            for object_id in ids:
                self.objects.setdefault((kind_name, object_id), None)
        return self


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    return [key for value in values if (key := _uuid(value)) is not None]


def _may_open(endpoint: str) -> bool:
    """Tell whether the viewer may open pages of ``endpoint``: the log is for admins, who
    see every page of their tenant; other viewers get no links to staff pages."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return False
    role = getattr(getattr(current_user, "role", None), "value", None)
    if role == "admin":
        return True
    if role == "staff":
        return not endpoint.startswith(("admin.", "admin_plugins.", "branding."))
    return False


def object_url(kind_name: str | None, obj: Any) -> str | None:
    """Return the link to the object's page, or None when it is gone or not for the viewer."""
    kind = OBJECT_KINDS.get(kind_name or "")
    if kind is None or obj is None or kind.endpoint is None or not _may_open(kind.endpoint):
        return None
    if kind.endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(kind.endpoint, **({kind.id_arg: obj.id} if kind.id_arg else {}))
    except BuildError:
        return None


def present(entries: Iterable[AuditEntry], lookup: Lookup | None = None) -> list[PresentedEntry]:
    """Return the entries in words, with who acted and a link to each object."""
    entries = list(entries)
    lookup = (lookup or Lookup()).load(entries)
    rows = []
    for entry in entries:
        kind_name = object_type_of(entry)
        obj = lookup.objects.get((kind_name, entry.object_id)) if kind_name else None
        token_id = (entry.details or {}).get("api_token_id")
        token = lookup.tokens.get(str(token_id)) if token_id else None
        user = lookup.users.get(entry.actor_id) if entry.actor_id else None
        notes = notes_of(entry)
        if obj is not None:
            name = OBJECT_KINDS[kind_name].name(obj)
        elif kind_name and entry.object_id:
            gone = (entry.details or {}).get("number") or (entry.details or {}).get("name")
            name = _("%(name)s (deleted)", name=gone) if gone else _("(deleted)")
        else:
            name = ""
        rows.append(
            PresentedEntry(
                entry=entry,
                when=entry.created_at,
                who=user.display_name if user is not None else _("System"),
                token=(token.name if token is not None else _("API token")) if token_id else "",
                action=action_label(entry.action),
                object_type=object_type_label(kind_name),
                object_name=name,
                object_url=object_url(kind_name, obj),
                changes=changes_of(entry),
                notes=notes,
            )
        )
    return rows


def present_stream(entries: Iterable[AuditEntry], batch: int = 500) -> Iterable[PresentedEntry]:
    """Present a long run of entries (an export) batch by batch, with one lookup of actors and
    objects per batch."""
    lookup = Lookup()
    chunk: list[AuditEntry] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= batch:
            yield from present(chunk, lookup)
            chunk = []
    if chunk:
        yield from present(chunk, lookup)
