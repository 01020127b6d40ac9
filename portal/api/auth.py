"""Who calls the API: the integration token in ``Authorization: Bearer``, and its scopes.

A token is looked up in the tenant of the host only, so another tenant's token is simply not
found (401). A token in the query string is refused outright (400): URLs end up in logs,
browser histories and referrers. While the request runs, audit entries name the token's
owner as the actor and carry the token's id in their details (``api_token_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import after_this_request, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from portal.api.models import ApiToken
from portal.api.problems import Problem
from portal.api.tokens import PREFIX, find_token
from portal.audit.services import Actor, reset_actor, set_actor
from portal.db import db, expect_writes, reset_expect_writes, utcnow
from portal.web import limits

#: Query parameters under which clients commonly send a token; any value that looks like
#: a token is refused too.
TOKEN_PARAMETERS = ("access_token", "token", "api_key", "apikey", "key")
#: How often the last use is written: once a minute is enough to show it, and spares writes.
LAST_USE_RESOLUTION = timedelta(minutes=1)

TOKEN_IN_URL = _l(
    "Integration tokens are not accepted in the address. Send the token in the "
    "Authorization header: Bearer <token>."
)
NO_TOKEN = _l("Send a valid integration token in the Authorization header: Bearer <token>.")
WRONG_PARTNER = _l("This token does not belong to a supplier.")
WRONG_CLIENT = _l("This token does not belong to a client.")
WRONG_TENANT = _l("This token does not act for the whole portal; an administrator's token does.")

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


def _refuse_token_in_url() -> None:
    for name, values in request.args.lists():
        if name.lower() in TOKEN_PARAMETERS or any(v.startswith(PREFIX) for v in values):
            raise Problem(400, "token_in_query", TOKEN_IN_URL)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _note_use(token: ApiToken) -> None:
    """Write the token's last use, at most once a minute; a busy database skips it."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USE_RESOLUTION:
        return
    token_id = token.id
    db.session.rollback()  # ends the reading transaction; the write gets its own
    writes = expect_writes(True)
    try:
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    except OperationalError:
        db.session.rollback()
    finally:
        reset_expect_writes(writes)


def _limit(token: ApiToken) -> None:
    """Count the request against the token's rate limit; refuse it (429) beyond the limit."""
    allowance = limits.count_api_request(token.id)
    if allowance is None:
        return
    headers = allowance.headers()
    if not allowance.allowed:
        detail = ngettext(
            "This token has sent too many requests. Please try again in %(num)d second.",
            "This token has sent too many requests. Please try again in %(num)d seconds.",
            allowance.reset,
        )
        raise Problem(429, detail=detail, headers=headers)

    @after_this_request
    def _headers(response):
        response.headers.update(headers)
        return response


def current_token() -> ApiToken:
    return g.api_token


def authenticate() -> ApiToken:
    """Return the request's token or raise the problem that refuses it."""
    _refuse_token_in_url()
    secret = _bearer()
    token = find_token(secret) if secret else None
    if token is None:
        raise Problem(401, "invalid_token", NO_TOKEN, headers=CHALLENGE)
    # Counted before anything is written: a flood costs its own token's budget only.
    _limit(token)
    _note_use(token)
    token = db.session.get(ApiToken, (token.tenant_id, token.id))
    g.api_token = token
    g._api_actor = set_actor(
        Actor(user_id=token.owner_id, ip_address=request.remote_addr, api_token_id=token.id)
    )
    return token


def leave(_exc=None) -> None:
    actor = g.pop("_api_actor", None)
    if actor is not None:
        reset_actor(actor)


def is_tenant_token(token: ApiToken) -> bool:
    """Whether ``token`` acts for the whole tenant: an admin's, bound to no client or supplier
    (checked on every request, so an owner who is no longer an admin loses the scope)."""
    from portal.accounts.models import Role

    return (
        token.client_id is None
        and token.supplier_id is None
        and token.owner is not None
        and token.owner.role == Role.ADMIN
    )


def requires(
    scope: str | None, *, supplier: bool = False, client: bool = False, tenant: bool = False
) -> Callable:
    """Let a view run only for a token with ``scope`` (None: any valid token) and, with
    ``supplier``, ``client`` or ``tenant``, only for a supplier's, a client's or an admin's
    (tenant-wide) token."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            token = authenticate()
            if scope is not None and scope not in (token.scopes or []):
                raise Problem(
                    403,
                    "insufficient_scope",
                    _("This token does not have the permission %(scope)s.", scope=scope),
                )
            if supplier and token.supplier_id is None:
                raise Problem(403, "not_a_supplier", WRONG_PARTNER)
            if client and token.client_id is None:
                raise Problem(403, "not_a_client", WRONG_CLIENT)
            if tenant and not is_tenant_token(token):
                raise Problem(403, "not_a_tenant_token", WRONG_TENANT)
            return view(*args, **kwargs)

        # The OpenAPI document states what each operation needs.
        docs = dict(getattr(wrapped, "_apidoc", {}))
        docs["manual_doc"] = {
            **docs.get("manual_doc", {}),
            "security": [{"bearerToken": [scope] if scope else []}],
        }
        wrapped._apidoc = docs
        return wrapped

    return decorate
