"""``GET /api/v1/me``: who the token is — its name, scopes, owner and partner."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields

from portal.api.auth import current_token, requires
from portal.api.blueprints import resource_blueprint

bp = resource_blueprint("api_me", __name__, "/me", "The token that calls, and for whom it acts.")


class PartnerSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class MeSchema(Schema):
    token = fields.String(metadata={"description": "The token's public prefix"})
    name = fields.String()
    scopes = fields.List(fields.String())
    expires_at = fields.AwareDateTime(allow_none=True)
    owner = fields.String(metadata={"description": "E-mail address of the token's owner"})
    tenant = fields.String(metadata={"description": "The portal's tenant (its slug)"})
    supplier = fields.Nested(PartnerSchema, allow_none=True)
    client = fields.Nested(PartnerSchema, allow_none=True)


def _partner(partner):
    return {"id": partner.id, "name": partner.name} if partner is not None else None


@bp.route("")
@requires(None)
@bp.response(200, MeSchema)
def me():
    """Describe the calling token."""
    token = current_token()
    owner = token.owner
    return {
        "token": token.prefix,
        "name": token.name,
        "scopes": token.scopes,
        "expires_at": token.expires_at,
        "owner": str(owner.email),
        "tenant": g.tenant.slug,
        "supplier": _partner(owner.supplier if token.supplier_id else None),
        "client": _partner(owner.client if token.client_id else None),
    }
