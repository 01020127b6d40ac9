"""``/healthz``: liveness and a database check, on any host, for load balancers."""

import secrets

import pytest

from portal import create_app
from portal.db import db
from portal.testing.fixtures import free_port


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "tenant-less.localhost"])
def test_health_is_ok_with_a_database(client_for, host):
    response = client_for(host).get("/healthz")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert body["worker"] in {"ok", "idle"}
    assert "no-store" in response.headers["Cache-Control"]


def test_health_answers_on_a_tenant_host(client_for, tenant):
    assert client_for(tenant).get("/healthz").get_json()["status"] == "ok"


def unreachable_app(database_url: str):
    """Build the application on a database it cannot reach, without migrating."""
    return create_app(
        {
            "ENVIRON": {
                "PORTAL_ENV": "development",
                "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
                "PORTAL_DATABASE_URL": database_url,
            },
            "TESTING": True,
        }
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_health_reports_an_unreachable_database(tmp_path, backend):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'no-such-directory' / 'portal.db'}"
    else:
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens
    application = unreachable_app(url)
    try:
        response = application.test_client().get("/healthz", base_url="http://localhost")

        assert response.status_code == 503
        assert response.get_json() == {"status": "error", "database": "unreachable"}
        # The check does not wedge the application: it answers the same way again.
        assert application.test_client().get("/healthz").status_code == 503
    finally:
        with application.app_context():
            db.engine.dispose()
