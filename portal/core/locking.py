"""Row locks for status changes: the second of two simultaneous clicks sees the first's result.

A service that changes an object's status first calls :func:`lock_for_update`. On
PostgreSQL this waits for any other transaction that holds the row, then reloads the object
(and the collections named) as that one left it, so the service checks the allowed
transition against the current status and refuses the repeat with its usual message,
instead of acting twice on what it read before or failing at the version check of the
UPDATE. SQLite needs no lock: transactions of writing requests run one after the other
(``BEGIN IMMEDIATE``, portal/db.py), so what a request read is already current.
"""

from __future__ import annotations

import weakref

from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload

from portal.db import db

# The objects each transaction has locked already; a second lock would reload them and
# throw away changes the transaction has not written yet.
_locked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def lock_for_update(obj, *collections: str) -> None:
    """Hold ``obj``'s row until the transaction ends and reload it and ``collections``.

    Call it before checking the object's status. Does nothing on SQLite, for an object not
    yet written, or when this transaction locked the object already.
    """
    state = inspect(obj)
    session = state.session or db.session
    if state.pending or state.transient or session.get_bind().dialect.name != "postgresql":
        return
    session.connection()  # begins the transaction the lock belongs to, if none is in progress
    transaction = session.get_transaction()
    held = _locked.setdefault(transaction, set())
    if state.identity_key in held:
        return
    mapper = state.mapper
    model = mapper.class_
    conditions = [
        column == value for column, value in zip(mapper.primary_key, state.identity, strict=True)
    ]
    session.execute(
        select(model)
        .where(*conditions)
        .with_for_update(of=model)
        .options(*(selectinload(getattr(model, name)) for name in collections))
        .execution_options(populate_existing=True)
    ).scalar_one()
    held.add(state.identity_key)
