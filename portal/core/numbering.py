"""Per-tenant document numbers that people read: ``O-2026-000123``. Never raw ids."""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, utcnow
from portal.tenants.scoping import TenantOwned


class NumberSequence(TenantOwned, db.Model):
    """The last number handed out for one kind of document in one year."""

    __tablename__ = "number_sequences"
    __table_args__ = (UniqueConstraint("tenant_id", "prefix", "year"),)

    prefix: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


def next_number(prefix: str) -> str:
    """Return the next number for ``prefix`` in the current year, e.g. ``O-2026-000001``.

    The counter is raised with one atomic UPDATE, so concurrent transactions never get the
    same number; a missing counter row is created once under a savepoint.
    """
    year = utcnow().year
    where = (NumberSequence.prefix == prefix, NumberSequence.year == year)
    for _ in range(3):
        value = db.session.scalar(
            update(NumberSequence)
            .where(*where)
            .values(last_value=NumberSequence.last_value + 1)
            .returning(NumberSequence.last_value)
            .execution_options(synchronize_session=False)
        )
        if value is not None:
            return f"{prefix}-{year}-{value:06d}"
        try:
            with db.session.begin_nested():
                db.session.add(NumberSequence(prefix=prefix, year=year, last_value=0))
        except IntegrityError:
            pass  # another transaction created it first; the UPDATE now finds it
    raise RuntimeError(f"could not allocate a number for {prefix}")


def peek_sequence(prefix: str, year: int) -> int:
    """Return the last number handed out (for tests and diagnostics)."""
    return (
        db.session.scalar(
            select(NumberSequence.last_value).where(
                NumberSequence.prefix == prefix, NumberSequence.year == year
            )
        )
        or 0
    )
