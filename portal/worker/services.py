"""What every worker does besides its tasks: heartbeats, and the sweep that finds lost work.

The database, not the broker, is the source of truth. An outbox row stays ``pending`` until
it was delivered, and a job stays ``queued`` or ``running`` until it ended; a message to the
broker is only a nudge. So a worker periodically

- writes its heartbeat, which ``/healthz`` and the staff's dashboard read;
- takes up the jobs of workers whose heartbeat stopped (the process died mid-job): they run
  again, up to :data:`MAX_JOB_ATTEMPTS` times, and are then marked failed with a message;
- hands over again the jobs whose nudge was lost (queued long ago, never started);
- delivers the outbox rows that are due (a lost nudge costs one interval, nothing more).

The same functions serve the embedded worker of ``portal serve`` and the Celery worker of
``portal worker``; only how a job or a delivery is handed over differs (:mod:`portal.worker.dispatch`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select

from portal.db import db, utcnow
from portal.jobs.models import Job, JobStatus
from portal.tenants.context import tenant_context
from portal.tenants.platform import (
    due_outbox_messages,
    jobs_to_recover,
    tenant_waiting_work,
    waiting_work,
)
from portal.worker.models import WorkerHeartbeat

#: A worker counts as gone when it has not beaten for this many intervals.
STALE_INTERVALS = 3
#: A job whose worker died is run at most this many times in all.
MAX_JOB_ATTEMPTS = 3
#: A queued job handed over this many intervals ago (at least a minute) lost its nudge.
LOST_INTERVALS = 6


def mode(app: Flask | None = None) -> str:
    """Return how work is handed over: ``celery`` (Redis broker) or ``embedded``."""
    config = (app or current_app).config
    return config.get("PORTAL_WORKER") or (
        "celery" if config.get("PORTAL_REDIS_URL") else "embedded"
    )


def interval(app: Flask | None = None) -> int:
    """Return the seconds between two heartbeats (and sweeps) of a worker."""
    return int((app or current_app).config.get("PORTAL_WORKER_INTERVAL") or 10)


def worker_name(kind: str, *, inherit: bool = True) -> str:
    """Return the name under which this process beats: unique while it lives.

    A Celery pool process runs its tasks for the worker it was forked from, whose name it
    finds in ``PORTAL_WORKER_NAME`` (set by :func:`portal.worker.celery` before the fork).
    """
    inherited = os.environ.get("PORTAL_WORKER_NAME")
    if inherit and inherited and kind == "celery":
        return inherited
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


def beat(name: str, kind: str) -> None:
    """Record that the worker ``name`` is alive now, and commit."""
    heartbeat = db.session.get(WorkerHeartbeat, name)
    now = utcnow()
    if heartbeat is None:
        host, _sep, pid = name.partition("@")[2].rpartition(":")
        db.session.add(
            WorkerHeartbeat(
                name=name,
                kind=kind,
                hostname=host[:255],
                pid=int(pid) if pid.isdigit() else 0,
                started_at=now,
                seen_at=now,
            )
        )
    else:
        heartbeat.seen_at = now
    db.session.commit()


def forget(name: str) -> None:
    """Remove the heartbeat of a worker that stops cleanly, and commit."""
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))
    db.session.commit()


def _alive_since(app: Flask | None = None) -> datetime:
    return utcnow() - timedelta(seconds=STALE_INTERVALS * interval(app))


def alive_workers() -> list[str]:
    """Return the names of the workers that beat recently."""
    return list(
        db.session.scalars(
            select(WorkerHeartbeat.name).where(WorkerHeartbeat.seen_at >= _alive_since())
        )
    )


@dataclass(frozen=True)
class WorkerHealth:
    """Whether work waits for a worker, and whether one is alive to do it."""

    alive: int
    waiting_deliveries: int
    waiting_jobs: int

    @property
    def stalled(self) -> bool:
        """Work is waiting and no worker is alive to do it."""
        return not self.alive and bool(self.waiting_deliveries or self.waiting_jobs)


def _count_alive() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(WorkerHeartbeat)
            .where(WorkerHeartbeat.seen_at >= _alive_since())
        )
        or 0
    )


def health() -> WorkerHealth:
    """Count living workers and waiting work across all tenants (for ``/healthz``)."""
    # Heartbeats are a platform table; the tenants' work is counted by the platform query,
    # which sees past the tenant policy but answers with counts only.
    waiting = waiting_work(utcnow())
    return WorkerHealth(_count_alive(), waiting.deliveries, waiting.jobs)


def tenant_health() -> WorkerHealth:
    """Count living workers and the waiting work of the tenant in context (the dashboard's
    view; :func:`health` counts every tenant's)."""
    waiting = tenant_waiting_work(utcnow())
    return WorkerHealth(_count_alive(), waiting.deliveries, waiting.jobs)


def job_worker_gone_message(locale: str) -> str:
    """The error a job shows when its worker died too often while running it."""
    with force_locale(locale or "en"):
        return _(
            "The import stopped because the server running it ended, more than once. "
            "Nothing of it was saved; please start it again."
        )


def recover_jobs(app: Flask | None = None) -> list[tuple]:
    """Take up jobs whose worker is gone or whose hand-over was lost; commit.

    Returns ``(tenant_id, job_id)`` of the jobs to hand over again. Jobs that already ran
    :data:`MAX_JOB_ATTEMPTS` times are marked failed instead.
    """
    from portal.tenants.models import Tenant

    now = utcnow()
    alive = set(alive_workers())
    lost_before = now - timedelta(seconds=max(60, LOST_INTERVALS * interval(app)))
    # A worker that died right after claiming a job may not have beaten yet.
    grace = now - timedelta(seconds=STALE_INTERVALS * interval(app))
    # Only ids cross tenants; each tenant's jobs are then locked, checked again and changed
    # inside its own tenant context.
    candidates: dict = {}
    for tenant_id, job_id in jobs_to_recover(started_before=grace, dispatched_before=lost_before):
        candidates.setdefault(tenant_id, []).append(job_id)
    db.session.commit()
    again = []
    for tenant_id, job_ids in candidates.items():
        tenant = db.session.get(Tenant, tenant_id)
        if tenant is None:
            continue
        with tenant_context(tenant):
            jobs = db.session.scalars(
                select(Job)
                .where(
                    Job.id.in_(job_ids),
                    or_(
                        (Job.status == JobStatus.RUNNING) & (Job.started_at < grace),
                        (Job.status == JobStatus.QUEUED) & (Job.dispatched_at < lost_before),
                    ),
                )
                .with_for_update(skip_locked=True)
            ).all()
            for job in jobs:
                if job.status == JobStatus.QUEUED:
                    job.dispatched_at = now
                    again.append((job.tenant_id, job.id))
                    continue
                if job.worker in alive:
                    continue
                if job.attempts >= MAX_JOB_ATTEMPTS:
                    job.status = JobStatus.FAILED
                    job.finished_at = now
                    job.input_data = None
                    job.errors = [{"row": None, "message": job_worker_gone_message(job.locale)}]
                    continue
                job.status = JobStatus.QUEUED
                job.worker = None
                job.dispatched_at = now
                again.append((job.tenant_id, job.id))
            db.session.commit()
    return again


def due_deliveries() -> bool:
    """Tell whether outbox rows are due for delivery (in any tenant)."""
    found = due_outbox_messages(utcnow(), 1)
    db.session.commit()
    return bool(found)
