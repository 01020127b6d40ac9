"""Order import from Excel, processed in the background with progress."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Optional

from portal.core.addresses.models import Address
from portal.core.clients.models import Client
from portal.core.orders.importing import ImportRefused, check_workbook
from portal.db import db
from portal.jobs.models import Job
from portal.jobs.services import create_job, schedule
from portal.web.access import client_or_staff, is_staff, visible
from portal.web.fields import TextLength
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

bp = Blueprint("imports", __name__, url_prefix="/orders/import")


class ImportForm(SubmissionTokenMixin, FlaskForm):
    client = SelectField(_l("Client"), choices=[], validate_choice=True)
    file = FileField(
        _l("Excel file (.xlsx)"),
        validators=[FileRequired(_l("Please choose an Excel file."))],
        description=_l(
            'One order per file: a header row with the columns "product code" and '
            '"quantity" (in any order), optional reference and address columns.'
        ),
    )
    address = SelectField(
        _l("Delivery address"),
        choices=[],
        validate_choice=False,
        description=_l("Used when the file has no address columns."),
    )
    reference = StringField(_l("Reference"), validators=[Optional(), TextLength(maximum=100)])
    submit_order = BooleanField(_l("Submit the order right away"))


def _client_choices():
    clients = db.session.scalars(select(Client).order_by(Client.name)).all()
    return [(str(c.id), c.name) for c in clients]


def _address_choices(client_id: uuid.UUID | None):
    if client_id is None:
        return [("", _l("(from the file)"))]
    addresses = db.session.scalars(
        select(Address).where(Address.client_id == client_id).order_by(Address.name, Address.id)
    ).all()
    return [("", _l("(from the file)"))] + [
        (str(a.id), ", ".join(part for part in (a.label or a.name, a.city) if part))
        for a in addresses
    ]


@bp.route("", methods=["GET", "POST"])
@client_or_staff
@once_per_submission
def new():
    form = ImportForm()
    staff = is_staff()
    earlier = _earlier_import() if request.method == "GET" else None
    if staff:
        form.client.choices = _client_choices()
        if earlier is not None and earlier.client_id:
            form.client.data = str(earlier.client_id)
        client_id = _uuid(form.client.data) if form.client.data else None
    else:
        del form.client
        client_id = current_user.client_id
    form.address.choices = _address_choices(client_id)
    if earlier is not None:
        _fill_in_from(form, earlier)
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        try:
            check_workbook(data)
        except ImportRefused as refused:
            form.file.errors.append(refused.message)
        else:
            options = {
                "reference": form.reference.data or "",
                "submit": bool(form.submit_order.data),
            }
            if form.address.data:
                address = db.session.scalar(
                    select(Address).where(
                        Address.id == _uuid(form.address.data), Address.client_id == client_id
                    )
                )
                if address is None:
                    abort(400)
                options["address"] = {
                    key: (value.code if key == "country" else value)
                    for key, value in address.address_values().items()
                }
                # Which entry it was, so that "upload a corrected file" chooses it again.
                options["address_id"] = str(address.id)
            job = create_job(
                "order_import",
                data=data,
                name=upload.filename or "order.xlsx",
                created_by_id=current_user.id,
                client_id=client_id,
                options=options,
            )
            record_outcome(url_for("imports.status", job_id=job.id))
            db.session.commit()
            schedule(job, str(get_locale()))
            return redirect(url_for("imports.status", job_id=job.id))
    return render_template("imports/new.html", form=form)


def _earlier_import() -> Job | None:
    """Return the import named by ``?again=<job id>`` ("upload a corrected file"), if any.

    Only the user's own imports (or, for staff, the tenant's) are found; any other id is 404.
    """
    raw = request.args.get("again")
    return _job_or_404(_uuid(raw)) if raw else None


def _fill_in_from(form: ImportForm, job: Job) -> None:
    """Choose again what the earlier import was sent with: address, reference, submit."""
    options = job.options or {}
    address_id = options.get("address_id", "")
    if address_id in {value for value, _label in form.address.choices}:
        form.address.data = address_id
    form.reference.data = options.get("reference", "")
    form.submit_order.data = bool(options.get("submit"))


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        abort(400)


def _job_or_404(job_id: uuid.UUID) -> Job:
    job = db.session.scalar(
        visible(select(Job).where(Job.id == job_id, Job.kind == "order_import"), Job)
    )
    if job is None:
        abort(404)
    return job


@bp.route("/<uuid:job_id>")
@client_or_staff
def status(job_id: uuid.UUID):
    job = _job_or_404(job_id)
    return render_template("imports/status.html", job=job, order_url=_order_url(job))


@bp.route("/<uuid:job_id>/progress")
@client_or_staff
def progress(job_id: uuid.UUID):
    job = _job_or_404(job_id)
    return jsonify(
        status=job.status.value,
        percent=job.percent,
        done=job.done,
        total=job.total,
        finished=job.finished,
        order_url=_order_url(job),
    )


def _order_url(job: Job) -> str | None:
    order_id = (job.result or {}).get("order_id")
    if order_id and "orders.detail" in current_app.view_functions:
        return url_for("orders.detail", order_id=order_id)
    return None
