"""Rate limits (Flask-Limiter) on what costs others something: logins, password-reset
requests, invitations, uploads, and every request to the integration API (per token).

Counts live in Redis when ``PORTAL_REDIS_URL`` is set, shared by every process of the
installation (keys start with ``PORTAL_REDIS_PREFIX``), else in the process's memory. Every
key names the tenant: each portal counts for itself. The limits are settings
(``PORTAL_RATE_LIMIT_*``, see :mod:`portal.config`); a refusal is a 429 page in the
visitor's language with ``Retry-After``.

The per-account login throttle with its growing delays lives in
:func:`portal.accounts.services.authenticate`; the login limit here is the coarse one in
front of it, per client address, counting only refused attempts.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from limits import parse, parse_many

EXTENSION = "portal.limiter"
#: The limit on the integration API, per token; several may be given ("600/minute;20/second").
API_SETTING = "PORTAL_API_RATE_LIMIT"
API_DEFAULT = "600 per minute"
log = logging.getLogger(__name__)


def _tenant_part() -> str:
    tenant = g.get("tenant")
    return str(tenant.id) if tenant is not None else "platform"


def by_client_address() -> str:
    """The key of limits per client address (on the tenant's portal)."""
    return f"{_tenant_part()}:address:{request.remote_addr or 'unknown'}"


def by_recipient() -> str:
    """The key of limits per e-mail address typed into the form (known or not alike)."""
    email = (request.form.get("email") or "").strip().lower()[:254]
    return f"{_tenant_part()}:recipient:{email}"


def by_user() -> str:
    """The key of limits per logged-in user (anonymous visitors by address)."""
    if current_user.is_authenticated:
        return f"{_tenant_part()}:user:{current_user.id}"
    return by_client_address()


def _refused(response) -> bool:
    # A login that worked redirects; every other answer to the form counts.
    return response.status_code != 302


def _known_device() -> bool:
    from portal.accounts.devices import any_known_device

    return g.get("tenant") is not None and any_known_device()


@dataclass(frozen=True)
class EndpointLimit:
    """A limit (the name of its setting) on the POSTs to one endpoint."""

    endpoint: str
    setting: str
    key: Callable[[], str]
    deduct_when: Callable | None = None
    exempt_when: Callable[[], bool] | None = None


LIMITS = (
    EndpointLimit(
        "accounts.login",
        "PORTAL_RATE_LIMIT_LOGIN",
        by_client_address,
        deduct_when=_refused,
        # The owner's own browser is not held up by someone else's guessing from the same
        # address; it has a limit of its own (authenticate).
        exempt_when=_known_device,
    ),
    EndpointLimit(
        "accounts.forgot_password", "PORTAL_RATE_LIMIT_PASSWORD_RESET", by_client_address
    ),
    EndpointLimit(
        "accounts.forgot_password", "PORTAL_RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT", by_recipient
    ),
    EndpointLimit("admin.new_user", "PORTAL_RATE_LIMIT_INVITATIONS", by_user),
    EndpointLimit("clients.invite", "PORTAL_RATE_LIMIT_INVITATIONS", by_user),
    EndpointLimit("suppliers.invite", "PORTAL_RATE_LIMIT_INVITATIONS", by_user),
    EndpointLimit("imports.new", "PORTAL_RATE_LIMIT_UPLOADS", by_user),
    EndpointLimit("catalogue.upload", "PORTAL_RATE_LIMIT_UPLOADS", by_user),
    EndpointLimit("supplier_portal.upload", "PORTAL_RATE_LIMIT_UPLOADS", by_user),
)


def _storage(app: Flask) -> tuple[str, dict]:
    url = app.config["PORTAL_REDIS_URL"]
    if not url:
        return "memory://", {}
    return url, {"key_prefix": app.config["PORTAL_REDIS_PREFIX"] + "limits", "socket_timeout": 2}


def _setting(name: str) -> Callable[[], str]:
    # Read at each request, so that a test (or a reloaded configuration) may change it.
    return lambda: current_app.config[name]


def init_app(app: Flask) -> None:
    """Put the limits on their endpoints (after the blueprints are registered) and answer
    refusals with the 429 page."""
    from portal.config import _rate_limit

    # Bursts are welcome: the moving window lets a token send its whole minute at once.
    app.config.setdefault(API_SETTING, _rate_limit(os.environ, "API_RATE_LIMIT", API_DEFAULT))
    storage_uri, storage_options = _storage(app)
    limiter = Limiter(
        key_func=by_client_address,
        storage_uri=storage_uri,
        storage_options=storage_options,
        strategy="moving-window",
        # Redis down: count in memory for a while rather than refuse every login.
        in_memory_fallback_enabled=True,
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    for limit in LIMITS:
        view = app.view_functions[limit.endpoint]  # a renamed endpoint fails at start-up
        app.view_functions[limit.endpoint] = limiter.limit(
            _setting(limit.setting),
            key_func=limit.key,
            methods=["POST"],
            deduct_when=limit.deduct_when,
            exempt_when=limit.exempt_when,
            scope=limit.setting,
        )(view)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def _retry_after() -> int:
    current = current_app.extensions[EXTENSION].current_limit
    if current is None:
        return 1
    return max(math.ceil(current.reset_at - time.time()), 1)


def too_many_requests_page(seconds: int):
    """Return the 429 page saying when to try again, with ``Retry-After``."""
    message = ngettext(
        "You have sent this too often. Please try again in %(num)d second.",
        "You have sent this too often. Please try again in %(num)d seconds.",
        seconds,
    )
    page = render_template(
        "errors/error.html", code=429, title=_l("Too many requests"), message=message
    )
    return page, 429, {"Retry-After": str(seconds)}


def _too_many_requests(error: RateLimitExceeded):
    return too_many_requests_page(_retry_after())


def spend(category: str, key: str, setting: str) -> int:
    """Count one attempt of ``category`` by ``key`` against the limit in ``setting``; return
    0 when it is within the limit, else the seconds until it would be."""
    limiter = current_app.extensions[EXTENSION]
    item = parse(current_app.config[setting])
    identifiers = (_tenant_part(), category, key)
    try:
        if limiter.limiter.hit(item, *identifiers):
            return 0
        reset_at, _remaining = limiter.limiter.get_window_stats(item, *identifiers)
    except Exception as error:  # the storage's errors are many (Redis down); none may fail a login
        log.warning("rate limit storage failed, %s not counted: %s", category, error)
        return 0
    return max(math.ceil(reset_at - time.time()), 1)


@dataclass(frozen=True)
class ApiAllowance:
    """Where a token stands against the API's limit: for the ``RateLimit`` headers."""

    allowed: bool
    limit: int
    window: int  # seconds
    remaining: int
    reset: int  # seconds until a request is free again

    def headers(self) -> dict[str, str]:
        """The headers of the IETF draft "RateLimit header fields for HTTP"."""
        headers = {
            "RateLimit-Policy": f'"token";q={self.limit};w={self.window}',
            "RateLimit": f'"token";r={self.remaining};t={self.reset}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


def count_api_request(token_id) -> ApiAllowance | None:
    """Count one API request of the token against :data:`API_SETTING`.

    Each token counts for itself (keyed by the tenant and the token's id), so one
    integration's flood never slows another's. Returns the strictest limit's state, the
    refusing one if any refuses; None if the storage failed (the request is let through).
    """
    limiter = current_app.extensions[EXTENSION]
    identifiers = (_tenant_part(), "api", str(token_id))
    strictest = None
    for item in parse_many(current_app.config[API_SETTING]):
        try:
            allowed = limiter.limiter.hit(item, *identifiers)
            reset_at, remaining = limiter.limiter.get_window_stats(item, *identifiers)
        except Exception as error:  # Redis down: serve rather than refuse every integration
            log.warning("rate limit storage failed, API request not counted: %s", error)
            return None
        allowance = ApiAllowance(
            allowed=allowed,
            limit=item.amount,
            window=item.get_expiry(),
            remaining=max(remaining, 0),
            reset=max(math.ceil(reset_at - time.time()), 1 if not allowed else 0),
        )
        if not allowed:
            return allowance
        if strictest is None or allowance.remaining < strictest.remaining:
            strictest = allowance
    return strictest
