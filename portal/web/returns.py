"""Returns with replacement products and status history.

Clients see their returns and every step of them; staff register returns, mark them received,
and process them (restock or scrap each line; restocked units go back into stock).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import FieldList, FormField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.accounts.models import User
from portal.core.clients.models import Client
from portal.core.errors import DomainError, LineErrors
from portal.core.orders.models import Order
from portal.core.returns import services
from portal.core.returns.models import Disposition, Return, ReturnLine, ReturnStatus
from portal.db import db
from portal.web.access import client_or_staff, get_visible_or_404, is_staff, staff_only
from portal.web.filters import client_choices, status_and_client_filters
from portal.web.lines import (
    ReturnLineForm,
    entry_errors,
    line_errors_by_row,
    pad_rows,
    return_lines_from_rows,
)
from portal.web.navigation import CLIENT_AND_STAFF, NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.refusals import attempt
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

bp = Blueprint("returns", __name__, url_prefix="/returns")
add_nav_item(NavItem("returns.index", _l("Returns"), CLIENT_AND_STAFF, 60, section="returns."))

STATUS_LABELS = {
    ReturnStatus.REGISTERED: _l("Registered"),
    ReturnStatus.RECEIVED: _l("Received"),
    ReturnStatus.COMPLETED: _l("Processed"),
    ReturnStatus.CANCELLED: _l("Cancelled"),
}
DISPOSITION_LABELS = {
    Disposition.PENDING: _l("Not decided yet"),
    Disposition.RESTOCK: _l("Back in stock"),
    Disposition.SCRAP: _l("Scrapped"),
}


@bp.app_template_filter("return_status")
def _status_filter(status) -> str:
    try:
        return str(STATUS_LABELS[ReturnStatus(status)])
    except ValueError:
        return str(status)


class ReturnForm(SubmissionTokenMixin, FlaskForm):
    client_id = SelectField(_l("Client"), choices=[], validators=[DataRequired()])
    order_number = StringField(
        _l("Order number"),
        validators=[Optional(), Length(max=32)],
        description=_l("Optional: the order whose goods come back, e.g. O-2026-000123."),
    )
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])
    lines = FieldList(FormField(ReturnLineForm), min_entries=1)


class NoteForm(FlaskForm):
    """A step of the return with an optional note for the client (received, cancelled)."""

    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])


def _load(return_id: uuid.UUID) -> Return:
    return get_visible_or_404(
        Return,
        return_id,
        selectinload(Return.lines).selectinload(ReturnLine.product),
        selectinload(Return.lines).selectinload(ReturnLine.replacement_product),
        selectinload(Return.history),
        selectinload(Return.client),
        selectinload(Return.order),
    )


# --- list ------------------------------------------------------------------------------


@bp.route("/")
@client_or_staff
def index():
    filters = status_and_client_filters(Return, ReturnStatus)
    cursor, size = page_args()
    page = keyset_page(
        filters.statement.options(
            selectinload(Return.client),
            selectinload(Return.order),
            selectinload(Return.lines),
        ),
        [(Return.id, True)],
        cursor=cursor,
        size=size,
    )
    return render_template(
        "returns/index.html",
        page=page,
        statuses=[(status.value, str(label)) for status, label in STATUS_LABELS.items()],
        filters=filters,
        staff=is_staff(),
    )


# --- register (staff) ------------------------------------------------------------------


def _find_order(client: Client, number: str) -> Order | None:
    number = (number or "").strip()
    if not number:
        return None
    order = db.session.scalar(
        select(Order).where(Order.client_id == client.id, Order.number == number)
    )
    if order is None:
        raise DomainError(
            _l(
                "%(client)s has no order with the number %(number)s.",
                client=client.name,
                number=number,
            ),
            "order_number",
        )
    return order


@bp.route("/new", methods=["GET", "POST"])
@staff_only
@once_per_submission
def new():
    form = ReturnForm()
    form.client_id.choices = [("", _("Choose a client")), *client_choices()]
    if request.method == "GET" and request.args.get("order"):
        # Coming from an order: the client and order number are filled in.
        try:
            order_id = uuid.UUID(request.args["order"])
        except ValueError:
            abort(400)
        order = db.session.scalar(select(Order).where(Order.id == order_id))
        if order is None:
            abort(404)
        form.client_id.data = str(order.client_id)
        form.order_number.data = order.number
    line_errors: dict[int, list[str]] = {}
    if form.validate_on_submit():
        client = db.session.scalar(
            select(Client).where(Client.id == uuid.UUID(form.client_id.data))
        )

        def register():
            order = _find_order(client, form.order_number.data)
            lines = return_lines_from_rows(client.id, form.lines.entries)
            return services.register_return(
                client, lines, order=order, reason=form.reason.data or ""
            )

        outcome = attempt(form, register)
        line_errors = outcome.line_errors
        if outcome.ok:
            record_outcome(url_for("returns.detail", return_id=outcome.result.id))
            db.session.commit()
            flash(_("Return %(number)s was registered.", number=outcome.result.number), "success")
            return redirect(url_for("returns.detail", return_id=outcome.result.id))
    elif request.method == "POST":
        line_errors = entry_errors(form.lines)
    pad_rows(form.lines)
    return render_template("returns/new.html", form=form, line_errors=line_errors)


# --- detail and the steps of a return --------------------------------------------------


def _render_detail(ret: Return, *, process_errors=None, status_code: int = 200):
    people = {change.changed_by_id for change in ret.history if change.changed_by_id}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people)))}
        if people
        else {}
    )
    return render_template(
        "returns/detail.html",
        ret=ret,
        users=users,
        staff=is_staff(),
        disposition_labels=DISPOSITION_LABELS,
        process_errors=process_errors or {},
        chosen={key: value for key, value in request.form.items() if key.startswith("line-")},
    ), status_code


@bp.route("/<uuid:return_id>")
@client_or_staff
def detail(return_id: uuid.UUID):
    return _render_detail(_load(return_id))


def _step(return_id: uuid.UUID, action, done_message):
    ret = _load(return_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(ret, form.note.data or "")
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(done_message(ret), "success")
    return redirect(url_for("returns.detail", return_id=return_id))


@bp.route("/<uuid:return_id>/receive", methods=["POST"])
@staff_only
def receive(return_id: uuid.UUID):
    return _step(
        return_id,
        services.receive_return,
        lambda ret: _("Return %(number)s was marked as received.", number=ret.number),
    )


@bp.route("/<uuid:return_id>/cancel", methods=["POST"])
@staff_only
def cancel(return_id: uuid.UUID):
    return _step(
        return_id,
        services.cancel_return,
        lambda ret: _("Return %(number)s was cancelled.", number=ret.number),
    )


@bp.route("/<uuid:return_id>/process", methods=["POST"])
@staff_only
def process(return_id: uuid.UUID):
    ret = _load(return_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    choices = {item.value: item for item in (Disposition.RESTOCK, Disposition.SCRAP)}
    dispositions = {
        line.id: choices[request.form[f"line-{line.id}"]]
        for line in ret.lines
        if request.form.get(f"line-{line.id}") in choices
    }
    try:
        services.process_return(ret, dispositions, form.note.data or "")
    except LineErrors as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return _render_detail(_load(return_id), process_errors=line_errors_by_row(error))
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        restocked = sum(
            line.quantity for line in ret.lines if line.disposition == Disposition.RESTOCK
        )
        db.session.commit()
        flash(
            ngettext(
                "Return %(number)s was processed; %(num)d unit went back into stock.",
                "Return %(number)s was processed; %(num)d units went back into stock.",
                restocked,
                number=ret.number,
            ),
            "success",
        )
    return redirect(url_for("returns.detail", return_id=return_id))
