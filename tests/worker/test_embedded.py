"""The embedded worker of ``portal serve``: delivers, beats, and takes up a dead process's job."""

import time
from datetime import timedelta

from sqlalchemy import select

from portal.db import db, utcnow
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import create_job
from portal.mail import queue_email
from portal.tenants.context import tenant_context
from portal.testing import factories
from portal.testing.fixtures import provision_database, separate_app
from portal.worker.embedded import EmbeddedWorker
from portal.worker.models import WorkerHeartbeat


def wait_for(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_the_embedded_worker_delivers_beats_and_reruns_a_dead_process_job(
    tmp_path, smtp_server, mailbox
):
    database = provision_database(tmp_path)
    with separate_app(
        database, smtp_server.port, PORTAL_JOBS_EAGER=False, PORTAL_WORKER_INTERVAL=1
    ) as app:
        with app.app_context():
            tenant = factories.make_tenant()
            user = factories.make_user(tenant, "admin")
            with tenant_context(tenant):
                queue_email("someone@example.test", "Hello", "From the embedded worker")
                # An import that a process which died since was running.
                job = create_job(
                    "order_import", data=b"not a workbook", name="x.xlsx", created_by_id=user.id
                )
                job.status = JobStatus.RUNNING
                job.worker = "embedded@gone:1"
                job.started_at = utcnow() - timedelta(minutes=10)
                job.attempts = 1
                job_id, tenant_id = job.id, tenant.id
                db.session.commit()

        worker = EmbeddedWorker(app, poll=0.1).start()
        try:
            assert wait_for(lambda: mailbox.to("someone@example.test")), "nothing was delivered"
            with app.app_context():
                beat = db.session.get(WorkerHeartbeat, worker.name)
                assert beat is not None
                assert beat.kind == "embedded"

            def job_ended():
                with app.app_context():
                    with tenant_context(db.session.get(type(tenant), tenant_id)):
                        found = db.session.scalar(select(Job).where(Job.id == job_id))
                        ended = found.finished, found.attempts, found.worker
                    db.session.rollback()
                return ended

            assert wait_for(lambda: job_ended()[0]), "the dead process's job was not run again"
            # It ran a second time, on this worker, and failed on its bad file with a message.
            assert job_ended()[1:] == (2, worker.name)
        finally:
            worker.stop()
        with app.app_context():
            assert db.session.get(WorkerHeartbeat, worker.name) is None
