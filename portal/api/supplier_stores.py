"""The supplier's own data for a token: its registration data per store (read and change, as
the supplier portal's stores page) and the mandatory data that applies to orders sent to it
(read only: which rule sets, with which settings).

Changes go through :func:`portal.core.suppliers.services.update_registration`, so the API
checks what the page checks, with the same words. A store another supplier trades with (or
another tenant's) is not found (404).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.auth import current_token, requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import SyncQuerySchema, page_schema, sync_page
from portal.api.problems import Problem
from portal.api.schemas import InputSchema, messages
from portal.core.suppliers import services
from portal.core.suppliers.models import Supplier, SupplierClient
from portal.db import db

READ = "stores:read"
WRITE = "stores:write"
TEXT = _l("Please enter text.")

bp = resource_blueprint(
    "api_supplier_stores",
    __name__,
    "/supplier",
    "The supplier's registration data per store, and the mandatory data its orders carry.",
)

SYNC_ORDER = [(SupplierClient.updated_at, False), (SupplierClient.id, False)]


# --- schemas ---------------------------------------------------------------------------------


class StoreContactSchema(InputSchema):
    name = fields.String()
    phone = fields.String()
    email = fields.String()


class SupplierStoreSchema(InputSchema):
    id = fields.UUID(metadata={"description": "The link between the supplier and the store"})
    store = fields.String(metadata={"description": "The store's name"})
    customer_number = fields.String(metadata={"description": "The store's number with you"})
    contact = fields.Nested(StoreContactSchema, metadata={"description": "The store's contact"})
    account_manager = fields.String()
    account_phone = fields.String()
    account_email = fields.String()
    payment_terms = fields.String()
    supplier_notes = fields.String()
    updated_at = fields.AwareDateTime()


StorePageSchema = page_schema("SupplierStorePage", SupplierStoreSchema)


def _text(description: str) -> fields.String:
    return fields.String(error_messages=messages(TEXT), metadata={"description": description})


class StoreRegistrationSchema(InputSchema):
    account_manager = _text("Your account manager for this store")
    account_phone = _text("Phone")
    account_email = _text("E-mail address")
    payment_terms = _text("Payment terms")
    supplier_notes = _text("Notes")


class RuleSetSettingSchema(InputSchema):
    name = fields.String()
    label = fields.String()
    value = fields.Raw(allow_none=True)


class MandatoryRuleSetSchema(InputSchema):
    key = fields.String()
    label = fields.String()
    description = fields.String()
    available = fields.Boolean(
        metadata={"description": "False while the rule set's plugin is switched off"}
    )
    fields_ = fields.List(
        fields.Nested(RuleSetSettingSchema),
        data_key="fields",
        metadata={"description": "The rule set's settings, e.g. which fields are required"},
    )
    settings = fields.Dict(metadata={"description": "The same settings as stored"})


class MandatoryDataSchema(InputSchema):
    rule_sets = fields.List(
        fields.Nested(MandatoryRuleSetSchema),
        metadata={"description": "The rule sets an order to this supplier must pass"},
    )


# --- stores ----------------------------------------------------------------------------------


def _own_links():
    return (
        select(SupplierClient)
        .where(SupplierClient.supplier_id == current_token().supplier_id)
        .options(selectinload(SupplierClient.client))
    )


def _load(link_id: uuid.UUID) -> SupplierClient:
    link = db.session.scalar(
        _own_links()
        .where(SupplierClient.id == link_id)
        .options(selectinload(SupplierClient.supplier))
    )
    if link is None:
        raise Problem(404)
    return link


def _store(link: SupplierClient) -> dict[str, Any]:
    return {
        "id": link.id,
        "store": link.client.name if link.client is not None else "",
        "customer_number": link.customer_number,
        "contact": {
            "name": link.contact_name,
            "phone": link.contact_phone,
            "email": link.contact_email,
        },
        **{name: getattr(link, name) for name in services.REGISTRATION_FIELDS},
        "updated_at": link.updated_at,
    }


@bp.route("/stores")
@requires(READ, supplier=True)
@bp.arguments(SyncQuerySchema, location="query")
@bp.response(200, StorePageSchema)
def list_stores(query):
    """The stores the supplier trades with and its registration data for each, oldest
    change first."""
    page, following, server_time = sync_page(
        _own_links(), SupplierClient.updated_at, SYNC_ORDER, query, ".list_stores"
    )
    return {
        "items": [_store(link) for link in page.items],
        "next": following,
        "server_time": server_time,
    }


@bp.route("/stores/<uuid:link_id>")
@requires(READ, supplier=True)
@bp.response(200, SupplierStoreSchema)
def get_store(link_id: uuid.UUID):
    """The supplier's registration data for one store."""
    return _store(_load(link_id))


def _update(body, link_id: uuid.UUID, *, replace: bool):
    link = _load(link_id)
    values = {
        name: body.get(name, "" if replace else getattr(link, name))
        for name in services.REGISTRATION_FIELDS
    }
    services.update_registration(link, values)
    db.session.flush()
    db.session.refresh(link)
    response = _store(link)
    db.session.commit()
    return response


@bp.route("/stores/<uuid:link_id>", methods=["PUT"])
@requires(WRITE, supplier=True)
@bp.arguments(StoreRegistrationSchema())
@bp.response(200, SupplierStoreSchema)
def put_store(body, link_id: uuid.UUID):
    """Set the registration data for the store (a field left out is cleared)."""
    return _update(body, link_id, replace=True)


@bp.route("/stores/<uuid:link_id>", methods=["PATCH"])
@requires(WRITE, supplier=True)
@bp.arguments(StoreRegistrationSchema())
@bp.response(200, SupplierStoreSchema)
def patch_store(body, link_id: uuid.UUID):
    """Change some of the registration data for the store (a field left out stays)."""
    return _update(body, link_id, replace=False)


# --- mandatory data --------------------------------------------------------------------------


def _settings_fields(form) -> list[dict[str, Any]]:
    if form is None:
        return []
    return [
        {"name": field.short_name, "label": str(field.label.text), "value": field.data}
        for field in form
    ]


@bp.route("/mandatory-data")
@requires(READ, supplier=True)
@bp.response(200, MandatoryDataSchema)
def mandatory_data():
    """The rule sets that apply to orders sent to the supplier, with their settings (for
    example which fields an order must carry). Change them on the supplier portal."""
    from portal.web import plugin_settings

    supplier = db.session.scalar(
        select(Supplier)
        .where(Supplier.id == current_token().supplier_id)
        .options(selectinload(Supplier.rule_sets))
    )
    stored = {choice.rule_set_key: dict(choice.settings or {}) for choice in supplier.rule_sets}
    rule_sets = []
    for choice in plugin_settings.rule_set_forms(supplier):
        if not choice.chosen:
            continue
        rule_sets.append(
            {
                "key": choice.key,
                "label": choice.label,
                "description": choice.description,
                "available": choice.available,
                "fields_": _settings_fields(choice.form),
                "settings": stored.get(choice.key, {}),
            }
        )
    return {"rule_sets": rule_sets}
