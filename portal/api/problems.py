"""Errors of the API as problem documents (RFC 9457, ``application/problem+json``).

Every failure has a stable ``code`` that software can branch on, a ``title`` and a
``detail`` in the language of ``Accept-Language``, and, where fields are at fault, an
``errors`` list naming each field by its path in the request (``lines[2].quantity``). The
domain's refusals (:mod:`portal.core.errors`) keep the words the pages show.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Response, current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from portal.core.errors import DomainError, LineErrors, StaleVersion, TransitionRefused
from portal.db import db
from portal.web.input_guard import ForbiddenCharacters

MEDIA_TYPE = "application/problem+json"

#: The title and code of each HTTP status the API answers with.
STATUS_PROBLEMS = {
    400: ("bad_request", _l("Bad request")),
    401: ("unauthorized", _l("Authentication required")),
    403: ("forbidden", _l("Not allowed")),
    404: ("not_found", _l("Not found")),
    405: ("method_not_allowed", _l("Method not allowed")),
    409: ("conflict", _l("Conflict")),
    413: ("too_large", _l("Too large")),
    415: ("unsupported_media_type", _l("Unsupported media type")),
    422: ("validation_failed", _l("The request is not valid")),
    429: ("too_many_requests", _l("Too many requests")),
    500: ("internal_error", _l("Something went wrong")),
}
FALLBACK = ("error", _l("The request failed"))

#: Every ``code`` the API answers with besides the statuses' own; the docs page lists them
#: all, each with an anchor that a problem's ``type`` points to (docs/api.md explains them).
CODES = (
    "token_in_query",
    "forbidden_characters",
    "idempotency_key_invalid",
    "invalid_token",
    "insufficient_scope",
    "not_a_supplier",
    "not_a_client",
    "not_a_tenant_token",
    "purchase_order_not_found",
    "transition_refused",
    "stale_version",
    "idempotency_in_progress",
    "invalid_lines",
    "refused",
    "idempotency_key_reused",
)


def all_codes() -> list[str]:
    """Return every code a problem document can carry."""
    return [*(code for code, _title in STATUS_PROBLEMS.values()), FALLBACK[0], *CODES]


DETAILS = {
    400: _l("The request could not be understood."),
    401: _l("Send a valid integration token in the Authorization header: Bearer <token>."),
    403: _l("This token does not allow this request."),
    404: _l("There is nothing at this address for this token."),
    405: _l("This address does not accept this method."),
    422: _l("Some fields are not valid."),
    429: _l("Please wait a moment and try again."),
    500: _l("An unexpected error occurred. Please try again later."),
}


class Problem(Exception):
    """A failure to answer with a problem document (raise it from any API code)."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        detail: Any = None,
        *,
        title: Any = None,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code or status)
        default_code, default_title = STATUS_PROBLEMS.get(status, FALLBACK)
        self.status = status
        self.code = code or default_code
        self.title = title if title is not None else default_title
        self.detail = detail if detail is not None else DETAILS.get(status)
        self.errors = errors or []
        self.headers = dict(headers or {})

    def document(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{request.script_root}/api/v1/docs#problem-{self.code}",
            "title": str(self.title),
            "status": self.status,
            "code": self.code,
        }
        if self.detail is not None:
            body["detail"] = str(self.detail)
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self) -> Response:
        response = current_app.response_class(
            json.dumps(self.document(), ensure_ascii=False),
            status=self.status,
            mimetype=MEDIA_TYPE,
        )
        response.headers.update(self.headers)
        response.headers["Content-Language"] = _content_language()
        response.vary.add("Accept-Language")
        return response


def _content_language() -> str:
    from portal.i18n import html_lang

    return html_lang()


# --- field paths -------------------------------------------------------------------------------


def field_path(parts: list[Any]) -> str:
    """Write a path as JSON readers know it: ``lines[2].quantity``."""
    path = ""
    for part in parts:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _flatten(messages: Any, parts: list[Any]) -> Iterator[tuple[str, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _flatten(value, [*parts, key])
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from _flatten(message, parts)
    else:
        yield field_path(parts), str(messages)


def validation_problem(messages: Mapping[str, Any]) -> Problem:
    """Turn webargs' ``{location: {field: [messages]}}`` into one problem document."""
    errors = []
    for location, fields in messages.items():
        for path, message in _flatten(fields, []):
            errors.append(
                {
                    "field": path or location,
                    "in": "body" if location == "json" else location,
                    "detail": message,
                }
            )
    return Problem(422, "validation_failed", errors=errors)


# --- the domain's refusals ---------------------------------------------------------------------


def domain_problem(error: DomainError, line_paths: Mapping[int, str] | None = None) -> Problem:
    """Say what the domain refused, in the domain's words.

    ``line_paths`` maps a line's position on the purchase order to its path in the request
    (``lines[0]``), so that a line's error points at what the client sent.
    """
    if isinstance(error, StaleVersion):
        return Problem(409, "stale_version", error.message)
    if isinstance(error, TransitionRefused):
        return Problem(409, "transition_refused", error.message)
    if isinstance(error, LineErrors):
        errors = []
        for line_error in error.errors:
            path = (line_paths or {}).get(line_error.row) or f"lines[{(line_error.row or 1) - 1}]"
            errors.append({"field": path, "in": "body", "detail": str(line_error)})
        return Problem(422, "invalid_lines", error.message, errors=errors)
    errors = []
    if error.field:
        errors.append({"field": error.field, "in": "body", "detail": str(error)})
    return Problem(422, "refused", error.message, errors=errors)


# --- handlers ----------------------------------------------------------------------------------


def register_handlers(blueprint) -> None:
    """Answer every failure inside ``blueprint`` with a problem document."""

    @blueprint.errorhandler(Problem)
    def _problem(error: Problem):
        db.session.rollback()
        return error.response()

    @blueprint.errorhandler(ForbiddenCharacters)
    def _forbidden_characters(error: ForbiddenCharacters):
        # The pages' handler is keyed on the status code, so it would win over HTTPException.
        return Problem(400, "forbidden_characters", error.description, title=error.title).response()

    @blueprint.errorhandler(DomainError)
    def _domain(error: DomainError):
        db.session.rollback()
        return domain_problem(error).response()

    @blueprint.errorhandler(HTTPException)
    def _http(error: HTTPException):
        db.session.rollback()
        data = getattr(error, "data", None) or {}
        if error.code == 422 and "messages" in data:
            return validation_problem(data["messages"]).response()
        headers = dict(data.get("headers") or {})
        allowed = getattr(error, "valid_methods", None)
        if error.code == 405 and allowed:
            headers["Allow"] = ", ".join(allowed)
        return Problem(error.code or 500, headers=headers).response()

    @blueprint.errorhandler(500)
    def _internal(error):
        db.session.rollback()
        return Problem(500).response()
