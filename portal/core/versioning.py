"""Optimistic locking: a save based on an older version of an object is refused."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.core.errors import StaleVersion

STALE_MESSAGE = _l(
    "Someone else changed this in the meantime. Reload the page to see the "
    "current state, then make your change again."
)


def check_version(obj, expected_version: int | None) -> None:
    """Raise :class:`StaleVersion` unless ``obj`` is still at ``expected_version``.

    ``None`` skips the check (internal callers that hold the row already). The database
    checks the version again on UPDATE (SQLAlchemy's version_id_col), so a race between this
    check and the write is refused as well.
    """
    if expected_version is not None and obj.version != expected_version:
        raise StaleVersion(STALE_MESSAGE)
