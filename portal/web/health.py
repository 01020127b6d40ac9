"""Liveness, database check and worker check for load balancers, orchestrators and monitors.

``/healthz`` answers 200 while this process can serve pages and reach the database, and says
in ``worker`` whether a worker is alive (``ok``), whether none is but nothing waits
(``idle``), or whether deliveries or jobs wait with no worker alive (``missing``). A monitor
that must alert on the last case asks ``/healthz?worker=required``, which then answers 503.
On PostgreSQL it also answers 503 when the database refuses this process's tenant proofs
(its secret key differs from the one the migrations stored the row-level security key from).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.db import db
from portal.tenants.platform import tenant_proofs_accepted
from portal.worker.services import health

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        proofs_accepted = tenant_proofs_accepted()
        workers = health()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    if not proofs_accepted:
        # Every tenant's rows are invisible to this process: its secret key is not the one
        # the last `portal db upgrade` stored the row-level security key from.
        return jsonify(status="error", database="secret key differs from the migrations'"), 503
    worker = "missing" if workers.stalled else ("ok" if workers.alive else "idle")
    body = {
        "status": "ok" if worker != "missing" else "degraded",
        "database": "ok",
        "worker": worker,
        "workers_alive": workers.alive,
        "waiting": {"deliveries": workers.waiting_deliveries, "jobs": workers.waiting_jobs},
    }
    required = request.args.get("worker") == "required"
    return jsonify(body), (503 if required and worker == "missing" else 200)
