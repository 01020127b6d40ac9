"""Pieces the API's schemas share: translated field messages and the problem document."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields

REQUIRED = _l("This field is required.")
NOT_NULL = _l("This field cannot be null.")


def messages(invalid) -> dict:
    """Field messages in the reader's language (marshmallow's own are English only)."""
    return {"required": REQUIRED, "null": NOT_NULL, "invalid": invalid}


class InputSchema(Schema):
    """A request body or query: unknown fields are refused, so typos do not pass silently."""

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": _l("This field is not known."),
        "type": _l("Please send a JSON object."),
    }


class FieldErrorSchema(Schema):
    field = fields.String(
        metadata={"description": "Path of the field in the request, e.g. lines[2].quantity"}
    )
    # "in" is a Python keyword: the attribute is named otherwise, the JSON key stays "in".
    location = fields.String(data_key="in", metadata={"description": "body or query"})
    detail = fields.String()


class ProblemSchema(Schema):
    """A problem document (RFC 9457) with the portal's stable ``code``."""

    type = fields.String(metadata={"description": "A URI that identifies the problem type"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String(metadata={"description": "Stable, machine-readable code"})
    errors = fields.List(fields.Nested(FieldErrorSchema))
