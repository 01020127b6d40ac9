"""``portal worker``: refuses clearly what it cannot do."""

from portal.worker.cli import worker


def test_the_worker_without_redis_says_what_to_set(app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_REDIS_URL", None)
    result = app.test_cli_runner().invoke(worker, [])

    assert result.exit_code == 1
    assert "PORTAL_REDIS_URL" in result.output
    assert "portal serve" in result.output
    assert "Traceback" not in result.output
