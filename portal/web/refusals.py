"""Run a change from a form, and show the service's refusal on that form."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm.exc import StaleDataError

from portal.core.errors import DomainError, LineErrors, StaleVersion
from portal.core.versioning import STALE_MESSAGE
from portal.db import db
from portal.web.helpers import form_errors_to_fields
from portal.web.lines import line_errors_by_row


@dataclass
class Attempt:
    """The outcome of a change tried from a form: the service's result, or the refusal
    shown on the form (``stale``: someone saved first; ``line_errors``: by row)."""

    ok: bool = False
    result: object = None
    stale: bool = False
    line_errors: dict[int, list[str]] = field(default_factory=dict)


def attempt(form, change) -> Attempt:
    """Run ``change()`` and flush; on a refusal roll back and show it on ``form``."""
    try:
        result = change()
        db.session.flush()
    except (StaleVersion, StaleDataError):
        # StaleDataError: the database refused the UPDATE (a save in between the check).
        db.session.rollback()
        form.form_errors.append(str(STALE_MESSAGE))
        return Attempt(stale=True)
    except LineErrors as error:
        db.session.rollback()
        form.form_errors.append(str(error.message))
        return Attempt(line_errors=line_errors_by_row(error))
    except DomainError as error:
        db.session.rollback()
        if error.field == "lines" or getattr(form, error.field or "", None) is None:
            form.form_errors.append(str(error.message))
        else:
            form_errors_to_fields(form, error)
        return Attempt()
    return Attempt(ok=True, result=result)
