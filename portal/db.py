"""The database extension, the declarative base and the column helpers every model uses."""

from __future__ import annotations

import enum
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, Enum, MetaData, TypeDecorator, event, or_
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def uuid7() -> uuid.UUID:
    """Return a new time-ordered, unguessable UUID (version 7, RFC 9562).

    48 bits of Unix milliseconds keep inserts in index order; 74 random bits make ids
    impossible to guess from one another.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and always hand back aware UTC datetimes.

    SQLite has no time zones; without this, values read back from SQLite would be naive
    while those from PostgreSQL are aware, and comparisons would break on one of them.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type:
        # TypeDecorator answers ``object``; keyset cursors (web/pagination.py) need the type.
        return datetime

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use portal.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(cls: type[enum.Enum], length: int = 32) -> Enum:
    """Store a string enum by its values in a VARCHAR, the same on every database."""
    return Enum(
        cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so every constraint has a stable name."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)


# How long a SQLite connection waits for another one's write lock before it gives up with
# "database is locked". Longer than any single write transaction should take.
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Whether a new transaction on SQLite announces that it will write (see _begin_sqlite).
_sqlite_writes: ContextVar[bool] = ContextVar("portal_sqlite_writes", default=True)


def expect_writes(writes: bool) -> Token[bool]:
    """Tell the transactions begun from now on in this context whether they will write.

    Only SQLite listens (see :func:`_begin_sqlite`). Returns the token for
    :func:`reset_expect_writes`. The web layer calls it at the start of every request.
    """
    return _sqlite_writes.set(writes)


def reset_expect_writes(token: Token[bool]) -> None:
    """Undo :func:`expect_writes`."""
    _sqlite_writes.reset(token)


@contextmanager
def read_only_transactions() -> Iterator[None]:
    """Run the block with transactions that only read (deferred BEGIN on SQLite)."""
    token = expect_writes(False)
    try:
        yield
    finally:
        reset_expect_writes(token)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # pysqlite starts transactions on its own terms, which breaks SAVEPOINT; SQLAlchemy
    # emits BEGIN itself instead (see _begin_sqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    # Set before the journal mode: switching to WAL needs a moment of exclusive access.
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    # Write-ahead logging: readers never wait for the writer nor the writer for readers, so
    # only two writers at once have to take turns. The mode is stored in the database file;
    # an in-memory database answers "memory" and stays as it is.
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection) -> None:
    """Begin SQLite transactions that will write with BEGIN IMMEDIATE.

    A deferred transaction takes the write lock only at its first write. When two of them
    have both read and then both want to write, neither can get the lock until the other
    ends, and SQLite fails one at once with "database is locked" instead of waiting: the
    busy timeout does not apply to a lock upgrade. BEGIN IMMEDIATE takes the write lock at
    the start, where waiting for it (the busy timeout) is safe, so writers queue up.

    Every transaction is taken as a writer unless the code says otherwise with
    :func:`expect_writes` / :func:`read_only_transactions`: the web layer marks requests with
    safe methods (GET, HEAD, OPTIONS) as readers, so pages are served side by side while
    forms, the worker and the CLI write one after the other. PostgreSQL does not need this.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _sqlite_writes.get() else "BEGIN")


def like_pattern(text: str, *, prefix: bool = False) -> str:
    """Return a LIKE pattern matching ``text`` anywhere (or at the start), with ``%``, ``_``
    and the escape character itself taken literally; use with ``escape="\\\\"``."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix else f"%{escaped}%"


def contains_any(text: str, *columns):
    """The condition "one of ``columns`` contains ``text``", ignoring case, with ``%`` and
    ``_`` in ``text`` taken literally: the free-text search of the list pages."""
    pattern = like_pattern(text)
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


class Timestamped:
    """Adds ``created_at`` and ``updated_at``."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
