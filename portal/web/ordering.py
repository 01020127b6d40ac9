"""Ordering from suppliers, the store's side: cart, order data of a draft, book, send (with
the mandatory-data check), the answer to a supplier's proposed changes, and staff's retry of
a failed transfer.

The purchase order's own page (portal.web.purchase_orders.detail) shows the result of all
of this; the supplier answers in its portal (portal.web.supplier_portal).
"""

from __future__ import annotations

import re
import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import (
    DateField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import Form as PlainForm
from wtforms.validators import Email, Length, NumberRange, Optional

from portal.audit.services import record
from portal.core.clients.models import Client
from portal.core.errors import DomainError
from portal.core.purchasing import ordering
from portal.core.purchasing.models import PurchaseOrder, PurchaseOrderLine
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.suppliers.models import CartLine, CatalogueItem, Supplier
from portal.db import db
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.services import retry
from portal.web.access import client_or_staff, get_visible_or_404, is_staff, staff_only
from portal.web.addresses import country_choices
from portal.web.filters import client_choices
from portal.web.refusals import attempt
from portal.web.submissions import new_submission_token, once_per_submission, record_outcome

bp = Blueprint("ordering", __name__, url_prefix="/purchase-orders")

DELIVERY_METHOD_LABELS = {
    "standard": _l("Standard delivery"),
    "courier": _l("Courier"),
    "pickup": _l("Collected by us"),
}


class VersionForm(FlaskForm):
    version = HiddenField()


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Your reason"),
        validators=[Length(max=2000)],
        description=_l("The supplier sees this with the order."),
    )
    version = HiddenField()


class CartLineForm(FlaskForm):
    containers = IntegerField(
        _l("Containers"), validators=[NumberRange(min=0, max=ordering.MAX_CONTAINERS)]
    )


class LineForm(PlainForm):
    line_id = HiddenField()
    containers = IntegerField(
        _l("Containers"), validators=[NumberRange(min=0, max=ordering.MAX_CONTAINERS)]
    )
    note = StringField(_l("Line note"), validators=[Optional(), Length(max=500)])
    delivery_date = DateField(_l("Line delivery date"), validators=[Optional()])


class OrderDataForm(FlaskForm):
    reference = StringField(
        _l("Customer reference"),
        validators=[Optional(), Length(max=100)],
        description=_l("Your own number for this order; the supplier prints it on its papers."),
    )
    expected_date = DateField(_l("Requested delivery date"), validators=[Optional()])
    delivery_method = SelectField(_l("Delivery method"), choices=[])
    delivery_name = StringField(_l("Deliver to"), validators=[Optional(), Length(max=200)])
    delivery_company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    delivery_street = StringField(_l("Street and number"), validators=[Optional(), Length(max=200)])
    delivery_street2 = StringField(_l("Address line 2"), validators=[Optional(), Length(max=200)])
    delivery_postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=20)])
    delivery_city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    delivery_state = StringField(_l("State or province"), validators=[Optional(), Length(max=100)])
    delivery_country = SelectField(_l("Country"), choices=[], validate_choice=False)
    delivery_phone = StringField(
        _l("Phone at the delivery address"), validators=[Optional(), Length(max=40)]
    )
    delivery_email = EmailField(
        _l("E-mail at the delivery address"), validators=[Optional(), Email(), Length(max=254)]
    )
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=200)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    contact_email = EmailField(
        _l("Contact e-mail"), validators=[Optional(), Email(), Length(max=254)]
    )
    delivery_instructions = TextAreaField(
        _l("Delivery instructions"), validators=[Optional(), Length(max=2000)]
    )
    notes = TextAreaField(_l("Notes for the supplier"), validators=[Optional(), Length(max=2000)])
    lines = FieldList(FormField(LineForm))
    version = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.delivery_method.choices = [(k, str(v)) for k, v in DELIVERY_METHOD_LABELS.items()]
        self.delivery_country.choices = [("", _("Choose a country")), *country_choices()]


DETAIL_NAMES = list(ordering.DETAIL_FIELDS)
# Rule-set field names -> form field names.
LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


def _form_field(name: str) -> str | None:
    if name.startswith("delivery_address."):
        name = "delivery_" + name.split(".", 1)[1]
    if name == "delivery_date":
        return "expected_date"
    return name if name in DETAIL_NAMES else None


def _version(form) -> int:
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        abort(400)


def _load(purchase_order_id: uuid.UUID) -> PurchaseOrder:
    po = get_visible_or_404(
        PurchaseOrder,
        purchase_order_id,
        selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.product),
        selectinload(PurchaseOrder.supplier),
        selectinload(PurchaseOrder.client),
    )
    if po.supplier_id is None:
        abort(404)
    return po


def _detail(po: PurchaseOrder):
    return redirect(url_for("purchase_orders.detail", purchase_order_id=po.id))


def _notify(name: str, po: PurchaseOrder) -> None:
    from portal import purchase_notifications

    getattr(purchase_notifications, name)(po)


# --- cart ------------------------------------------------------------------------------------


def _cart_client() -> Client | None:
    if not is_staff():
        return current_user.client
    raw = request.values.get("client_id", "")
    try:
        client_id = uuid.UUID(raw)
    except ValueError:
        return None
    return db.session.scalar(select(Client).where(Client.id == client_id))


@bp.route("/cart")
@client_or_staff
def cart():
    client = _cart_client()
    groups: dict[uuid.UUID, dict] = {}
    if client is not None:
        lines = db.session.scalars(
            select(CartLine)
            .where(CartLine.client_id == client.id)
            .order_by(CartLine.created_at, CartLine.id)
            .options(selectinload(CartLine.item).selectinload(CatalogueItem.supplier))
        ).all()
        for line in lines:
            group = groups.setdefault(
                line.supplier_id,
                {"supplier": line.item.supplier, "lines": [], "draft": None},
            )
            group["lines"].append(line)
        for supplier_id, group in groups.items():
            group["draft"] = ordering.open_draft(client.id, supplier_id)
    return render_template(
        "ordering/cart.html",
        client=client,
        groups=list(groups.values()),
        staff=is_staff(),
        clients=client_choices() if is_staff() else [],
        form=VersionForm(),
        # One token per supplier's "Create purchase order" button.
        new_submission_token=new_submission_token,
    )


def _cart_line(line_id: uuid.UUID, client: Client | None) -> CartLine:
    if client is None:
        abort(404)
    line = db.session.scalar(
        select(CartLine).where(CartLine.id == line_id, CartLine.client_id == client.id)
    )
    if line is None:
        abort(404)
    return line


@bp.route("/cart/<uuid:line_id>", methods=["POST"])
@client_or_staff
def cart_line(line_id: uuid.UUID):
    client = _cart_client()
    line = _cart_line(line_id, client)
    form = CartLineForm()
    if not form.validate_on_submit():
        flash(
            _(
                "Please enter a whole number of containers between 0 and %(max)d.",
                max=ordering.MAX_CONTAINERS,
            ),
            "error",
        )
    else:
        ordering.set_cart_containers(line, form.containers.data)
        db.session.commit()
        flash(_("Your cart was updated."), "success")
    return redirect(url_for("ordering.cart", client_id=client.id if is_staff() else None))


@bp.route("/cart/order/<uuid:supplier_id>", methods=["POST"])
@client_or_staff
@once_per_submission
def order_cart(supplier_id: uuid.UUID):
    client = _cart_client()
    supplier = db.session.scalar(select(Supplier).where(Supplier.id == supplier_id))
    if client is None or supplier is None or not ordering.is_linked(client.id, supplier.id):
        abort(404)
    if not VersionForm().validate_on_submit():
        abort(400)
    try:
        po = ordering.create_from_cart(client, supplier)
        db.session.flush()
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        for line_error in getattr(error, "errors", []):
            flash(str(line_error.message), "error")
        return redirect(url_for("ordering.cart", client_id=client.id if is_staff() else None))
    record_outcome(url_for("ordering.order_data", purchase_order_id=po.id))
    db.session.commit()
    flash(
        _(
            "Draft purchase order %(number)s for %(supplier)s is ready. Check the order data, then book and send it.",
            number=po.number,
            supplier=supplier.name,
        ),
        "success",
    )
    return redirect(url_for("ordering.order_data", purchase_order_id=po.id))


# --- order data, book, send -------------------------------------------------------------------


def _fill(form: OrderDataForm, po: PurchaseOrder) -> None:
    for name in DETAIL_NAMES:
        value = getattr(po, name)
        if name == "delivery_country":
            value = value.code if value else ""
        getattr(form, name).data = value
    form.version.data = po.version
    while len(form.lines.entries):
        form.lines.pop_entry()
    for line in po.lines:
        form.lines.append_entry(
            {
                "line_id": str(line.id),
                "containers": line.containers,
                "note": line.note,
                "delivery_date": line.delivery_date,
            }
        )


def _details(form: OrderDataForm) -> dict:
    details = {name: getattr(form, name).data for name in DETAIL_NAMES}
    details["delivery_country"] = details["delivery_country"] or None
    for name, value in details.items():
        if value is None and name not in ("expected_date", "delivery_country"):
            details[name] = ""
    return details


def _draft_lines(form: OrderDataForm) -> list[ordering.DraftLine]:
    lines = []
    for entry in form.lines.entries:
        try:
            line_id = uuid.UUID(entry.form.line_id.data)
        except (TypeError, ValueError):
            abort(400)
        lines.append(
            ordering.DraftLine(
                line_id,
                entry.form.containers.data if entry.form.containers.data is not None else 0,
                entry.form.note.data or "",
                entry.form.delivery_date.data,
            )
        )
    return lines


def _show_findings(form: OrderDataForm, po: PurchaseOrder, findings) -> list:
    """Put each violation at its field; return those that belong to the order as a whole."""
    general = []
    line_index = dict(enumerate(form.lines.entries, start=1))
    for finding in findings:
        violation = finding.violation
        target = None
        match = LINE_FIELD.match(violation.field)
        if match:
            entry = line_index.get(int(match.group(1)))
            if entry is not None:
                name = {
                    "delivery_date": "delivery_date",
                    "note": "note",
                    "containers": "containers",
                    "quantity": "containers",
                }.get(match.group(2))
                target = getattr(entry.form, name) if name else None
        elif _form_field(violation.field):
            target = getattr(form, _form_field(violation.field))
        if target is not None and finding.blocking:
            target.errors = [*list(target.errors or []), violation.message]
        else:
            general.append(finding)
    return general


def _render_order_data(form, po, findings=(), general=None, stale=False):
    return render_template(
        "ordering/order_data.html",
        form=form,
        po=po,
        findings=list(findings),
        general=general if general is not None else list(findings),
        book_form=VersionForm(data={"version": po.version}),
        lines_by_id={str(line.id): line for line in po.lines},
        stale=stale,
    )


@bp.route("/<uuid:purchase_order_id>/order-data", methods=["GET", "POST"])
@client_or_staff
def order_data(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    if po.status not in ordering.DRAFT_STATES:
        flash(str(ordering.DRAFT_REFUSED), "error")
        return _detail(po)
    form = OrderDataForm()
    if request.method == "GET":
        _fill(form, po)
        return _render_order_data(form, po, findings=ordering.findings_for(po))
    stale = False
    if form.validate_on_submit():
        version = _version(form)
        outcome = attempt(
            form,
            lambda: ordering.update_draft(
                po, _details(form), _draft_lines(form), expected_version=version
            ),
        )
        stale = outcome.stale
        if outcome.ok:
            db.session.commit()
            if request.form.get("then") == "send":
                return _send(po)
            flash(_("Purchase order %(number)s was saved.", number=po.number), "success")
            return redirect(url_for("ordering.order_data", purchase_order_id=po.id))
        if outcome.line_errors:
            for row, messages in outcome.line_errors.items():
                if 1 <= row <= len(form.lines.entries):
                    form.lines.entries[row - 1].form.containers.errors = list(messages)
        po = _load(purchase_order_id)
    return _render_order_data(form, po, stale=stale)


def _send(po: PurchaseOrder):
    try:
        if po.status == Status.DRAFT:
            ordering.book(po, po.version)
        warnings = ordering.send(po, po.version)
        db.session.flush()
    except ordering.RuleViolations as refused:
        db.session.rollback()
        po = _load(po.id)
        form = OrderDataForm(formdata=None)
        _fill(form, po)
        general = _show_findings(form, po, refused.findings)
        form.form_errors.append(str(refused.message))
        return _render_order_data(form, po, findings=refused.findings, general=general), 422
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return _detail(po)
    integration = ordering.current_host().integration(po.supplier.integration_key)
    if integration is not None and integration.manual:
        _notify("notify_supplier_of_order", po)
    db.session.commit()
    for finding in warnings:
        flash(f"{finding.rule_set}: {finding.violation.message}", "warning")
    flash(
        _(
            "Purchase order %(number)s was sent to %(supplier)s. You will see here when the supplier has it and when it answers.",
            number=po.number,
            supplier=po.supplier.name,
        ),
        "success",
    )
    return _detail(po)


def _act(purchase_order_id: uuid.UUID, form, change, done):
    """Run ``change(po, version)`` for a button's form, flash what happened, back to the order.

    ``done(po)`` runs in the same transaction before the commit (e-mails) and returns the
    success message; a refusal is flashed with its reason.
    """
    po = _load(purchase_order_id)
    if not form.validate_on_submit():
        abort(400)
    outcome = attempt(form, lambda: change(po, _version(form)))
    if outcome.ok:
        message = done(po)
        db.session.commit()
        flash(message, "success")
    else:
        for message in [*form.form_errors, *(error for field in form for error in field.errors)]:
            flash(str(message), "error")
    return _detail(po)


@bp.route("/<uuid:purchase_order_id>/book", methods=["POST"])
@client_or_staff
def book(purchase_order_id: uuid.UUID):
    return _act(
        purchase_order_id,
        VersionForm(),
        ordering.book,
        lambda po: _("Purchase order %(number)s was booked.", number=po.number),
    )


@bp.route("/<uuid:purchase_order_id>/send", methods=["POST"])
@client_or_staff
def send(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    if _version(form) != po.version:
        flash(
            _("Someone else changed this in the meantime. Please check the order and try again."),
            "error",
        )
        return _detail(po)
    return _send(po)


# --- the answer to proposed changes ---------------------------------------------------------


@bp.route("/<uuid:purchase_order_id>/accept-changes", methods=["POST"])
@client_or_staff
def accept_changes(purchase_order_id: uuid.UUID):
    return _act(
        purchase_order_id,
        VersionForm(),
        ordering.accept_changes,
        lambda po: _(
            "You accepted the supplier's changes; purchase order %(number)s is confirmed.",
            number=po.number,
        ),
    )


def _changes_refused(po: PurchaseOrder) -> str:
    _notify("notify_supplier_of_refused_changes", po)
    return _("The supplier was told that you do not accept the changes.")


@bp.route("/<uuid:purchase_order_id>/refuse-changes", methods=["POST"])
@client_or_staff
def refuse_changes(purchase_order_id: uuid.UUID):
    form = ReasonForm()
    return _act(
        purchase_order_id,
        form,
        lambda po, version: ordering.refuse_changes(po, form.reason.data or "", version),
        _changes_refused,
    )


# --- staff: transfers ------------------------------------------------------------------------


def transfer_messages(po: PurchaseOrder) -> list[OutboxMessage]:
    prefix = f"po-transfer:{po.tenant_id}:{po.id}:"
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.idempotency_key.startswith(prefix))
            .order_by(OutboxMessage.created_at)
        )
    )


@bp.route("/<uuid:purchase_order_id>/retry-transfer", methods=["POST"])
@staff_only
def retry_transfer(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    if not VersionForm().validate_on_submit():
        abort(400)
    failed = [
        m
        for m in transfer_messages(po)
        if m.status == OutboxStatus.FAILED and m.idempotency_key == ordering.transfer_key(po)
    ]
    if po.status != Status.SENT or not failed:
        flash(_("There is no failed transfer to try again."), "error")
        return _detail(po)
    for message in failed:
        retry(message)
    po.transfer_error = ""
    record("purchase_order.transfer_retried", po)
    db.session.commit()
    flash(_("The transfer will be tried again in a moment."), "success")
    return _detail(po)
