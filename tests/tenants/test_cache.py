"""The tenant of a host is cached, and a saved change reaches every process at once."""

import os
import uuid

import pytest
import redis
from sqlalchemy import select

from portal.db import db
from portal.tenants.models import Tenant, TenantStatus
from portal.testing.fixtures import HostClient, close_app, make_test_app, provision_database

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def tenant_queries(counter) -> int:
    return sum(1 for statement in counter.statements if "FROM tenants" in statement)


def test_the_second_request_does_not_read_the_tenant_again(client_for, tenant, count_queries):
    browser = client_for(tenant)
    browser.get("/login")
    with count_queries() as counter:
        assert browser.get("/login").status_code == 200
    assert tenant_queries(counter) == 0


def test_a_committed_change_is_seen_on_the_next_request(app, client_for, tenant):
    browser = client_for(tenant)
    assert tenant.name in browser.get("/login").get_data(as_text=True)
    with app.app_context():
        db.session.get(Tenant, tenant.id).name = "Renamed Portal Ltd"
        db.session.commit()
    assert "Renamed Portal Ltd" in browser.get("/login").get_data(as_text=True)
    with app.app_context():
        db.session.get(Tenant, tenant.id).status = TenantStatus.SUSPENDED
        db.session.commit()
    assert browser.get("/login").status_code == 503


@pytest.fixture
def two_processes(tmp_path, smtp_server):
    """Two applications on one database and one Redis, like two worker processes."""
    database = provision_database(tmp_path)
    shared_redis = redis.Redis.from_url(REDIS_URL)
    shared_redis.flushdb()
    apps = [
        make_test_app(database, smtp_server.port, ENVIRON={"PORTAL_REDIS_URL": REDIS_URL})
        for _ in range(2)
    ]
    yield apps
    for app in apps:
        close_app(app)
    shared_redis.flushdb()
    shared_redis.close()
    database.drop()


def test_a_change_saved_in_one_process_is_seen_by_another(two_processes):
    first, second = two_processes
    slug = f"shared-{uuid.uuid4().hex[:6]}"
    from portal.testing import factories

    with first.app_context():
        factories.make_tenant(slug=slug, name="Before Ltd")
        db.session.commit()
    browsers = []
    for app in (first, second):
        app.test_client_class = HostClient
        browser = app.test_client()
        browser.host = f"{slug}.localhost"
        assert "Before Ltd" in browser.get("/login").get_data(as_text=True)
        browsers.append(browser)
    with second.app_context():
        db.session.scalar(select(Tenant).where(Tenant.slug == slug)).name = "After Ltd"
        db.session.commit()
    for browser in browsers:
        assert "After Ltd" in browser.get("/login").get_data(as_text=True)


SHARED_REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def two_installations(tmp_path, smtp_server):
    """Two applications on two databases that share one Redis database."""
    shared_redis = redis.Redis.from_url(SHARED_REDIS_URL)
    apps = []
    for name in ("one", "two"):
        directory = tmp_path / name
        directory.mkdir()
        database = provision_database(directory)
        app = make_test_app(
            database, smtp_server.port, ENVIRON={"PORTAL_REDIS_URL": SHARED_REDIS_URL}
        )
        apps.append((app, database))
    yield [app for app, _ in apps]
    for app, database in apps:
        for key in shared_redis.scan_iter(match=app.config["PORTAL_REDIS_PREFIX"] + "*"):
            shared_redis.delete(key)
        close_app(app)
        database.drop()
    shared_redis.close()


def test_installations_sharing_redis_do_not_read_each_others_tenants(two_installations):
    from portal.testing import factories

    slug = f"twin-{uuid.uuid4().hex[:6]}"
    browsers = []
    for app, name in zip(
        two_installations, ("First Installation", "Second Installation"), strict=True
    ):
        with app.app_context():
            factories.make_tenant(slug=slug, name=name)
            db.session.commit()
        app.test_client_class = HostClient
        browser = app.test_client()
        browser.host = f"{slug}.localhost"
        browsers.append(browser)
    prefixes = {app.config["PORTAL_REDIS_PREFIX"] for app in two_installations}
    assert len(prefixes) == 2

    assert "First Installation" in browsers[0].get("/login").get_data(as_text=True)
    page = browsers[1].get("/login").get_data(as_text=True)
    assert "Second Installation" in page
    assert "First Installation" not in page
    shared_redis = redis.Redis.from_url(SHARED_REDIS_URL)
    for prefix in prefixes:
        assert shared_redis.exists(f"{prefix}tenant-host:{slug}.localhost")
    shared_redis.close()
