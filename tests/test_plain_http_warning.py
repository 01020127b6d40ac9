"""Production mode over plain HTTP: a clear warning, once, that logins will fail."""

from __future__ import annotations

import logging

import pytest

from portal.db import db
from portal.testing import factories
from portal.testing.fixtures import HostClient, provision_database, separate_app


@pytest.fixture(scope="module")
def production_app(tmp_path_factory):
    database = provision_database(tmp_path_factory.mktemp("production"))
    with separate_app(database, mail_port=1, ENVIRON={"PORTAL_ENV": "production"}) as app:
        with app.app_context():
            slug = factories.make_tenant().slug
            db.session.commit()
        app.test_client_class = HostClient
        yield app, slug


@pytest.fixture(autouse=True)
def not_warned_yet(production_app):
    production_app[0].extensions.pop("portal.plain_http_warned", None)


def browser(app, slug: str, scheme: str) -> HostClient:
    client = app.test_client()
    client.host, client.scheme = f"{slug}.localhost", scheme
    return client


def warnings_logged(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "PORTAL_PROXY_COUNT" in record.getMessage()
    ]


def test_https_and_health_checks_do_not_warn(production_app, caplog):
    app, slug = production_app
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with caplog.at_level(logging.WARNING):
        assert browser(app, slug, "https").get("/login").status_code == 200
        assert browser(app, "www", "http").get("/healthz").status_code == 200
    assert warnings_logged(caplog) == []


def test_the_first_plain_http_request_warns_once(production_app, caplog):
    app, slug = production_app
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert browser(app, slug, "http").get("/login").status_code == 200
    [warning] = warnings_logged(caplog)
    assert "every login will fail" in warning
    assert "Secure" in warning
    assert "PORTAL_ENV=development" in warning
