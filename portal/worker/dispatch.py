"""Hand work over to a worker: a job to run, a nudge that outbox rows wait.

Three ways, chosen by :func:`portal.worker.services.mode` and ``PORTAL_JOBS_EAGER``:

- eager (tests): the job runs at once in the caller;
- embedded (``portal serve``, ``portal demo``): a small thread pool of this process runs
  jobs; the embedded worker's thread delivers the outbox every few seconds;
- celery (``portal worker``): a task is published to Redis; web processes only publish.

A publish that fails (Redis down) is logged and otherwise ignored: the rows are committed,
and the sweep of the next living worker hands them over again.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.worker.services import mode

log = logging.getLogger(__name__)

RUN_JOB = "portal.run_job"
DELIVER_OUTBOX = "portal.deliver_outbox"
SWEEP = "portal.sweep"

_pool: ThreadPoolExecutor | None = None


def _job_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="portal-job")
    return _pool


def celery_app(app: Flask):
    """Return the Celery application of ``app`` (built on first use)."""
    celery = app.extensions.get("portal.celery")
    if celery is None:
        from portal.worker.celery import create_celery

        celery = app.extensions["portal.celery"] = create_celery(app)
    return celery


def publish(app: Flask, task: str, *args, **options) -> bool:
    """Send ``task`` to the Celery workers; return False (and log) when the broker is down."""
    try:
        celery_app(app).send_task(task, args=list(args), **options)
    except Exception as error:  # the broker's errors are many; none may fail the request
        log.warning("could not hand %s over to the workers (the sweep will): %s", task, error)
        return False
    return True


def dispatch_job(app: Flask, tenant_id: uuid.UUID, job_id: uuid.UUID) -> None:
    """Hand the committed, queued job over to whatever runs jobs here."""
    from portal.jobs.services import run_job

    if app.config.get("PORTAL_JOBS_EAGER"):
        run_job(app, tenant_id, job_id)
    elif mode(app) == "celery":
        publish(app, RUN_JOB, str(tenant_id), str(job_id))
    else:
        _job_pool().submit(run_job, app, tenant_id, job_id)


def nudge_outbox(app: Flask) -> None:
    """Tell the Celery workers that outbox rows are due (the embedded worker polls)."""
    if mode(app) == "celery":
        publish(app, DELIVER_OUTBOX)


# --- after commit: nudge the workers about new outbox rows ----------------------------------

_NEW_ROWS = "portal.new_outbox_rows"


@event.listens_for(Session, "after_flush")
def _note_new_outbox_rows(session: Session, flush_context) -> None:
    from portal.outbox.models import OutboxMessage

    if any(isinstance(obj, OutboxMessage) for obj in session.new):
        session.info[_NEW_ROWS] = True


@event.listens_for(Session, "after_commit")
def _nudge_after_commit(session: Session) -> None:
    if session.info.pop(_NEW_ROWS, False) and has_app_context():
        app = current_app._get_current_object()
        if not app.config.get("PORTAL_JOBS_EAGER"):
            nudge_outbox(app)


@event.listens_for(Session, "after_rollback")
def _forget_new_rows(session: Session) -> None:
    session.info.pop(_NEW_ROWS, None)
