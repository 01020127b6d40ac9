"""``portal worker``: the Celery worker that delivers the outbox and runs background jobs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Pool processes (default: PORTAL_WORKER_CONCURRENCY, 2).",
)
@click.option("--loglevel", default="INFO", show_default=True)
@with_appcontext
def worker(concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker on Redis (PORTAL_REDIS_URL): deliveries, imports, the sweep."""
    app = current_app._get_current_object()
    if not app.config.get("PORTAL_REDIS_URL"):
        raise click.ClickException(
            "portal worker needs Redis as its broker: set PORTAL_REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0). Without Redis, 'portal serve' runs the "
            "embedded worker in its own process."
        )
    try:
        import celery
        import redis  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "portal worker needs Celery and Redis: pip install 'supplyport[redis]'"
        ) from None
    from portal.worker.dispatch import celery_app

    celery = celery_app(app)
    argv = ["worker", "--pool", "prefork", "--loglevel", loglevel, "--without-mingle"]
    argv += [
        "--without-gossip",
        "--concurrency",
        str(concurrency or celery.conf.worker_concurrency),
    ]
    celery.worker_main(argv)
