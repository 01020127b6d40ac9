"""Run background jobs: on a worker (Celery or the embedded one), or eagerly in tests.

A job handler gets the job and a ``progress(done, total)`` callback, runs inside the job's
tenant context as the user who started it, and returns a result dict, or raises
:class:`JobFailed` with the errors to show. The handler does not commit: what it wrote is
committed together with the job's end, so a worker that dies mid-job leaves nothing half
done, and the job can run again (:mod:`portal.worker.services` takes it up). ``progress``
commits the session, so a handler reports progress only before it writes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from portal.audit.services import Actor, acting_as
from portal.db import db, utcnow
from portal.jobs.models import Job, JobStatus
from portal.tenants.context import tenant_context

log = logging.getLogger(__name__)
Handler = Callable[[Job, Callable[[int, int], None]], dict[str, Any]]
_handlers: dict[str, Handler] = {}


class JobFailed(Exception):
    """The job's input was refused; ``errors`` are shown to the user."""

    def __init__(self, message, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.errors = errors or []


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind``."""

    def register(func: Handler) -> Handler:
        _handlers[kind] = func
        return func

    return register


def create_job(
    kind: str, *, data: bytes, name: str, created_by_id, client_id=None, options=None
) -> Job:
    """Add a queued job to the current transaction."""
    if kind not in _handlers:
        raise LookupError(f"no job handler for {kind!r}")
    job = Job(
        kind=kind,
        input_data=data,
        input_name=name[:255],
        created_by_id=created_by_id,
        client_id=client_id,
        options=options or {},
    )
    db.session.add(job)
    return job


def schedule(job: Job, locale: str) -> None:
    """Hand the committed ``job`` over to a worker, to run in ``locale``; commits."""
    from portal.worker.dispatch import dispatch_job

    app = current_app._get_current_object()
    job.locale = locale
    job.dispatched_at = utcnow()
    tenant_id, job_id = job.tenant_id, job.id
    db.session.commit()
    dispatch_job(app, tenant_id, job_id)


def run_job(app: Flask, tenant_id: uuid.UUID, job_id: uuid.UUID, locale: str | None = None) -> None:
    """Run one queued job to its end, recording progress, result or errors on the job row.

    The job is claimed first (queued -> running, in one UPDATE): of two workers handed the
    same job, one runs it and the other returns.
    """
    from portal.tenants.models import Tenant
    from portal.worker.services import mode, worker_name

    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        if tenant is None:
            return
        with tenant_context(tenant):
            claimed = db.session.execute(
                update(Job)
                .where(Job.tenant_id == tenant.id, Job.id == job_id)
                .where(Job.status == JobStatus.QUEUED)
                .values(
                    status=JobStatus.RUNNING,
                    started_at=utcnow(),
                    worker=worker_name(mode(app)),
                    attempts=Job.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
            if not claimed:
                return
            job = db.session.scalar(select(Job).where(Job.id == job_id))
            with force_locale(locale or job.locale):
                _run_claimed(job)


def _run_claimed(job: Job) -> None:
    job_id = job.id

    def progress(done: int, total: int) -> None:
        # Its own small UPDATE and commit, so that the page polling the job sees it.
        db.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(done=done, total=total)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()

    with acting_as(Actor(user_id=job.created_by_id)):
        try:
            result = _handlers[job.kind](job, progress)
        except JobFailed as failed:
            db.session.rollback()
            errors = [{"row": None, "message": str(failed.message)}, *failed.errors]
            _finish(job_id, JobStatus.FAILED, errors=errors)
        except Exception:
            log.exception("job %s (%s) crashed", job_id, job.kind)
            db.session.rollback()
            message = _("The job failed unexpectedly. Please try again.")
            _finish(job_id, JobStatus.FAILED, errors=[{"row": None, "message": message}])
        else:
            # The handler's writes and the job's end are committed together.
            _finish(job_id, JobStatus.DONE, result=result)


def _finish(job_id, status: JobStatus, *, result=None, errors=None) -> None:
    job = db.session.scalar(select(Job).where(Job.id == job_id))
    job.status = status
    job.finished_at = utcnow()
    job.input_data = None
    if status == JobStatus.DONE:
        job.done = job.total
    job.result = result or {}
    job.errors = errors or []
    db.session.commit()
