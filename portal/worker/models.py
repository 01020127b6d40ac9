"""Heartbeats of the workers that deliver the outbox and run jobs: a platform table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, utcnow


class WorkerHeartbeat(db.Model):
    """One worker process (embedded or Celery) and the last moment it was seen alive.

    Jobs record the name of the worker that runs them; when that worker's heartbeat is
    older than a few intervals, the sweep of a living worker takes its jobs up again.
    """

    __tablename__ = "worker_heartbeats"
    __table_args__ = {"info": {"platform": True}}

    #: ``<kind>@<host>:<pid>``, unique while the process lives.
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
