"""Response headers, CSRF protection, read or write transactions per request, and the
warning about Secure cookies over plain HTTP."""

from __future__ import annotations

from flask import Flask, current_app, g, request, request_started
from flask_wtf.csrf import CSRFProtect

from portal.db import expect_writes, reset_expect_writes

csrf = CSRFProtect()

# The methods that change nothing: CSRF lets them through, and their transactions only read.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

PLAIN_HTTP_WARNING = (
    "The portal runs in production mode (PORTAL_ENV=production), so session cookies are "
    "Secure, but a request arrived over plain HTTP: browsers do not send Secure cookies back "
    "over HTTP, so every login will fail. Serve the portal behind a reverse proxy with TLS "
    "and set PORTAL_PROXY_COUNT to the number of proxies (the proxy must send "
    "X-Forwarded-Proto: https), or set PORTAL_ENV=development for a local trial over plain "
    "HTTP."
)


def warn_about_plain_http(app: Flask) -> None:
    """Log :data:`PLAIN_HTTP_WARNING` once per application when cookies are Secure-only.

    Called at each request over plain HTTP; only the first one is logged.
    """
    if not app.config["SESSION_COOKIE_SECURE"] or app.extensions.get("portal.plain_http_warned"):
        return
    app.extensions["portal.plain_http_warned"] = True
    app.logger.warning(PLAIN_HTTP_WARNING)


def _begin_request_transactions(sender: Flask, **extra) -> None:
    # Sent before any before_request function, so the tenant look-up already begins its
    # transaction the right way (see portal.db._begin_sqlite).
    g._expect_writes_token = expect_writes(request.method not in SAFE_METHODS)


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    request_started.connect(_begin_request_transactions, app, weak=False)

    @app.teardown_request
    def _end_request_transactions(exc: BaseException | None) -> None:
        token = g.pop("_expect_writes_token", None)
        if token is not None:
            reset_expect_writes(token)

    @app.before_request
    def _warn_about_plain_http() -> None:
        # Health checks often come straight from a load balancer; they carry no cookies.
        if not request.is_secure and request.endpoint != "health.healthz":
            warn_about_plain_http(current_app._get_current_object())

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in headers:
            # Pages show one user's data; no shared cache may keep them.
            headers["Cache-Control"] = "no-store"
        return response
