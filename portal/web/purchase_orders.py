"""Purchase orders (announced deliveries) and goods receipts.

Clients announce deliveries of their goods; staff count them in. Lines, date and reference
change and the purchase order may be cancelled only while no goods have arrived. The same
PurchaseOrder model is what the tenant later sends to suppliers.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import (
    DateField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal.accounts.models import User
from portal.core.clients.models import Client
from portal.core.errors import DomainError
from portal.core.products.models import Product
from portal.core.purchasing import services
from portal.core.purchasing.models import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from portal.core.versioning import STALE_MESSAGE, check_version
from portal.core.warehouses.services import purchase_order_warehouse
from portal.db import db
from portal.web.access import client_or_staff, get_visible_or_404, is_staff, staff_only
from portal.web.filters import client_choices, status_and_client_filters
from portal.web.lines import (
    CodeLineForm,
    entry_errors,
    order_lines_from_rows,
    pad_rows,
    whole_number,
)
from portal.web.navigation import CLIENT_AND_STAFF, NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.refusals import attempt

bp = Blueprint("purchase_orders", __name__, url_prefix="/purchase-orders")
add_nav_item(
    NavItem(
        "purchase_orders.index",
        _l("Purchase orders"),
        CLIENT_AND_STAFF,
        50,
        section="purchase_orders.",
    )
)

STATUS_LABELS = {
    PurchaseOrderStatus.DRAFT: _l("Draft"),
    PurchaseOrderStatus.BOOKED: _l("Booked"),
    PurchaseOrderStatus.SENT: _l("Sent"),
    PurchaseOrderStatus.TRANSFERRED: _l("Transferred"),
    PurchaseOrderStatus.ACKNOWLEDGED: _l("Acknowledged"),
    PurchaseOrderStatus.CONFIRMED: _l("Confirmed"),
    PurchaseOrderStatus.CHANGES_PROPOSED: _l("Changes proposed"),
    PurchaseOrderStatus.IN_PRODUCTION: _l("In production"),
    PurchaseOrderStatus.DISPATCHED: _l("Dispatched"),
    PurchaseOrderStatus.PARTIALLY_RECEIVED: _l("Partially received"),
    PurchaseOrderStatus.RECEIVED: _l("Received"),
    PurchaseOrderStatus.REJECTED: _l("Rejected"),
    PurchaseOrderStatus.CANCELLED: _l("Cancelled"),
}

# What each audit action of a purchase order means, for its history.
HISTORY_LABELS = {
    "purchase_order.created": _l("Created"),
    "purchase_order.booked": _l("Booked"),
    "purchase_order.changed": _l("Lines, date or reference changed"),
    "purchase_order.cancelled": _l("Cancelled"),
    "purchase_order.received": _l("Goods received"),
}
CHANGED_FIELDS = {
    "lines": _l("Lines"),
    "expected_date": _l("Expected delivery date"),
    "reference": _l("Reference"),
}
DATALIST_LIMIT = 1000


def status_label(status) -> str:
    try:
        return str(STATUS_LABELS[PurchaseOrderStatus(status)])
    except ValueError:
        return str(status)


@bp.app_template_filter("purchase_order_status")
def _status_filter(status) -> str:
    return status_label(status)


class PurchaseOrderForm(FlaskForm):
    client_id = SelectField(_l("Client"), choices=[], validators=[DataRequired()])
    supplier_name = StringField(
        _l("Supplier"),
        validators=[Optional(), Length(max=200)],
        description=_l("Who delivers the goods."),
    )
    reference = StringField(
        _l("Reference"),
        validators=[Optional(), Length(max=100)],
        description=_l("Your own number for this delivery, if any."),
    )
    expected_date = DateField(_l("Expected delivery date"), validators=[Optional()])
    lines = FieldList(FormField(CodeLineForm), min_entries=1)
    version = HiddenField()


class VersionForm(FlaskForm):
    """A button that acts on one version of the purchase order (cancel)."""

    version = HiddenField()


class ReceiptForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])
    version = HiddenField()


def _version(form) -> int:
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        abort(400)


def _load(purchase_order_id: uuid.UUID) -> PurchaseOrder:
    return get_visible_or_404(
        PurchaseOrder,
        purchase_order_id,
        selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.product),
        selectinload(PurchaseOrder.client),
        selectinload(PurchaseOrder.warehouse),
    )


def _product_suggestions(client_id: uuid.UUID | None):
    """The client's products for the code field's suggestions (a datalist)."""
    if client_id is None:
        return []
    return db.session.execute(
        select(Product.code, Product.name)
        .where(Product.client_id == client_id)
        .order_by(Product.code)
        .limit(DATALIST_LIMIT)
    ).all()


# --- list ------------------------------------------------------------------------------


@bp.route("/")
@client_or_staff
def index():
    filters = status_and_client_filters(PurchaseOrder, PurchaseOrderStatus)
    cursor, size = page_args()
    page = keyset_page(
        filters.statement.options(
            selectinload(PurchaseOrder.client),
            selectinload(PurchaseOrder.supplier),
            selectinload(PurchaseOrder.warehouse),
            selectinload(PurchaseOrder.lines),
        ),
        [(PurchaseOrder.id, True)],
        cursor=cursor,
        size=size,
    )
    return render_template(
        "purchase_orders/index.html",
        page=page,
        statuses=[(status.value, status_label(status)) for status in PurchaseOrderStatus],
        filters=filters,
        staff=is_staff(),
    )


# --- create ----------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@client_or_staff
def new():
    form = PurchaseOrderForm()
    del form.version
    staff = is_staff()
    if staff:
        form.client_id.choices = [("", _("Choose a client")), *client_choices()]
    else:
        del form.client_id
    own_client = None if staff else current_user.client
    line_errors: dict[int, list[str]] = {}
    if form.validate_on_submit():
        client = own_client
        if staff:
            client = db.session.scalar(
                select(Client).where(Client.id == uuid.UUID(form.client_id.data))
            )
        outcome = attempt(
            form,
            lambda: services.create_purchase_order(
                client,
                order_lines_from_rows(client.id, form.lines.entries),
                expected_date=form.expected_date.data,
                supplier_name=form.supplier_name.data or "",
                reference=form.reference.data or "",
            ),
        )
        line_errors = outcome.line_errors
        if outcome.ok:
            po = outcome.result
            db.session.commit()
            flash(
                _(
                    "Purchase order %(number)s was created. It will be delivered to %(warehouse)s.",
                    number=po.number,
                    warehouse=po.warehouse.name,
                ),
                "success",
            )
            return redirect(url_for("purchase_orders.detail", purchase_order_id=po.id))
    elif request.method == "POST":
        line_errors = entry_errors(form.lines)
    pad_rows(form.lines)
    return render_template(
        "purchase_orders/form.html",
        form=form,
        po=None,
        line_errors=line_errors,
        warehouse=purchase_order_warehouse(own_client) if own_client else None,
        suggestions=_product_suggestions(own_client.id if own_client else None),
        stale=False,
    )


# --- detail ----------------------------------------------------------------------------


@bp.route("/<uuid:purchase_order_id>")
@client_or_staff
def detail(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    receipts = db.session.scalars(
        select(GoodsReceipt)
        .where(GoodsReceipt.purchase_order_id == po.id)
        .order_by(GoodsReceipt.received_at, GoodsReceipt.id)
        .options(selectinload(GoodsReceipt.lines))
    ).all()
    history = services.status_history(po)
    people = {e.actor_id for e in history} | {r.received_by_id for r in receipts}
    people.discard(None)
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people)))}
        if people
        else {}
    )
    return render_template(
        "purchase_orders/detail.html",
        po=po,
        lines_by_id={line.id: line for line in po.lines},
        receipts=receipts,
        history=history,
        history_labels=HISTORY_LABELS,
        changed_fields=CHANGED_FIELDS,
        users=users,
        can_change=services.can_change(po),
        can_cancel=services.can_cancel(po),
        can_receive=services.can_receive(po),
        cancel_form=VersionForm(data={"version": po.version}),
        staff=is_staff(),
    )


# --- change and cancel -----------------------------------------------------------------


@bp.route("/<uuid:purchase_order_id>/edit", methods=["GET", "POST"])
@client_or_staff
def edit(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    if not services.can_change(po):
        flash(str(services.CHANGE_REFUSED), "error")
        return redirect(url_for("purchase_orders.detail", purchase_order_id=po.id))
    if request.method == "GET":
        form = PurchaseOrderForm(
            data={
                "reference": po.reference,
                "expected_date": po.expected_date,
                "version": po.version,
                "lines": [
                    {"code": line.product.code, "quantity": str(line.quantity)} for line in po.lines
                ],
            }
        )
    else:
        form = PurchaseOrderForm()
    del form.client_id
    del form.supplier_name
    line_errors: dict[int, list[str]] = {}
    stale = False
    if form.validate_on_submit():
        version = _version(form)

        def change():
            # The version first: a stale form is told so, not corrected line by line.
            check_version(po, version)
            services.update_purchase_order(
                po,
                order_lines_from_rows(po.client_id, form.lines.entries),
                expected_date=form.expected_date.data,
                reference=form.reference.data or "",
                expected_version=version,
            )

        outcome = attempt(form, change)
        line_errors, stale = outcome.line_errors, outcome.stale
        if outcome.ok:
            db.session.commit()
            flash(_("Purchase order %(number)s was saved.", number=po.number), "success")
            return redirect(url_for("purchase_orders.detail", purchase_order_id=po.id))
    elif request.method == "POST":
        line_errors = entry_errors(form.lines)
    pad_rows(form.lines)
    return render_template(
        "purchase_orders/form.html",
        form=form,
        po=po,
        line_errors=line_errors,
        warehouse=po.warehouse,
        suggestions=_product_suggestions(po.client_id),
        stale=stale,
    )


@bp.route("/<uuid:purchase_order_id>/cancel", methods=["POST"])
@client_or_staff
def cancel(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.cancel_purchase_order(po, _version(form))
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        flash(str(STALE_MESSAGE), "error")
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("Purchase order %(number)s was cancelled.", number=po.number), "success")
    return redirect(url_for("purchase_orders.detail", purchase_order_id=purchase_order_id))


# --- goods receipt (staff) -------------------------------------------------------------


def _received_quantities(po: PurchaseOrder) -> dict[uuid.UUID, object]:
    """Read the counted quantity of every line; blank means none arrived."""
    quantities = {}
    for line in po.lines:
        raw = request.form.get(f"line-{line.id}", "").strip()
        quantities[line.id] = whole_number(raw) if raw else 0
    return quantities


@bp.route("/<uuid:purchase_order_id>/receive", methods=["GET", "POST"])
@staff_only
def receive(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    if not services.can_receive(po):
        flash(str(services.RECEIVE_REFUSED), "error")
        return redirect(url_for("purchase_orders.detail", purchase_order_id=po.id))
    form = ReceiptForm(data={"version": po.version}) if request.method == "GET" else ReceiptForm()
    line_errors: dict[int, list[str]] = {}
    entered: dict[str, str] = {}
    stale = False
    if form.validate_on_submit():
        entered = {f"line-{line.id}": request.form.get(f"line-{line.id}", "") for line in po.lines}
        outcome = attempt(
            form,
            lambda: services.receive_goods(
                po, _received_quantities(po), form.note.data or "", _version(form)
            ),
        )
        line_errors, stale = outcome.line_errors, outcome.stale
        if outcome.ok:
            units = sum(line.quantity for line in outcome.result.lines)
            db.session.commit()
            flash(
                _(
                    "%(units)d units were received for %(number)s and added to stock.",
                    units=units,
                    number=po.number,
                ),
                "success",
            )
            return redirect(url_for("purchase_orders.detail", purchase_order_id=po.id))
        if stale:
            po = _load(purchase_order_id)
    return render_template(
        "purchase_orders/receive.html",
        po=po,
        form=form,
        line_errors=line_errors,
        entered=entered,
        stale=stale,
    )
