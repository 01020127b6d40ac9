"""Refuse requests that carry characters no field of the portal may hold.

A NUL byte or another control character in the address, the query string, a form field or
an uploaded file's name is never meant: no text a person types contains one. Left through,
it reaches the database, and PostgreSQL refuses a text value with NUL in it ("A string
literal cannot contain NUL"), which would surface as a server error deep inside a view.
One check before every view answers 400 instead, with a page that says what was wrong.

Tab, line feed and carriage return stay allowed: multi-line fields send them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest

#: C0 controls except tab, line feed and carriage return; DEL; the C1 controls.
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Body types whose fields werkzeug parses into ``request.form`` and ``request.files``.
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class ForbiddenCharacters(BadRequest):
    """The request carries a control character in a place that no field may hold."""

    title = _l("Characters that are not allowed")
    description = _l(
        "The address or the form you sent contains a control character (such as a NUL byte) that no field can hold. Please remove it and try again."
    )


def has_forbidden_characters(value: str | None) -> bool:
    """Tell whether ``value`` holds a character that no field may hold."""
    return bool(value) and FORBIDDEN_CHARACTERS.search(value) is not None


def _pairs(multidict) -> Iterator[str]:
    for key, value in multidict.items(multi=True):
        yield key
        yield value


def _json_texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_texts(item)


def _request_texts() -> Iterable[str]:
    yield request.path
    yield from _pairs(request.args)
    if request.mimetype in FORM_MIMETYPES:
        yield from _pairs(request.form)
        for key, upload in request.files.items(multi=True):
            yield key
            yield upload.filename or ""
    elif request.is_json and request.content_length:
        # The API's bodies: "\u0000" in a JSON text is a NUL like any other.
        yield from _json_texts(request.get_json(silent=True))


def refuse_forbidden_characters() -> None:
    """Answer 400 before any view runs when the request carries a forbidden character."""
    if any(has_forbidden_characters(text) for text in _request_texts()):
        raise ForbiddenCharacters()


def init_app(app: Flask) -> None:
    """Check every request; runs after the tenant is known, so the page is themed."""
    app.before_request(refuse_forbidden_characters)
