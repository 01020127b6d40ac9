"""The client walkthrough of docs/api.md, run as written: its curl commands against a live
server (real HTTP on 127.0.0.1), so the documentation cannot rot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from portal.api import tokens
from portal.core.orders.models import Order
from portal.core.orders.services import pick_order, ship_order
from portal.db import db
from portal.tenants.context import TenantRef, tenant_context
from portal.testing import factories
from portal.testing.fixtures import provision_database, separate_app

DOCS = Path(__file__).parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"<!-- walkthrough: ([a-z-]+) -->\n```sh\n(.*?)```", re.S)

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")),
    reason="the walkthrough needs bash, curl and jq",
)


def walkthrough() -> dict[str, str]:
    return dict(BLOCK.findall(DOCS.read_text(encoding="utf-8")))


def test_the_docs_name_the_blocks_this_test_runs():
    assert set(walkthrough()) == {"client-order", "client-shipment"}


@pytest.fixture
def live(tmp_path, smtp_server):
    """A portal on 127.0.0.1 with a thread per request, on a database of its own."""
    with separate_app(provision_database(tmp_path), smtp_server.port) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield app, server.server_port
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


def run(block: str, tmp_path: Path, **env: str) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
        check=False,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def test_a_webshop_follows_the_walkthrough_to_the_shipment(live, tmp_path):
    app, port = live
    with app.app_context():
        tenant = factories.make_tenant()
        client = factories.make_client(tenant, name="Walkthrough Shop")
        user = factories.make_user(tenant, "client", client=client)
        factories.make_product(tenant, client, code="BOOT-1", name="Boots", stock=5)
        with tenant_context(tenant):
            secret = tokens.create_token(
                user, "Webshop", ["orders:read", "orders:write", "products:read"]
            ).secret
        slug = tenant.slug
        ref = TenantRef(id=tenant.id, slug=tenant.slug)
        db.session.commit()
    host = f"{slug}.localhost"
    # curl finds the tenant's host on 127.0.0.1 without any name service.
    (tmp_path / ".curlrc").write_text(f"resolve = {host}:{port}:127.0.0.1\n")
    env = {"HOST": f"http://{host}:{port}", "TOKEN": secret, "CURL_HOME": str(tmp_path)}
    blocks = walkthrough()

    out = run(blocks["client-order"], tmp_path, **env)
    assert "BOOT-1 5" in out
    order_id = re.search(r"^order (\S+)$", out, re.M).group(1)
    assert "processing" in out
    assert "BOOT-1 2 allocated" in out
    with app.app_context(), tenant_context(ref):
        orders = db.session.scalars(select(Order)).all()
        assert [str(order.id) for order in orders] == [order_id]  # one order, sent twice
        pick_order(orders[0])
        ship_order(orders[0], "DHL", "JJD0099")
        db.session.commit()

    out = run(blocks["client-shipment"], tmp_path, ORDER=order_id, **env)
    assert "WEB-1001 shipped" in out
    assert re.search(r"DHL JJD0099 https://www\.dhl\.com/\S+JJD0099", out)
    assert uuid.UUID(order_id)
