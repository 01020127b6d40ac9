"""Purchase orders (announced deliveries) and goods receipts.

Clients announce deliveries of their goods; staff count them in. Lines, date and reference
change and the purchase order may be cancelled only while no goods have arrived. The same
PurchaseOrder model is what the tenant later sends to suppliers.
"""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_number, ngettext
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
    DispatchNotice,
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderDocument,
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
    line_quantities,
    order_lines_from_rows,
    pad_rows,
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
    PurchaseOrderStatus.PARTIALLY_DISPATCHED: _l("Partially dispatched"),
    PurchaseOrderStatus.DISPATCHED: _l("Dispatched"),
    PurchaseOrderStatus.PARTIALLY_RECEIVED: _l("Partially received"),
    PurchaseOrderStatus.RECEIVED: _l("Received"),
    PurchaseOrderStatus.REJECTED: _l("Rejected"),
    PurchaseOrderStatus.CANCELLED: _l("Cancelled"),
}

# What each audit action of a purchase order means, for its history.
HISTORY_LABELS = {
    "purchase_order.created": _l("Created"),
    "purchase_order.cart_added": _l("Items added from the cart"),
    "purchase_order.booked": _l("Booked"),
    "purchase_order.changed": _l("Lines, date or reference changed"),
    "purchase_order.cancelled": _l("Cancelled"),
    "purchase_order.received": _l("Goods received"),
    "purchase_order.sent": _l("Sent to the supplier"),
    "purchase_order.transferred": _l("The supplier has it"),
    "purchase_order.transfer_failed": _l("Transfer failed"),
    "purchase_order.inbound_refused": _l("Message from the supplier's system refused"),
    "purchase_order.transfer_retried": _l("Transfer tried again"),
    "purchase_order.acknowledged": _l("Acknowledged by the supplier"),
    "purchase_order.confirmed": _l("Confirmed"),
    "purchase_order.confirmed_with_changes": _l("Confirmed with changes"),
    "purchase_order.changes_proposed": _l("Changes proposed by the supplier"),
    "purchase_order.changes_accepted": _l("Changes accepted"),
    "purchase_order.changes_refused": _l("Changes not accepted"),
    "purchase_order.rejected": _l("Rejected by the supplier"),
    "purchase_order.supplier_reference": _l("Supplier's order number or situation changed"),
    "purchase_order.in_production": _l("In production"),
    "purchase_order.dispatched": _l("Dispatched"),
    "purchase_order.document_added": _l("Document added"),
}
CHANGED_FIELDS = {
    "lines": _l("Lines"),
    "expected_date": _l("Expected delivery date"),
    "reference": _l("Reference"),
    "supplier_order_number": _l("Supplier's order number"),
    "supplier_situation": _l("Situation"),
    "contact_name": _l("Contact person"),
    "contact_phone": _l("Contact phone"),
    "contact_email": _l("Contact e-mail"),
    "delivery_instructions": _l("Delivery instructions"),
    "delivery_method": _l("Delivery method"),
    "delivery_name": _l("Deliver to"),
    "delivery_company": _l("Company"),
    "delivery_street": _l("Street and number"),
    "delivery_street2": _l("Address line 2"),
    "delivery_postcode": _l("Postcode"),
    "delivery_city": _l("City"),
    "delivery_state": _l("State or province"),
    "delivery_country": _l("Country"),
    "delivery_phone": _l("Phone at the delivery address"),
    "delivery_email": _l("E-mail at the delivery address"),
    "notes": _l("Notes for the supplier"),
}
# Lines of a draft are named by their product code in the audit log: "BOOT-1.containers".
CODE_CHANGE = re.compile(r"^(.+)\.(containers|note|delivery_date)$")
LINE_CHANGE = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
LINE_FIELDS = {
    "containers": _l("containers"),
    "note": _l("note"),
    "quantity": _l("quantity"),
    "unit_price": _l("price"),
    "delivery_date": _l("delivery date"),
}


def change_label(key: str) -> str:
    """Name a changed field of the audit log in words: "Line 2: price"."""
    match = LINE_CHANGE.match(key)
    if match:
        field = LINE_FIELDS.get(match.group(2), match.group(2))
        return _("Line %(row)s: %(field)s", row=match.group(1), field=field)
    if key not in CHANGED_FIELDS and (match := CODE_CHANGE.match(key)):
        return f"{match.group(1)}: {LINE_FIELDS[match.group(2)]}"
    return str(CHANGED_FIELDS.get(key, key))


DATALIST_LIMIT = 1000


def status_label(status) -> str:
    try:
        return str(STATUS_LABELS[PurchaseOrderStatus(status)])
    except ValueError:
        return str(status)


@bp.app_template_filter("purchase_order_status")
def _status_filter(status) -> str:
    return status_label(status)


def units_text(units: int) -> str:
    """Say a number of units in the reader's language: "1 unit", "7 units"."""
    # Not %(num)s: Flask-Babel's ngettext takes the count itself as "num".
    return ngettext("%(units)s unit", "%(units)s units", units, units=format_number(units))


@bp.app_template_filter("in_containers")
def container_text(units: int | None, amount: int) -> str:
    """Show a line's units as containers in numbers that add up: "3 times 6 = 18 units", and
    for units beyond the whole containers "1 times 6 + 1 unit = 7 units" (docs/purchasing.md)."""
    if units is None:
        return "—"
    if amount <= 1:
        return units_text(units)
    containers, loose = divmod(units, amount)
    if not loose:
        return _(
            "%(containers)s × %(amount)s = %(units)s",  # noqa: RUF001 - the sign people write
            containers=format_number(containers),
            amount=format_number(amount),
            units=units_text(units),
        )
    return _(
        "%(containers)s × %(amount)s + %(loose)s = %(units)s",  # noqa: RUF001 - as above
        containers=format_number(containers),
        amount=format_number(amount),
        loose=units_text(loose),
        units=units_text(units),
    )


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
    supplier_side = _supplier_side(po) if po.supplier_id is not None else {}
    return render_template(
        "purchase_orders/detail.html",
        po=po,
        change_label=change_label,
        **supplier_side,
        lines_by_id={line.id: line for line in po.lines},
        receipts=receipts,
        history=history,
        history_labels=HISTORY_LABELS,
        changed_fields=CHANGED_FIELDS,
        users=users,
        can_change=services.can_change(po),
        can_cancel=services.can_cancel(po),
        can_receive=services.can_receive(po),
        staff=is_staff(),
    )


def _supplier_side(po: PurchaseOrder) -> dict:
    """What the page shows of an order to a supplier: its answers, notices and documents."""
    from portal.core.purchasing import codes, ordering, responses
    from portal.core.purchasing.rules import customer_number
    from portal.web.ordering import DELIVERY_METHOD_LABELS, ReasonForm, transfer_messages

    notices = db.session.scalars(
        select(DispatchNotice)
        .where(DispatchNotice.purchase_order_id == po.id)
        .order_by(DispatchNotice.created_at, DispatchNotice.id)
        .options(selectinload(DispatchNotice.lines))
    ).all()
    documents = db.session.execute(
        select(
            PurchaseOrderDocument.id,
            PurchaseOrderDocument.filename,
            PurchaseOrderDocument.description,
            PurchaseOrderDocument.size,
            PurchaseOrderDocument.uploaded_at,
        )
        .where(PurchaseOrderDocument.purchase_order_id == po.id)
        .order_by(PurchaseOrderDocument.uploaded_at)
    ).all()
    if po.status in (PurchaseOrderStatus.SENT,):
        waiting = _("Waiting for the transfer to the supplier.")
    elif po.status in (PurchaseOrderStatus.TRANSFERRED, PurchaseOrderStatus.ACKNOWLEDGED):
        waiting = _("The supplier has the order; waiting for its confirmation.")
    elif po.status == PurchaseOrderStatus.CHANGES_PROPOSED:
        waiting = _("The supplier proposes changes: waiting for your answer.")
    elif po.status == PurchaseOrderStatus.PARTIALLY_DISPATCHED:
        waiting = _(
            "Part of the goods is on its way; the supplier has still to dispatch the rest. The lines show what is still to come."
        )
    else:
        waiting = ""
    transfers = transfer_messages(po) if is_staff() else []
    return {
        "supplier_order": True,
        "customer_number": customer_number(po),
        "response_code": codes.ubl_response_code(po),
        "waiting": waiting,
        "notices": notices,
        "documents": documents,
        "delivery_method_label": DELIVERY_METHOD_LABELS.get(po.delivery_method, po.delivery_method),
        "version_form": VersionForm(data={"version": po.version}),
        "refuse_form": ReasonForm(data={"version": po.version}),
        "in_draft": po.status in ordering.DRAFT_STATES,
        "transfers": transfers,
        "can_retry_transfer": po.status == PurchaseOrderStatus.SENT
        and any(m.status.value == "failed" for m in transfers),
        "has_changes": any(line.changed_fields for line in po.lines),
        # The supplier's confirmed quantities stand from its confirmation on.
        "confirmed": po.answered_at is not None
        and po.status in (PurchaseOrderStatus.CONFIRMED, *codes.AFTER_CONFIRMATION),
        "announced": responses.dispatched_units(po),
    }


# --- change and cancel -----------------------------------------------------------------


@bp.route("/<uuid:purchase_order_id>/edit", methods=["GET", "POST"])
@client_or_staff
def edit(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    if po.supplier_id is not None:
        return redirect(url_for("ordering.order_data", purchase_order_id=po.id))
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


@bp.route("/<uuid:purchase_order_id>/cancel", methods=["GET", "POST"])
@client_or_staff
def cancel(purchase_order_id: uuid.UUID):
    """Ask first (GET), then cancel (POST): what happens is said on the asking page."""
    po = _load(purchase_order_id)
    if request.method == "GET":
        return render_template(
            "purchase_orders/cancel.html",
            po=po,
            allowed=services.can_cancel(po),
            refusal=services.CANCEL_REFUSED,
            supplier_told=po.sent_at is not None and po.supplier_id is not None,
            form=VersionForm(formdata=None, data={"version": po.version}),
        )
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    was_sent = po.sent_at is not None
    try:
        services.cancel_purchase_order(po, _version(form))
        db.session.flush()
        if was_sent and po.supplier_id is not None:
            from portal import purchase_notifications

            purchase_notifications.notify_supplier_of_cancellation(po)
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
                po, line_quantities(po.lines, request.form), form.note.data or "", _version(form)
            ),
        )
        line_errors, stale = outcome.line_errors, outcome.stale
        if outcome.ok:
            units = sum(line.quantity for line in outcome.result.lines)
            db.session.commit()
            flash(
                ngettext(
                    "%(num)d unit was received for %(number)s and added to stock.",
                    "%(num)d units were received for %(number)s and added to stock.",
                    units,
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
