"""Documents of a purchase order for a supplier's token: list, upload (multipart: a PDF or a
PNG, JPEG or WebP image, judged by its content, at most 10 MB) and download.

Uploads go through :func:`portal.core.purchasing.responses.add_document`, as on the supplier
portal's order page, so the same files are accepted and refused with the same words; the
store sees them on its purchase order.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from flask import request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload
from marshmallow import RAISE, fields, pre_load, validate
from sqlalchemy import select
from sqlalchemy.orm import defer

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.idempotency import idempotent
from portal.api.problems import Problem
from portal.api.purchase_orders import READ, TEXT, WRITE, _load
from portal.api.schemas import InputSchema, messages
from portal.core.purchasing import responses
from portal.core.purchasing.models import PurchaseOrder, PurchaseOrderDocument
from portal.db import db

bp = resource_blueprint(
    "api_supplier_documents",
    __name__,
    "/purchase-orders",
    "Documents the supplier attaches to a purchase order: confirmations, delivery notes, "
    "invoices, certificates.",
)

CHOOSE_FILE = _l("Please choose a file.")


class PurchaseOrderDocumentSchema(InputSchema):
    id = fields.UUID()
    filename = fields.String()
    content_type = fields.String(metadata={"enum": list(responses.DOCUMENT_TYPES)})
    size = fields.Integer(metadata={"description": "Bytes"})
    description = fields.String()
    uploaded_at = fields.AwareDateTime()
    download = fields.String(metadata={"description": "Address of the file"})


class PurchaseOrderDocumentListSchema(InputSchema):
    items = fields.List(fields.Nested(PurchaseOrderDocumentSchema))


class DocumentUploadSchema(InputSchema):
    """The multipart body: the file and, as a plain form field, its description."""

    file = Upload(
        required=True,
        error_messages={"required": CHOOSE_FILE, "null": CHOOSE_FILE, "invalid": CHOOSE_FILE},
        metadata={"description": "A PDF file or a PNG, JPEG or WebP image, at most 10 MB"},
    )
    description = fields.String(
        load_default="",
        validate=validate.Length(max=200),
        error_messages=messages(TEXT),
        metadata={"description": "For example: delivery note, invoice, certificate"},
    )

    @pre_load
    def _with_form_fields(self, data, **kwargs):
        # One multipart body carries both: webargs hands over its files only.
        merged = {name: data.get(name) for name in data}
        merged.update(request.form.to_dict())
        return merged


def _document(po: PurchaseOrder, document: PurchaseOrderDocument) -> dict[str, Any]:
    return {
        "id": document.id,
        "filename": document.filename,
        "content_type": document.content_type,
        "size": document.size,
        "description": document.description,
        "uploaded_at": document.uploaded_at,
        "download": url_for(
            ".download_document",
            purchase_order_id=po.id,
            document_id=document.id,
            _external=True,
        ),
    }


@bp.route("/<uuid:purchase_order_id>/documents")
@requires(READ, supplier=True)
@bp.response(200, PurchaseOrderDocumentListSchema)
def list_documents(purchase_order_id: uuid.UUID):
    """The order's documents, oldest first (the files themselves at ``download``)."""
    po = _load(purchase_order_id)
    documents = db.session.scalars(
        select(PurchaseOrderDocument)
        .where(PurchaseOrderDocument.purchase_order_id == po.id)
        .options(defer(PurchaseOrderDocument.data))
        .order_by(PurchaseOrderDocument.uploaded_at, PurchaseOrderDocument.id)
    ).all()
    return {"items": [_document(po, document) for document in documents]}


@bp.route("/<uuid:purchase_order_id>/documents", methods=["POST"])
@requires(WRITE, supplier=True)
@idempotent
@bp.arguments(DocumentUploadSchema, location="files", unknown=RAISE)
@bp.response(201, PurchaseOrderDocumentSchema)
def upload_document(body, purchase_order_id: uuid.UUID):
    """Attach a file (``multipart/form-data``, field ``file``); the store sees it at once.

    The type is judged by the content, not by the name: a PDF, PNG, JPEG or WebP file of at
    most 10 MB; anything else is refused (422) naming the field ``file``.
    """
    po = _load(purchase_order_id)
    upload = body["file"]
    if not getattr(upload, "filename", ""):
        raise Problem(
            422,
            "validation_failed",
            errors=[{"field": "file", "in": "files", "detail": str(CHOOSE_FILE)}],
        )
    # One byte more than allowed is enough to tell that a file is too large.
    data = upload.read(responses.MAX_DOCUMENT_BYTES + 1)
    document = responses.add_document(po, upload.filename, data, body.get("description") or "")
    return _document(po, document)


BINARY = {"schema": {"type": "string", "format": "binary"}}


@bp.route("/<uuid:purchase_order_id>/documents/<uuid:document_id>")
@requires(READ, supplier=True)
@bp.doc(
    responses={
        "200": {
            "description": "The file",
            "content": dict.fromkeys(responses.DOCUMENT_TYPES, BINARY),
        }
    }
)
def download_document(purchase_order_id: uuid.UUID, document_id: uuid.UUID):
    """Download one document of the order."""
    po = _load(purchase_order_id)
    found = db.session.scalar(
        select(PurchaseOrderDocument).where(
            PurchaseOrderDocument.id == document_id,
            PurchaseOrderDocument.purchase_order_id == po.id,
        )
    )
    if found is None:
        raise Problem(404)
    response = send_file(
        io.BytesIO(found.data),
        mimetype=found.content_type,
        as_attachment=True,
        download_name=found.filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
