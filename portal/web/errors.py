"""Error pages that name the problem in the visitor's language and leak nothing else."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.db import db
from portal.web import input_guard

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You do not have permission to open this page.")),
    404: (_l("Not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("This page cannot be used like this.")),
    413: (_l("Too large"), _l("The file or form you sent is too large.")),
    429: (_l("Too many requests"), _l("Please wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. Please try again later.")),
}


FALLBACK = (_l("The request failed"), _l("The request could not be completed."))
API_PREFIX = "/api/"


def init_app(app: Flask) -> None:
    input_guard.init_app(app)

    @app.errorhandler(input_guard.ForbiddenCharacters)
    def _forbidden_characters(error: input_guard.ForbiddenCharacters):
        return render_template(
            "errors/error.html", code=400, title=error.title, message=error.description
        ), 400

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return render_template(
            "errors/error.html",
            code=400,
            title=_l("The form has expired"),
            message=_l("Please reload the page and submit the form again."),
        ), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if request.path.startswith(API_PREFIX):
            # No route matched, so no API blueprint handles it: the API's callers still get
            # a problem document, not a page.
            from portal.api.problems import Problem

            return Problem(error.code).response()
        title, message = MESSAGES.get(error.code, FALLBACK)
        return render_template(
            "errors/error.html", code=error.code, title=title, message=message
        ), error.code

    @app.errorhandler(500)
    def _internal(error):
        db.session.rollback()
        title, message = MESSAGES[500]
        return render_template("errors/error.html", code=500, title=title, message=message), 500
