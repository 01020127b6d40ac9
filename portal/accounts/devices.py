"""Known devices: a browser that once logged in as a user carries a signed cookie saying so.

While an account is throttled because someone guesses its password, the owner's own
browser still gets its password checked (see :func:`portal.accounts.services.authenticate`):
the guesser is slowed down, not the owner. The cookie is one per user (a browser may be
shared), signed with the secret key, HttpOnly, SameSite=Lax, Secure like the session cookie
and bound to the tenant's host. It says nothing but "this browser logged in as this user".
"""

from __future__ import annotations

import hashlib
import uuid

from flask import current_app, request
from flask.wrappers import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.tenants.context import require_tenant

COOKIE_PREFIX = "portal_device_"
SALT = "portal.known-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def cookie_name(user_id: uuid.UUID) -> str:
    # Not the id itself: the cookie names of a shared browser need not list its users.
    return COOKIE_PREFIX + hashlib.sha256(f"{SALT}:{user_id}".encode()).hexdigest()[:16]


def _max_age() -> int:
    return current_app.config["PORTAL_KNOWN_DEVICE_DAYS"] * 24 * 3600


def device_id(user) -> str | None:
    """Return the id of this request's browser as a known device of ``user``, or None."""
    raw = request.cookies.get(cookie_name(user.id))
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=_max_age())
    except BadSignature:  # also SignatureExpired
        return None
    tenant = require_tenant()
    if (
        not isinstance(data, dict)
        or data.get("u") != str(user.id)
        or data.get("t") != str(tenant.id)
    ):
        return None
    device = data.get("d")
    return device if isinstance(device, str) else None


def any_known_device() -> bool:
    """Whether the request carries a valid known-device cookie of the tenant in context."""
    tenant = str(require_tenant().id)
    for name, raw in request.cookies.items():
        if not name.startswith(COOKIE_PREFIX):
            continue
        try:
            data = _serializer().loads(raw, max_age=_max_age())
        except BadSignature:
            continue
        if isinstance(data, dict) and data.get("t") == tenant:
            return True
    return False


def remember_device(response: Response, user) -> None:
    """Mark this browser as a known device of ``user`` (again, for the full lifetime)."""
    device = device_id(user) or uuid.uuid4().hex
    token = _serializer().dumps({"u": str(user.id), "t": str(require_tenant().id), "d": device})
    config = current_app.config
    response.set_cookie(
        cookie_name(user.id),
        token,
        max_age=_max_age(),
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
        # Host-only, like the session cookie: never sent to another tenant's host.
        domain=None,
        path="/",
    )
