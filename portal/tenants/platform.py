"""Cross-tenant questions of platform code, answered without lifting the wall between tenants.

The outbox worker, the sweep for lost jobs and ``/healthz`` must know what waits in *any*
tenant. They ask here, get ``(tenant_id, id)`` pairs or counts back, and then do the work on
each row inside ``tenant_context(<its tenant>)``, where scoping and row-level security apply
as everywhere else.

- On PostgreSQL the answers come from ``SECURITY DEFINER`` functions, created by migration
  ``5d2e9f1a7c30``. They run as the tables' owner with a pinned ``search_path``, return ids
  and counts only, and the application role may execute them but cannot change what they
  look at. The tenant policy itself honours no setting but ``portal.tenant_id``, so an SQL
  injection in the application can ask these questions and nothing more.
- On SQLite, which has no row-level security, the same questions are plain queries that skip
  the ORM's tenant filter with :data:`~portal.tenants.scoping.ALL_TENANTS_OPTION`.

Both implementations of each question sit side by side below; a change to one needs the same
change to the other, and on PostgreSQL a migration that replaces the function.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, text

from portal.db import UTCDateTime, db
from portal.jobs.models import Job, JobStatus
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.tenants.scoping import ALL_TENANTS_OPTION

#: The names of the functions the application role may execute (granted by
#: ``portal/migrations/env.py`` after every migration).
FUNCTIONS = (
    "portal_due_outbox_messages",
    "portal_waiting_work",
    "portal_jobs_to_recover",
    # The tenant policy's own question (portal/tenants/rls.py): which tenant proved itself.
    "portal_current_tenant",
)

_PLATFORM = {ALL_TENANTS_OPTION: True}

_DUE_OUTBOX_MESSAGES = text(
    "SELECT tenant_id, id FROM portal_due_outbox_messages(:due_by, :max_rows)"
).bindparams(bindparam("due_by", type_=UTCDateTime()))
_WAITING_WORK = text("SELECT deliveries, jobs FROM portal_waiting_work(:due_by)").bindparams(
    bindparam("due_by", type_=UTCDateTime())
)
_JOBS_TO_RECOVER = text(
    "SELECT tenant_id, id FROM portal_jobs_to_recover(:started_before, :dispatched_before)"
).bindparams(
    bindparam("started_before", type_=UTCDateTime()),
    bindparam("dispatched_before", type_=UTCDateTime()),
)

TenantRowId = tuple[uuid.UUID, uuid.UUID]


@dataclass(frozen=True)
class WaitingWork:
    """How much work waits for a worker, counted over all tenants."""

    #: Pending outbox rows that are due.
    deliveries: int
    #: Jobs running, or queued and handed over to a worker.
    jobs: int


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def due_outbox_messages(due_by: datetime, limit: int) -> list[TenantRowId]:
    """Return ``(tenant_id, id)`` of up to ``limit`` pending outbox rows due by ``due_by``,
    the longest-waiting first."""
    if _on_postgresql():
        rows = db.session.execute(_DUE_OUTBOX_MESSAGES, {"due_by": due_by, "max_rows": limit})
    else:
        rows = db.session.execute(
            select(OutboxMessage.tenant_id, OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= due_by,
            )
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit),
            execution_options=_PLATFORM,
        )
    return [(tenant_id, row_id) for tenant_id, row_id in rows]


def waiting_work(due_by: datetime) -> WaitingWork:
    """Count the outbox rows due by ``due_by`` and the jobs that a worker holds or should
    pick up (running, or queued and handed over), in all tenants."""
    if _on_postgresql():
        deliveries, jobs = db.session.execute(_WAITING_WORK, {"due_by": due_by}).one()
        return WaitingWork(deliveries, jobs)
    return _count_waiting_work(due_by, _PLATFORM)


def tenant_waiting_work(due_by: datetime) -> WaitingWork:
    """Count what :func:`waiting_work` counts, for the tenant in context only."""
    return _count_waiting_work(due_by, {})


def _count_waiting_work(due_by: datetime, execution_options: dict) -> WaitingWork:
    deliveries = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= due_by,
        ),
        execution_options=execution_options,
    )
    jobs = db.session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            or_(
                Job.status == JobStatus.RUNNING,
                (Job.status == JobStatus.QUEUED) & Job.dispatched_at.is_not(None),
            )
        ),
        execution_options=execution_options,
    )
    return WaitingWork(deliveries or 0, jobs or 0)


def jobs_to_recover(started_before: datetime, dispatched_before: datetime) -> list[TenantRowId]:
    """Return ``(tenant_id, id)`` of the jobs that may have been lost: running since before
    ``started_before``, or queued and handed over before ``dispatched_before``.

    Whether a running job's worker is still alive is for the caller to decide, on the row
    itself, inside the job's tenant context.
    """
    if _on_postgresql():
        rows = db.session.execute(
            _JOBS_TO_RECOVER,
            {"started_before": started_before, "dispatched_before": dispatched_before},
        )
    else:
        rows = db.session.execute(
            select(Job.tenant_id, Job.id).where(
                or_(
                    (Job.status == JobStatus.RUNNING) & (Job.started_at < started_before),
                    (Job.status == JobStatus.QUEUED) & (Job.dispatched_at < dispatched_before),
                )
            ),
            execution_options=_PLATFORM,
        )
    return [(tenant_id, row_id) for tenant_id, row_id in rows]


#: A tenant id no tenant has: the proof check below uses it and reads no rows.
_PROBE_TENANT = "00000000-0000-7000-8000-000000000000"


def tenant_proofs_accepted() -> bool:
    """Tell whether the database accepts this process's tenant proofs (always on SQLite).

    False means the key stored by the last ``portal db upgrade`` was derived from another
    secret key than this process's: every tenant's rows would be invisible to it.
    """
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        return True
    from portal.tenants.rls import SET_TENANT_SQL
    from portal.tenants.scoping import database_tenant_settings

    session.execute(text(SET_TENANT_SQL), database_tenant_settings(_PROBE_TENANT))
    proven = session.scalar(text("SELECT portal_current_tenant()::text"))
    session.execute(text(SET_TENANT_SQL), database_tenant_settings(None))
    return proven == _PROBE_TENANT
