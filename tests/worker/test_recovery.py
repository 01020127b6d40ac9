"""Heartbeats, the sweep that takes up lost jobs, and what /healthz and staff are told."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.db import db, utcnow
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import create_job, run_job
from portal.mail import queue_email
from portal.worker import services
from portal.worker.models import WorkerHeartbeat


@pytest.fixture
def new_job(app, tenant, create_user, in_tenant):
    """Return ``new_job(**columns)``: a committed order-import job of ``tenant``."""
    user = create_user(tenant, "admin")

    def make(**columns):
        with in_tenant(tenant) as session:
            job = create_job("order_import", data=b"x", name="order.xlsx", created_by_id=user.id)
            for name, value in columns.items():
                setattr(job, name, value)
            session.commit()
            return job.id

    return make


def job_row(in_tenant, tenant, job_id) -> Job:
    with in_tenant(tenant) as session:
        return session.scalar(select(Job).where(Job.id == job_id))


def heartbeat(app, name: str, age_seconds: float) -> None:
    with app.app_context():
        db.session.merge(
            WorkerHeartbeat(
                name=name,
                kind="celery",
                hostname="h",
                pid=1,
                started_at=utcnow(),
                seen_at=utcnow() - timedelta(seconds=age_seconds),
            )
        )
        db.session.commit()


def recover(app):
    with app.app_context():
        return services.recover_jobs(app)


def test_a_beat_makes_a_worker_alive_and_a_clean_stop_removes_it(app, db_session):
    with app.app_context():
        services.beat("celery@test:1", "celery")
        assert "celery@test:1" in services.alive_workers()
        row = db.session.get(WorkerHeartbeat, "celery@test:1")
        assert (row.hostname, row.pid) == ("test", 1)
        services.forget("celery@test:1")
        assert "celery@test:1" not in services.alive_workers()


def test_the_job_of_a_dead_worker_is_queued_again(app, db_session, tenant, in_tenant, new_job):
    started = utcnow() - timedelta(minutes=5)
    heartbeat(app, "celery@gone:1", age_seconds=600)
    job_id = new_job(
        status=JobStatus.RUNNING, worker="celery@gone:1", started_at=started, attempts=1
    )

    assert (tenant.id, job_id) in recover(app)

    job = job_row(in_tenant, tenant, job_id)
    assert job.status == JobStatus.QUEUED
    assert job.worker is None
    assert job.dispatched_at is not None


def test_the_job_of_a_living_worker_is_left_alone(app, db_session, tenant, in_tenant, new_job):
    heartbeat(app, "celery@alive:1", age_seconds=0)
    job_id = new_job(
        status=JobStatus.RUNNING,
        worker="celery@alive:1",
        started_at=utcnow() - timedelta(minutes=5),
        attempts=1,
    )

    assert (tenant.id, job_id) not in recover(app)
    assert job_row(in_tenant, tenant, job_id).status == JobStatus.RUNNING


def test_a_job_whose_worker_died_too_often_fails_with_a_message_in_its_language(
    app, db_session, tenant, in_tenant, new_job
):
    job_id = new_job(
        status=JobStatus.RUNNING,
        worker="celery@gone:2",
        started_at=utcnow() - timedelta(minutes=5),
        attempts=services.MAX_JOB_ATTEMPTS,
        locale="de",
    )

    assert (tenant.id, job_id) not in recover(app)

    job = job_row(in_tenant, tenant, job_id)
    assert job.status == JobStatus.FAILED
    assert job.input_data is None
    with app.app_context():
        german, english = (services.job_worker_gone_message(code) for code in ("de", "en"))
    assert job.errors[0]["message"] == german
    assert german != english


def test_a_queued_job_whose_hand_over_was_lost_is_handed_over_again(
    app, db_session, tenant, in_tenant, new_job
):
    lost = new_job(dispatched_at=utcnow() - timedelta(hours=1))
    recent = new_job(dispatched_at=utcnow())
    # A catalogue import waiting for the user's confirmation was never handed over.
    waiting = new_job(dispatched_at=None)

    again = recover(app)

    assert (tenant.id, lost) in again
    assert (tenant.id, recent) not in again
    assert (tenant.id, waiting) not in again


def test_a_job_runs_once_even_when_handed_over_twice(app, db_session, tenant, in_tenant, new_job):
    job_id = new_job(status=JobStatus.RUNNING, worker="celery@busy:1")

    run_job(app, tenant.id, job_id)  # not queued: the second hand-over returns at once

    job = job_row(in_tenant, tenant, job_id)
    assert (job.status, job.attempts, job.worker) == (JobStatus.RUNNING, 0, "celery@busy:1")


def test_health_says_when_deliveries_wait_and_no_worker_is_alive(
    app, db_session, tenant, in_tenant, client_for
):
    # Heartbeats are a platform table: no tenant context needed.
    with app.app_context():
        db.session.query(WorkerHeartbeat).delete()
        db.session.commit()
    assert client_for("localhost").get("/healthz").get_json()["worker"] == "idle"

    with in_tenant(tenant) as session:
        queue_email("someone@example.test", "Hello", "Text")
        session.commit()
    body = client_for("localhost").get("/healthz").get_json()
    assert body["worker"] == "missing"
    assert body["status"] == "degraded"
    assert body["waiting"]["deliveries"] == 1
    assert client_for("localhost").get("/healthz?worker=required").status_code == 503

    heartbeat(app, "embedded@here:1", age_seconds=0)
    body = client_for("localhost").get("/healthz").get_json()
    assert (body["worker"], body["workers_alive"]) == ("ok", 1)
    assert client_for("localhost").get("/healthz?worker=required").status_code == 200


def test_staff_see_on_the_dashboard_that_deliveries_wait_without_a_worker(
    app, db_session, tenant, in_tenant, create_user, login_as
):
    admin = create_user(tenant, "admin")
    with in_tenant(tenant) as session:
        queue_email("someone@example.test", "Hello", "Text")
        session.commit()
    browser = login_as(admin, tenant)

    assert "Deliveries are waiting" in browser.get("/dashboard").get_data(as_text=True)

    heartbeat(app, "embedded@here:2", age_seconds=0)
    assert "Deliveries are waiting" not in browser.get("/dashboard").get_data(as_text=True)
