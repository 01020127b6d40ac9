"""The embedded worker of ``portal serve`` and ``portal demo``: a thread in the web process.

It runs the same code as the Celery worker: every ``poll`` seconds it delivers the due outbox
rows; every ``PORTAL_WORKER_INTERVAL`` seconds it beats and sweeps (jobs of a process that
died are taken up again). Jobs themselves run in the small thread pool of
:mod:`portal.worker.dispatch`. It needs nothing installed besides the portal.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from portal.db import db
from portal.worker import dispatch, services

log = logging.getLogger(__name__)


class EmbeddedWorker:
    """A daemon thread that delivers the outbox, beats and sweeps."""

    def __init__(self, app: Flask, poll: float = 2.0) -> None:
        self.app = app
        self.poll = poll
        self.name = services.worker_name("embedded")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="portal-worker", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        with self.app.app_context():
            try:
                services.forget(self.name)
            except Exception:
                log.warning("could not remove the heartbeat of %s", self.name)
                db.session.rollback()

    def _run(self) -> None:
        next_sweep = 0.0
        while not self._stop.is_set():
            with self.app.app_context():
                try:
                    if time.monotonic() >= next_sweep:
                        self.sweep()
                        next_sweep = time.monotonic() + services.interval(self.app)
                    from portal.outbox.services import drain

                    drain()
                except Exception:
                    log.exception("embedded worker round failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
            self._stop.wait(self.poll)

    def sweep(self) -> None:
        """Beat, then hand over the jobs that were lost and the due domain checks."""
        services.beat(self.name, "embedded")
        for tenant_id, job_id in services.recover_jobs(self.app):
            dispatch.dispatch_job(self.app, tenant_id, job_id)
        from portal.tenants import domains

        domains.sweep(self.app)  # pending custom domains whose check is due
