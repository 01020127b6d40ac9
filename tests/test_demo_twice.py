"""``portal demo`` run twice on the same database serves a portal where logins work."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from live_http import LiveBrowser, wait_until_serving

from portal.demo import DEMO_PASSWORD
from portal.testing.fixtures import free_port

PORTAL = str(Path(sys.executable).with_name("portal"))


def serve_demo_and_log_in(workdir: Path, env: dict[str, str], run: int) -> None:
    port = free_port()
    log = workdir / f"demo-{run}.log"
    with log.open("wb") as output:
        demo = subprocess.Popen(
            [PORTAL, "demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        serving = wait_until_serving(port, 120, alive=lambda: demo.poll() is None)
        assert serving, f"run {run}: not serving within 120 seconds:\n{log.read_text()}"
        browser = LiveBrowser(port, "acme.localhost")
        response = browser.login("admin@acme.test", DEMO_PASSWORD)
        assert response.status == 302, f"run {run}: {response.status}\n{log.read_text()}"
        assert browser.get("/dashboard").status == 200
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=15)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait(timeout=15)


def test_the_demo_serves_working_logins_the_second_time_too(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env.update(
        PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}",
        PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
    )
    for run in (1, 2):
        serve_demo_and_log_in(tmp_path, env, run)
    assert "already present" in (tmp_path / "demo-2.log").read_text()
