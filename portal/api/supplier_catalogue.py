"""Catalogue upload for a supplier's token: its product list as Excel (.xlsx) or CSV, read and
imported by :mod:`portal.core.suppliers.catalogue` as the catalogue import of the pages does.

A file of up to :data:`portal.web.catalogue.BACKGROUND_ROWS` item rows is imported during the
request (201, the import's resource with its result; a bad row refuses the whole file with
422, every bad row named). A larger file becomes a background job: 202 with the import's
resource, to poll at ``Location`` until its ``status`` is ``done`` or ``failed``.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import after_this_request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload
from marshmallow import RAISE, fields
from sqlalchemy import select

from portal.api.auth import current_token, requires
from portal.api.blueprints import resource_blueprint
from portal.api.idempotency import idempotent
from portal.api.problems import Problem
from portal.api.schemas import InputSchema
from portal.core.orders.importing import MAX_FILE_BYTES, ImportRefused
from portal.core.suppliers import catalogue
from portal.core.suppliers.models import Supplier
from portal.db import db, utcnow
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import create_job, schedule
from portal.web.catalogue import BACKGROUND_ROWS

WRITE = "catalogue:write"
KIND = "catalogue_import"
CHOOSE_FILE = _l("Please choose a file.")

bp = resource_blueprint(
    "api_supplier_catalogue",
    __name__,
    "/supplier/catalogue",
    "The supplier's catalogue (product list), uploaded as Excel or CSV.",
)


class CatalogueUploadSchema(InputSchema):
    file = Upload(
        required=True,
        error_messages={"required": CHOOSE_FILE, "null": CHOOSE_FILE, "invalid": CHOOSE_FILE},
        metadata={
            "description": "An Excel (.xlsx) or CSV file with a header row naming at least the "
            "supplier code and the name; at most 5 MB"
        },
    )


class CatalogueRowErrorSchema(InputSchema):
    row = fields.Integer(allow_none=True, metadata={"description": "The row in the file"})
    message = fields.String()


class CatalogueImportSchema(InputSchema):
    id = fields.UUID()
    status = fields.String(metadata={"enum": [status.value for status in JobStatus]})
    filename = fields.String()
    rows = fields.Integer(metadata={"description": "Item rows in the file"})
    background = fields.Boolean(metadata={"description": "Imported by a background job"})
    percent = fields.Integer()
    result = fields.Dict(
        metadata={"description": "Items created, updated, unchanged and kept (not in the file)"}
    )
    errors = fields.List(fields.Nested(CatalogueRowErrorSchema))
    created_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime(allow_none=True)


def _import(job: Job) -> dict[str, Any]:
    options = job.options or {}
    return {
        "id": job.id,
        "status": job.status.value,
        "filename": job.input_name,
        "rows": options.get("rows", 0),
        "background": bool(options.get("background")),
        "percent": job.percent,
        "result": job.result or {},
        "errors": [
            {"row": error.get("row"), "message": str(error.get("message", ""))}
            for error in job.errors or []
        ],
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _refused(refused: ImportRefused) -> Problem:
    errors = [{"field": "file", "in": "files", "detail": str(refused.message)}]
    errors += [
        {"field": f"file.rows[{error.row}]", "in": "files", "detail": str(error.message)}
        for error in refused.errors
    ]
    return Problem(422, "validation_failed", refused.message, errors=errors)


@bp.route("/imports", methods=["POST"])
@requires(WRITE, supplier=True)
@idempotent
@bp.arguments(CatalogueUploadSchema, location="files", unknown=RAISE)
@bp.response(201, CatalogueImportSchema)
@bp.alt_response(202, schema=CatalogueImportSchema, description="The import runs in the background")
def upload_catalogue(files):
    """Upload the catalogue (``multipart/form-data``, field ``file``).

    Items are known by their supplier code: new codes are added, listed ones updated, items
    the file does not list are kept. All or nothing: a bad row refuses the whole file.
    """
    upload = files["file"]
    if not getattr(upload, "filename", ""):
        raise Problem(
            422,
            "validation_failed",
            errors=[{"field": "file", "in": "files", "detail": str(CHOOSE_FILE)}],
        )
    supplier = db.session.scalar(select(Supplier).where(Supplier.id == current_token().supplier_id))
    data = upload.read(MAX_FILE_BYTES + 1)
    try:
        found = catalogue.read_catalogue_file(data)
    except ImportRefused as refused:
        raise _refused(refused) from None
    background = len(found.rows) > BACKGROUND_ROWS
    options = {
        "supplier_id": str(supplier.id),
        "rows": len(found.rows),
        "confirmed": True,
        "background": background,
    }
    if not background:
        try:
            summary = catalogue.import_catalogue(supplier, found.rows)
        except ImportRefused as refused:
            raise _refused(refused) from None
        job = create_job(
            KIND,
            data=b"",
            name=upload.filename,
            created_by_id=current_token().owner_id,
            options=options,
        )
        job.input_data = None
        job.status = JobStatus.DONE
        job.total = job.done = len(found.rows)
        job.result = summary.as_dict()
        job.started_at = job.finished_at = utcnow()
        db.session.flush()
        return _import(job)
    job = create_job(
        KIND,
        data=data,
        name=upload.filename,
        created_by_id=current_token().owner_id,
        options=options,
    )
    db.session.flush()
    job_id, locale = job.id, str(get_locale())

    @after_this_request
    def _hand_over(response):
        # After the request's commit (with the idempotent response): the job is there.
        if response.status_code == 202:
            queued = db.session.scalar(select(Job).where(Job.id == job_id))
            if queued is not None:
                schedule(queued, locale)
        return response

    location = url_for(".get_import", import_id=job_id, _external=True)
    return _import(job), 202, {"Location": location}


@bp.route("/imports/<uuid:import_id>")
@requires(WRITE, supplier=True)
@bp.response(200, CatalogueImportSchema)
def get_import(import_id: uuid.UUID):
    """One catalogue import: its status, progress, result or the rows that refused it."""
    job = db.session.scalar(select(Job).where(Job.id == import_id, Job.kind == KIND))
    if job is None or (job.options or {}).get("supplier_id") != str(current_token().supplier_id):
        raise Problem(404)
    return _import(job)
