"""The scale-out worker: Celery on Redis, running the same task code as the embedded worker.

Delivery is at least once, and made harmless by the tasks: outbox rows are claimed row by
row and carry an idempotency key, jobs are claimed with one UPDATE. Hence late
acknowledgement and tasks rejected on worker loss (a pool process killed mid-task gives its
task back at once), one task prefetched at a time, and no countdowns: a retry waits in the
outbox row's ``next_attempt_at``, never in the broker, so no message outlives the broker's
visibility timeout. What the broker loses when a whole worker dies, the periodic sweep
finds again in the database (:mod:`portal.worker.services`).
"""

from __future__ import annotations

import logging
import os

from celery import Celery, bootsteps
from celery.signals import worker_process_init
from flask import Flask

from portal.worker import dispatch, services

log = logging.getLogger(__name__)

#: Seconds a task may stay unacknowledged before Redis hands it to another worker.
VISIBILITY_TIMEOUT = 3600


def installation_prefix(app: Flask) -> str:
    """Return the installation's name on Redis (``PORTAL_REDIS_PREFIX`` without its colon)."""
    return str(app.config["PORTAL_REDIS_PREFIX"]).rstrip(":")


def create_celery(app: Flask) -> Celery:
    """Build the Celery application of the Flask ``app``, with the portal's tasks."""
    broker = app.config.get("PORTAL_REDIS_URL")
    if not broker:
        raise RuntimeError("the Celery worker needs PORTAL_REDIS_URL (Redis is its broker)")
    celery = Celery("portal", broker=broker, set_as_current=False)
    prefix = installation_prefix(app)
    celery.conf.update(
        task_default_queue=prefix,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_concurrency=app.config.get("PORTAL_WORKER_CONCURRENCY") or 2,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        # Every key of the broker carries the installation's prefix: two installations may
        # share one Redis database without taking each other's tasks.
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT,
            "global_keyprefix": f"{prefix}:",
        },
        # A web request never waits long for a broker that is down: the sweep catches up.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        broker_connection_timeout=3,
    )

    class FlaskTask(celery.Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery.Task = FlaskTask
    celery.flask_app = app
    _register_tasks(celery, app)
    celery.steps["worker"].add(Heartbeat)

    def fresh_connections(**kwargs) -> None:
        # A forked pool process must not share the main process's database connections.
        from portal.db import db

        with app.app_context():
            db.engine.dispose(close=False)

    worker_process_init.connect(fresh_connections, weak=False)
    return celery


def _register_tasks(celery: Celery, app: Flask) -> None:
    import uuid

    from portal.jobs.services import run_job
    from portal.outbox.services import drain
    from portal.tenants import domains

    @celery.task(name=dispatch.DELIVER_OUTBOX)
    def deliver_outbox() -> int:
        """Deliver every due outbox row, a batch at a time."""
        return drain()

    @celery.task(name=dispatch.RUN_JOB)
    def run_job_task(tenant_id: str, job_id: str) -> None:
        """Run one background job (an import)."""
        run_job(app, uuid.UUID(tenant_id), uuid.UUID(job_id))

    @celery.task(name=dispatch.SWEEP)
    def sweep() -> None:
        """Take up lost jobs and nudge the delivery of due outbox rows and domain checks."""
        for tenant_id, job_id in services.recover_jobs(app):
            dispatch.publish(app, dispatch.RUN_JOB, str(tenant_id), str(job_id))
        if services.due_deliveries():
            dispatch.publish(app, dispatch.DELIVER_OUTBOX)
        domains.sweep(app)

    @celery.task(name=domains.CHECK_DOMAINS_TASK)
    def check_domains() -> int:
        """Check the pending custom domains that are due (DNS record or well-known file)."""
        return domains.check_due_domains(app)


class Heartbeat(bootsteps.StartStopStep):
    """Beat and sweep from the worker's main process, every ``PORTAL_WORKER_INTERVAL``.

    The beat is written by the main process, so it says the worker is alive even while
    every pool process runs a long job; the sweep runs as a task in the pool.
    """

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs) -> None:
        super().__init__(worker, **kwargs)
        self.timer_ref = None
        self.name = services.worker_name("celery", inherit=False)
        # Pool processes are forked after this: they run their jobs under this name.
        os.environ["PORTAL_WORKER_NAME"] = self.name

    def start(self, worker) -> None:
        app = worker.app.flask_app
        every = services.interval(app)
        self.tick(worker)
        self.timer_ref = worker.timer.call_repeatedly(every, self.tick, (worker,), priority=10)
        log.info("worker %s beats every %d s", self.name, every)

    def tick(self, worker) -> None:
        app = worker.app.flask_app
        with app.app_context():
            try:
                services.beat(self.name, "celery")
            except Exception:
                log.exception("could not write the heartbeat")
                from portal.db import db

                db.session.rollback()
                return
        every = services.interval(app)
        dispatch.publish(app, dispatch.SWEEP, expires=2 * every)

    def stop(self, worker) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        app = worker.app.flask_app
        with app.app_context():
            try:
                services.forget(self.name)
            except Exception:
                log.warning("could not remove the heartbeat of %s", self.name)
