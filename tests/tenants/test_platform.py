"""Cross-tenant questions of platform code: the same answers on SQLite and PostgreSQL.

On PostgreSQL these go through SECURITY DEFINER functions (the application role cannot read
other tenants' rows itself); test_row_level_security.py checks what those functions may do.
"""

from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.jobs.models import JobStatus
from portal.jobs.services import create_job
from portal.outbox.models import OutboxStatus
from portal.outbox.services import enqueue
from portal.tenants import platform


@pytest.fixture
def make_outbox_row(in_tenant):
    """Return ``make_outbox_row(tenant, **columns)``: a committed e-mail row; its id."""

    def make(tenant, **columns):
        with in_tenant(tenant) as session:
            message = enqueue("email", {"to": "someone@example.test", "subject": "s", "text": "t"})
            for name, value in columns.items():
                setattr(message, name, value)
            session.commit()
            return message.id

    return make


@pytest.fixture
def make_job(in_tenant, create_user):
    """Return ``make_job(tenant, **columns)``: a committed order-import job; its id."""
    authors = {}

    def make(tenant, **columns):
        if tenant.id not in authors:
            authors[tenant.id] = create_user(tenant, "admin").id
        with in_tenant(tenant) as session:
            job = create_job(
                "order_import", data=b"x", name="o.xlsx", created_by_id=authors[tenant.id]
            )
            for name, value in columns.items():
                setattr(job, name, value)
            session.commit()
            return job.id

    return make


def _ours(pairs, *tenants):
    ids = {tenant.id for tenant in tenants}
    return [pair for pair in pairs if pair[0] in ids]


def test_due_outbox_rows_of_every_tenant_come_longest_waiting_first(
    app, db_session, tenant, other_tenant, make_outbox_row
):
    now = utcnow()
    older = make_outbox_row(other_tenant, next_attempt_at=now - timedelta(minutes=20))
    newer = make_outbox_row(tenant, next_attempt_at=now - timedelta(minutes=10))
    make_outbox_row(tenant, next_attempt_at=now + timedelta(minutes=5))
    make_outbox_row(other_tenant, status=OutboxStatus.SENT)

    with app.app_context():
        due = _ours(platform.due_outbox_messages(now, 50), tenant, other_tenant)
        first = platform.due_outbox_messages(now - timedelta(minutes=15), 50)

    assert due == [(other_tenant.id, older), (tenant.id, newer)]
    assert (other_tenant.id, older) in first
    assert (tenant.id, newer) not in first


def test_due_outbox_rows_are_limited(app, db_session, tenant, other_tenant, make_outbox_row):
    for owner in (tenant, other_tenant, tenant):
        make_outbox_row(owner, next_attempt_at=utcnow() - timedelta(minutes=1))

    with app.app_context():
        assert len(platform.due_outbox_messages(utcnow(), 2)) == 2


def test_waiting_work_is_counted_over_all_tenants(
    app, db_session, tenant, other_tenant, make_outbox_row, make_job
):
    with app.app_context():
        before = platform.waiting_work(utcnow())
    make_outbox_row(tenant)
    make_outbox_row(other_tenant)
    make_outbox_row(other_tenant, next_attempt_at=utcnow() + timedelta(hours=1))
    make_job(tenant, status=JobStatus.RUNNING, started_at=utcnow())
    make_job(other_tenant, dispatched_at=utcnow())
    # Queued but never handed over (waiting for the user's confirmation): not work yet.
    make_job(other_tenant)

    with app.app_context():
        after = platform.waiting_work(utcnow() + timedelta(seconds=1))

    assert (after.deliveries - before.deliveries, after.jobs - before.jobs) == (2, 2)


def test_jobs_that_may_be_lost_are_found_in_every_tenant(
    app, db_session, tenant, other_tenant, make_job
):
    now = utcnow()
    long_ago = now - timedelta(hours=1)
    running = make_job(tenant, status=JobStatus.RUNNING, started_at=long_ago)
    handed_over = make_job(other_tenant, dispatched_at=long_ago)
    make_job(tenant, status=JobStatus.RUNNING, started_at=now)
    make_job(other_tenant, dispatched_at=now)
    make_job(other_tenant, dispatched_at=None)
    make_job(tenant, status=JobStatus.DONE, started_at=long_ago, dispatched_at=long_ago)

    with app.app_context():
        found = platform.jobs_to_recover(
            started_before=now - timedelta(minutes=1),
            dispatched_before=now - timedelta(minutes=1),
        )

    assert sorted(_ours(found, tenant, other_tenant)) == sorted(
        [(tenant.id, running), (other_tenant.id, handed_over)]
    )
