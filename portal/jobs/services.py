"""Run background jobs: in a thread pool of the web process (embedded), or eagerly in tests.

A job handler gets the job and a ``progress(done, total)`` callback, runs inside the job's
tenant context as the user who started it, and returns a result dict, or raises
:class:`JobFailed` with the errors to show. The same handler can later run in a Celery
worker; only :func:`schedule` changes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import select, update

from portal.audit.services import Actor, acting_as
from portal.db import db, utcnow
from portal.jobs.models import Job, JobStatus
from portal.tenants.context import tenant_context

log = logging.getLogger(__name__)
Handler = Callable[[Job, Callable[[int, int], None]], dict[str, Any]]
_handlers: dict[str, Handler] = {}
_executor: ThreadPoolExecutor | None = None


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
    """Start the committed ``job``: now (tests, PORTAL_JOBS_EAGER) or in the thread pool."""
    app = current_app._get_current_object()
    tenant = job.tenant_id
    if app.config.get("PORTAL_JOBS_EAGER"):
        run_job(app, tenant, job.id, locale)
        return
    _pool().submit(run_job, app, tenant, job.id, locale)


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="portal-job")
    return _executor


def run_job(app: Flask, tenant_id: uuid.UUID, job_id: uuid.UUID, locale: str) -> None:
    """Run one job to its end, recording progress, result or errors on the job row."""
    from portal.tenants.models import Tenant

    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        with tenant_context(tenant), force_locale(locale):
            job = db.session.scalar(select(Job).where(Job.id == job_id))
            if job is None or job.status != JobStatus.QUEUED:
                return
            job.status = JobStatus.RUNNING
            job.started_at = utcnow()
            db.session.commit()

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
                    _finish(
                        job_id,
                        JobStatus.FAILED,
                        errors=[{"row": None, "message": str(failed.message)}, *failed.errors],
                    )
                except Exception:
                    log.exception("job %s (%s) crashed", job_id, job.kind)
                    db.session.rollback()
                    from flask_babel import gettext as _

                    _finish(
                        job_id,
                        JobStatus.FAILED,
                        errors=[
                            {
                                "row": None,
                                "message": _("The job failed unexpectedly. Please try again."),
                            }
                        ],
                    )
                else:
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
