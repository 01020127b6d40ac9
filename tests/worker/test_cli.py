"""``portal worker``: refuses clearly what it cannot do."""

from portal.worker.cli import worker


def test_the_worker_without_redis_says_what_to_set(app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_REDIS_URL", None)
    result = app.test_cli_runner().invoke(worker, [])

    assert result.exit_code == 1
    assert "PORTAL_REDIS_URL" in result.output
    assert "portal serve" in result.output
    assert "Traceback" not in result.output


def test_the_wsgi_entry_without_redis_warns_that_nothing_delivers(tmp_path):
    import os
    import secrets
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
        PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'portal.db'}",
    )
    result = subprocess.run(
        [sys.executable, "-c", "import portal.wsgi"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert "no worker delivers" in result.stderr
    assert "portal worker" in result.stderr
