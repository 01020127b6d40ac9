"""Background jobs: work a user started that takes longer than a page load (large imports)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, enum_type, utcnow
from portal.tenants.scoping import TenantOwned


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(TenantOwned, db.Model):
    """One run of a background task, with its progress, result and errors for the user."""

    __tablename__ = "jobs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        Index(None, "tenant_id", "created_by_id", "id"),
        Index(None, "tenant_id", "status", "id"),
    )

    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus), default=JobStatus.QUEUED)
    created_by_id: Mapped[uuid.UUID | None]
    # The client the job works for (client users may only see their client's jobs).
    client_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    input_name: Mapped[str] = mapped_column(String(255), default="")
    # The uploaded file, dropped once the job has finished.
    input_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    # What the user chose with the upload (an address, a reference, submit at once).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"row": 3, "message": "..."}], already translated into the starting user's language.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The language of the user who started it: messages are written in it, on any worker.
    locale: Mapped[str] = mapped_column(String(35), default="en")
    # How often a worker took it up; a job whose worker died is run again a few times.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The worker running it now (WorkerHeartbeat.name), and when it was last handed over.
    worker: Mapped[str | None] = mapped_column(String(255))
    dispatched_at: Mapped[datetime | None]

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
