"""The portal: a multi-tenant, white-label supplier and fulfilment portal.

:func:`create_app` is the only way in; importing the package does nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings first, then each part in the order it depends on."""
    from portal.themes import ThemedEnvironment

    app = Flask(__name__, instance_relative_config=True)
    # Templates are looked up in the tenant's theme first (portal/themes.py).
    app.jinja_environment = ThemedEnvironment
    configure_settings(app, config)
    configure_proxy(app)
    configure_database(app)
    configure_plugins(app)
    configure_languages(app)
    configure_tenancy(app)
    configure_themes(app)
    configure_security(app)
    configure_accounts(app)
    configure_views(app)
    configure_api(app)
    configure_limits(app)
    configure_cli(app)
    return app


def configure_settings(app: Flask, overrides: dict[str, Any] | None) -> None:
    from portal.config import load_settings

    env = None
    if overrides and "ENVIRON" in overrides:
        env = overrides["ENVIRON"]
    app.config.from_mapping(load_settings(Path(app.instance_path), env))
    if overrides:
        app.config.from_mapping({k: v for k, v in overrides.items() if k != "ENVIRON"})


def configure_proxy(app: Flask) -> None:
    hops = app.config["PORTAL_PROXY_COUNT"]
    if hops:
        # X-Forwarded-* are believed only from the number of proxies the operator configured.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def configure_database(app: Flask) -> None:
    from flask_migrate import Migrate

    import portal.models  # noqa: F401 - every model registered before the mappers configure
    from portal.db import db

    db.init_app(app)
    Migrate(app, db, directory=str(Path(__file__).parent / "migrations"))


def configure_plugins(app: Flask) -> None:
    from portal.plugins import host

    host.init_app(app)


def configure_languages(app: Flask) -> None:
    from portal import i18n

    i18n.init_app(app)


def configure_tenancy(app: Flask) -> None:
    from portal.tenants import resolver

    resolver.init_app(app)


def configure_themes(app: Flask) -> None:
    from portal import themes

    themes.init_app(app)


def configure_security(app: Flask) -> None:
    from portal import security

    security.init_app(app)


def configure_accounts(app: Flask) -> None:
    from portal.accounts import login

    login.init_app(app)


BLUEPRINT_MODULES = (
    "portal.web.health",
    "portal.web.views",
    "portal.themes",
    "portal.accounts.views",
    "portal.accounts.second_factor_views",
    "portal.admin.views",
    "portal.admin.plugins",
    "portal.branding.views",
    "portal.web.products",
    "portal.web.stock",
    "portal.web.orders",
    "portal.web.imports",
    "portal.web.shipments",
    "portal.web.backorders",
    "portal.web.purchase_orders",
    "portal.web.ordering",
    "portal.web.suppliers",
    "portal.web.catalogue",
    "portal.web.supplier_portal",
    "portal.web.returns",
    "portal.web.addresses",
    "portal.web.clients",
    "portal.web.exports",
    "portal.webhooks.views",
    "portal.web.inbound",
)


def configure_views(app: Flask) -> None:
    from importlib import import_module

    from portal.web import errors, navigation

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    for module in BLUEPRINT_MODULES:
        app.register_blueprint(import_module(module).bp)
    errors.init_app(app)
    navigation.init_app(app)


def configure_api(app: Flask) -> None:
    from portal import api

    api.init_app(app)


def configure_limits(app: Flask) -> None:
    from portal.web import limits

    limits.init_app(app)


def configure_cli(app: Flask) -> None:
    from portal.cli import register_commands

    register_commands(app)
