"""Refusals of the domain: translated messages that name the field or row concerned."""

from __future__ import annotations

from flask_babel import lazy_ngettext


class DomainError(ValueError):
    """A change was refused. ``field`` names the form field (or ``row`` the line) concerned."""

    def __init__(self, message, field: str | None = None, *, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.row = row

    def __str__(self) -> str:
        return str(self.message)


class TransitionRefused(DomainError):
    """The object's status does not allow the action."""


class StaleVersion(DomainError):
    """Someone else saved the object since it was loaded; reload and try again."""


class LineErrors(DomainError):
    """Several lines are wrong; ``errors`` holds one DomainError per bad line."""

    def __init__(self, message, errors: list[DomainError]) -> None:
        super().__init__(message)
        self.errors = errors


def too_long(limit: int):
    """Return the message for a text longer than ``limit`` characters (a lazy string)."""
    return lazy_ngettext(
        "At most %(num)d character is allowed here.",
        "At most %(num)d characters are allowed here.",
        limit,
    )
