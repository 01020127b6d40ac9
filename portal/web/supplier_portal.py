"""The supplier's portal: the purchase orders released to a supplier, its answers to them
(acknowledge, confirm with changes, reject, own order number and situation, production,
dispatch notices, documents), and its registration data per store.

A supplier user sees only its own supplier's orders, and only from the moment they are
released (sent): a draft, a booked order and any other supplier's order are not found. Every
answer goes through :mod:`portal.core.purchasing.responses`, the functions a supplier's
integration calls too, so both obey the same rules; the e-mails to the store follow in the
same transaction (:mod:`portal.purchase_notifications`).
"""

from __future__ import annotations

import io
import uuid
from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import defer, selectinload
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal.accounts.models import Role
from portal.core.errors import DomainError, LineErrors
from portal.core.orders.carriers import CARRIERS, OTHER, tracking_url
from portal.core.purchasing import responses
from portal.core.purchasing.models import (
    DispatchNotice,
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderLine,
)
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.purchasing.services import status_history
from portal.core.suppliers import services as supplier_services
from portal.core.suppliers.models import SupplierClient
from portal.core.suppliers.services import supplier_links
from portal.db import contains_any, db
from portal.i18n import start_of_day
from portal.purchase_notifications import (
    notify_store_of_answer,
    notify_store_of_dispatch,
    requested_date,
)
from portal.web import plugin_settings
from portal.web.access import _client_with_access, _require, is_staff, visible
from portal.web.lines import line_quantities, whole_number
from portal.web.navigation import NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.products import parse_amount
from portal.web.purchase_orders import status_label
from portal.web.refusals import attempt
from portal.web.suppliers import PluginSettingsForm

bp = Blueprint("supplier_portal", __name__, url_prefix="/supplier")

SUPPLIERS = frozenset({Role.SUPPLIER})
add_nav_item(
    NavItem(
        "supplier_portal.index",
        _l("Purchase orders"),
        SUPPLIERS,
        10,
        section="supplier_portal.order",
    )
)
add_nav_item(
    NavItem("supplier_portal.stores", _l("Stores"), SUPPLIERS, 20, section="supplier_portal.store")
)
add_nav_item(
    NavItem(
        "supplier_portal.mandatory_data",
        _l("Mandatory data"),
        SUPPLIERS,
        30,
        section="supplier_portal.mandatory_data",
    )
)

# What the store is waiting for, in each state the supplier can act on or watch.
WAITING_FOR = {
    Status.SENT: _l("The store is waiting for your answer."),
    Status.TRANSFERRED: _l("The store is waiting for your answer."),
    Status.ACKNOWLEDGED: _l("The store is waiting for your confirmation."),
    Status.CHANGES_PROPOSED: _l("You are waiting for the store to accept or refuse your changes."),
    Status.CONFIRMED: _l("The store is waiting for the goods to be dispatched."),
    Status.IN_PRODUCTION: _l("The store is waiting for the goods to be dispatched."),
    Status.PARTIALLY_DISPATCHED: _l(
        "Part of the goods is on its way; the store is waiting for the rest to be dispatched."
    ),
    Status.DISPATCHED: _l("The goods are on their way to the warehouse."),
    Status.PARTIALLY_RECEIVED: _l("Part of the goods has arrived; the rest is expected."),
}

# The steps of an order that its supplier sees in the history (the store's drafts are its own).
HISTORY_LABELS = {
    "purchase_order.sent": _l("Sent by the store"),
    "purchase_order.transferred": _l("Delivered to you"),
    "purchase_order.acknowledged": _l("Acknowledged"),
    "purchase_order.supplier_reference": _l("Order number or situation set"),
    "purchase_order.confirmed": _l("Confirmed"),
    "purchase_order.confirmed_with_changes": _l("Confirmed with changes"),
    "purchase_order.changes_proposed": _l("Changes proposed"),
    "purchase_order.changes_accepted": _l("Changes accepted by the store"),
    "purchase_order.changes_refused": _l("Changes refused by the store"),
    "purchase_order.rejected": _l("Rejected"),
    "purchase_order.in_production": _l("In production"),
    "purchase_order.dispatched": _l("Dispatched"),
    "purchase_order.document_added": _l("Document added"),
    "purchase_order.received": _l("Goods received"),
    "purchase_order.cancelled": _l("Cancelled by the store"),
}

DELIVERY_METHOD_LABELS = {
    "standard": _l("Standard delivery"),
    "courier": _l("Courier"),
    "pickup": _l("Pick-up"),
}


# --- who may come in -------------------------------------------------------------------------


def _active_supplier() -> bool:
    return (
        current_user.role == Role.SUPPLIER
        and current_user.supplier is not None
        and current_user.supplier.active
    )


#: Users of an active supplier only; everybody else is refused (403).
supplier_only = _require(_active_supplier)
#: Who may download a purchase order's documents: its supplier, the store, the tenant's staff.
document_readers = _require(lambda: _active_supplier() or is_staff() or _client_with_access())


def released_orders() -> Select:
    """The purchase orders released to the current user's supplier."""
    return responses.released_to(current_user.supplier_id)


def _load(purchase_order_id: uuid.UUID) -> PurchaseOrder:
    po = db.session.scalar(
        released_orders()
        .where(PurchaseOrder.id == purchase_order_id)
        .options(
            selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.product),
            selectinload(PurchaseOrder.client),
            selectinload(PurchaseOrder.supplier),
        )
    )
    if po is None:
        abort(404)
    return po


def _link_of(po: PurchaseOrder) -> SupplierClient | None:
    """The store's link to the supplier: its customer number and the supplier's own data."""
    if po.client_id is None:
        return None
    return db.session.scalar(
        select(SupplierClient).where(
            SupplierClient.supplier_id == po.supplier_id,
            SupplierClient.client_id == po.client_id,
        )
    )


# --- forms -----------------------------------------------------------------------------------


class VersionForm(FlaskForm):
    """An action on one version of the purchase order (acknowledge, production)."""

    version = HiddenField()


class RejectForm(VersionForm):
    reason = TextAreaField(
        _l("Reason for the rejection"),
        validators=[Optional(), Length(max=2000)],
        description=_l("The store sees this reason."),
    )


class ReferenceForm(VersionForm):
    order_number = StringField(
        _l("Your order number"),
        validators=[Optional(), Length(max=64)],
        description=_l("Once you set your order number, the order counts as acknowledged."),
    )
    situation = StringField(_l("Situation"), validators=[Optional(), Length(max=200)])


class ReferenceChoiceForm(ReferenceForm):
    # The domain refuses a situation that is not listed, with its own message.
    situation = SelectField(_l("Situation"), choices=[], validate_choice=False)


class ConfirmForm(VersionForm):
    """The lines' quantities, prices and dates are read from inputs named per line."""


class DispatchForm(VersionForm):
    carrier = StringField(_l("Carrier"), validators=[Optional(), Length(max=100)])
    tracking_code = StringField(_l("Tracking code"), validators=[Optional(), Length(max=100)])
    expected_date = DateField(_l("Expected delivery date"), validators=[Optional()])
    note = TextAreaField(_l("Note for the store"), validators=[Optional(), Length(max=2000)])


class DocumentForm(FlaskForm):
    file = FileField(
        _l("File"),
        description=_l(
            "A PDF file or a PNG, JPEG or WebP image, at most %(mb)d MB.",
            mb=responses.MAX_DOCUMENT_BYTES // 1024 // 1024,
        ),
        render_kw={"accept": "application/pdf,image/png,image/jpeg,image/webp"},
    )
    description = StringField(
        _l("Description"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example: order confirmation, invoice, certificate."),
    )


class RegistrationForm(FlaskForm):
    account_manager = StringField(_l("Account manager"), validators=[Optional(), Length(max=200)])
    account_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    account_email = StringField(_l("E-mail address"), validators=[Optional(), Length(max=254)])
    payment_terms = StringField(_l("Payment terms"), validators=[Optional(), Length(max=200)])
    supplier_notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])


def _version(form) -> int:
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        abort(400)


def _reference_form(po: PurchaseOrder, formdata=None) -> ReferenceForm:
    choices = po.supplier.situation_choices if po.supplier is not None else []
    data = {
        "order_number": po.supplier_order_number,
        "situation": po.supplier_situation,
        "version": po.version,
    }
    if not choices:
        return ReferenceForm(formdata=formdata, data=data)
    form = ReferenceChoiceForm(formdata=formdata, data=data)
    form.situation.choices = [("", _("No situation")), *((s, s) for s in choices)]
    return form


# --- the list --------------------------------------------------------------------------------


def _date_arg(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400)


def order_rows(
    *,
    q: str = "",
    client_id: uuid.UUID | None = None,
    status: Status | None = None,
    sent_from: date | None = None,
    sent_to: date | None = None,
) -> Select:
    """Return ``(PurchaseOrder, customer_number, requested, id)`` rows of the released
    orders, narrowed by the list's filters; page them by :data:`ORDER_LIST_ORDER`."""
    # What the store asked for: the earliest line date it sent.
    requested = (
        select(func.min(PurchaseOrderLine.ordered_delivery_date))
        .where(
            PurchaseOrderLine.tenant_id == PurchaseOrder.tenant_id,
            PurchaseOrderLine.purchase_order_id == PurchaseOrder.id,
        )
        .correlate(PurchaseOrder)
        .scalar_subquery()
    )
    statement = (
        released_orders()
        .add_columns(
            SupplierClient.customer_number.label("customer_number"),
            requested.label("requested"),
            PurchaseOrder.id,
        )
        .outerjoin(
            SupplierClient,
            and_(
                SupplierClient.tenant_id == PurchaseOrder.tenant_id,
                SupplierClient.supplier_id == PurchaseOrder.supplier_id,
                SupplierClient.client_id == PurchaseOrder.client_id,
            ),
        )
        .options(selectinload(PurchaseOrder.client))
    )
    q = q.strip()[:64]
    if q:
        statement = statement.where(
            contains_any(q, PurchaseOrder.number, PurchaseOrder.supplier_order_number)
        )
    if client_id is not None:
        statement = statement.where(PurchaseOrder.client_id == client_id)
    if status is not None:
        statement = statement.where(PurchaseOrder.status == status)
    if sent_from is not None:
        statement = statement.where(PurchaseOrder.sent_at >= start_of_day(sent_from))
    if sent_to is not None:
        statement = statement.where(
            PurchaseOrder.sent_at < start_of_day(date.fromordinal(sent_to.toordinal() + 1))
        )
    return statement


#: Newest first; ids are time-ordered, and (tenant, supplier, id) is an index.
ORDER_LIST_ORDER = [(PurchaseOrder.id, True)]


@bp.route("/")
@bp.route("/orders")
@supplier_only
def index():
    supplier = current_user.supplier
    status = request.args.get("status", "")
    if status and status not in {s.value for s in responses.RELEASED}:
        abort(400)
    client = request.args.get("client", "")
    try:
        client_id = uuid.UUID(client) if client else None
    except ValueError:
        abort(400)
    filters = {
        "q": request.args.get("q", "").strip()[:64],
        "client": str(client_id) if client_id else "",
        "status": status,
        "sent_from": _date_arg("sent_from"),
        "sent_to": _date_arg("sent_to"),
    }
    statement = order_rows(
        q=filters["q"],
        client_id=client_id,
        status=Status(status) if status else None,
        sent_from=filters["sent_from"],
        sent_to=filters["sent_to"],
    )
    cursor, size = page_args()
    page = keyset_page(statement, ORDER_LIST_ORDER, cursor=cursor, size=size, scalars=False)
    args = {key: str(value) for key, value in filters.items() if value}
    return render_template(
        "supplier_portal/index.html",
        page=page,
        filters=filters,
        args=args,
        stores=[(str(link.client_id), link.client.name) for link in supplier_links(supplier)],
        statuses=[(s.value, status_label(s)) for s in responses.RELEASED],
        waiting_for=WAITING_FOR,
    )


# --- one order -------------------------------------------------------------------------------


def _history(po: PurchaseOrder):
    return [entry for entry in status_history(po) if entry.action in HISTORY_LABELS]


def _render_order(po: PurchaseOrder, **forms):
    """Show the order with its action forms; ``forms`` replaces the blank ones (with the
    errors of a refused action)."""
    allowed = responses.can(po)
    documents = db.session.scalars(
        select(PurchaseOrderDocument)
        .where(PurchaseOrderDocument.purchase_order_id == po.id)
        .options(defer(PurchaseOrderDocument.data))
        .order_by(PurchaseOrderDocument.uploaded_at, PurchaseOrderDocument.id)
    ).all()
    notices = db.session.scalars(
        select(DispatchNotice)
        .where(DispatchNotice.purchase_order_id == po.id)
        .options(selectinload(DispatchNotice.lines))
        .order_by(DispatchNotice.created_at, DispatchNotice.id)
    ).all()
    blank = {
        "acknowledge_form": VersionForm(formdata=None, data={"version": po.version}),
        "reject_form": RejectForm(formdata=None, data={"version": po.version}),
        "reference_form": _reference_form(po),
        "production_form": VersionForm(formdata=None, data={"version": po.version}),
        "document_form": DocumentForm(formdata=None),
    }
    return render_template(
        "supplier_portal/detail.html",
        po=po,
        link=_link_of(po),
        can=allowed,
        waiting_for=WAITING_FOR.get(po.status),
        requested=requested_date(po),
        history=_history(po),
        history_labels=HISTORY_LABELS,
        delivery_method=DELIVERY_METHOD_LABELS.get(po.delivery_method, po.delivery_method),
        documents=documents,
        notices=notices,
        lines_by_id={line.id: line for line in po.lines},
        tracking_url=tracking_url,
        **{**blank, **forms},
    )


@bp.route("/orders/<uuid:purchase_order_id>")
@supplier_only
def order(purchase_order_id: uuid.UUID):
    return _render_order(_load(purchase_order_id))


def _act(purchase_order_id: uuid.UUID, form, action: str, change, done, form_name: str):
    """Run one of the supplier's answers posted from the order's page.

    Success is committed and told on the order's page. When the order has moved on (another
    version, or a state in which the action is gone) the refusal is told on the reloaded
    page, where the current state shows; any other refusal is shown at its field.
    """
    po = _load(purchase_order_id)
    if not form.validate_on_submit():
        return _render_order(po, **{form_name: form})
    outcome = attempt(form, lambda: change(po, _version(form)))
    if outcome.ok:
        message = done(po, outcome.result)
        db.session.commit()
        flash(message, "success")
        return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
    po = _load(purchase_order_id)
    if outcome.stale or not responses.can(po)[action]:
        for message in form.form_errors:
            flash(message, "error")
        return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
    return _render_order(po, **{form_name: form})


@bp.route("/orders/<uuid:purchase_order_id>/acknowledge", methods=["POST"])
@supplier_only
def acknowledge(purchase_order_id: uuid.UUID):
    return _act(
        purchase_order_id,
        VersionForm(),
        "acknowledge",
        lambda po, version: responses.acknowledge(po, version),
        lambda po, _result: _("Purchase order %(number)s is acknowledged.", number=po.number),
        "acknowledge_form",
    )


def _rejected(po: PurchaseOrder, _result) -> str:
    notify_store_of_answer(po)
    return _("Purchase order %(number)s was rejected; the store has been told.", number=po.number)


@bp.route("/orders/<uuid:purchase_order_id>/reject", methods=["POST"])
@supplier_only
def reject(purchase_order_id: uuid.UUID):
    form = RejectForm()
    return _act(
        purchase_order_id,
        form,
        "answer",
        lambda po, version: responses.reject(po, form.reason.data or "", version),
        _rejected,
        "reject_form",
    )


@bp.route("/orders/<uuid:purchase_order_id>/reference", methods=["POST"])
@supplier_only
def reference(purchase_order_id: uuid.UUID):
    form = _reference_form(_load(purchase_order_id), formdata=request.form)
    return _act(
        purchase_order_id,
        form,
        "reference",
        lambda po, version: responses.set_reference(
            po, form.order_number.data or "", form.situation.data or "", version
        ),
        lambda po, _result: _("Your order number and situation were saved."),
        "reference_form",
    )


@bp.route("/orders/<uuid:purchase_order_id>/production", methods=["POST"])
@supplier_only
def production(purchase_order_id: uuid.UUID):
    return _act(
        purchase_order_id,
        VersionForm(),
        "production",
        lambda po, version: responses.start_production(po, version),
        lambda po, _result: _("Purchase order %(number)s is in production.", number=po.number),
        "production_form",
    )


# --- confirm ---------------------------------------------------------------------------------


def _line_answers(po: PurchaseOrder) -> dict[uuid.UUID, responses.LineAnswer]:
    """Read each line's quantity, price and date; what equals the current value is no change.

    A price is read in the user's locale; text that is no amount goes to the domain as it
    is, which refuses it naming the line.
    """
    answers, errors = {}, []
    for row, line in enumerate(po.lines, start=1):
        raw_quantity = request.form.get(f"quantity-{line.id}", "").strip()
        raw_price = request.form.get(f"price-{line.id}", "").strip()
        raw_date = request.form.get(f"date-{line.id}", "").strip()
        quantity = whole_number(raw_quantity) if raw_quantity else None
        price = None
        if raw_price:
            try:
                price = parse_amount(raw_price)
            except DomainError:
                price = raw_price
        delivery_date = None
        if raw_date:
            try:
                delivery_date = date.fromisoformat(raw_date)
            except ValueError:
                errors.append(
                    DomainError(
                        _l(
                            "Line %(row)d (%(code)s): please enter the delivery date as YYYY-MM-DD.",
                            row=row,
                            code=line.product.code,
                        ),
                        row=row,
                    )
                )
        answer = responses.LineAnswer(
            quantity=None if quantity == line.quantity else quantity,
            unit_price=None if price == line.unit_price else price,
            delivery_date=None if delivery_date == line.delivery_date else delivery_date,
        )
        if answer != responses.LineAnswer():
            answers[line.id] = answer
    if errors:
        raise LineErrors(_l("Some lines are not valid."), errors)
    return answers


def _entered(po: PurchaseOrder) -> dict[str, str]:
    names = [f"{kind}-{line.id}" for line in po.lines for kind in ("quantity", "price", "date")]
    return {name: request.form.get(name, "") for name in names}


@bp.route("/orders/<uuid:purchase_order_id>/confirm", methods=["GET", "POST"])
@supplier_only
def confirm(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    if not responses.can(po)["answer"]:
        flash(str(responses.ANSWER_REFUSED), "error")
        return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
    form = ConfirmForm(data={"version": po.version}) if request.method == "GET" else ConfirmForm()
    line_errors: dict[int, list[str]] = {}
    entered: dict[str, str] = {}
    stale = False
    if form.validate_on_submit():
        entered = _entered(po)
        version = _version(form)
        outcome = attempt(
            form, lambda: responses.confirm(po, _line_answers(po), expected_version=version)
        )
        line_errors, stale = outcome.line_errors, outcome.stale
        if outcome.ok:
            notify_store_of_answer(po)
            db.session.commit()
            if outcome.result == Status.CHANGES_PROPOSED:
                message = _(
                    "Your changes to %(number)s were sent to the store for approval.",
                    number=po.number,
                )
            else:
                message = _("Purchase order %(number)s is confirmed.", number=po.number)
            flash(message, "success")
            return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
        po = _load(purchase_order_id)
        if not stale and not responses.can(po)["answer"]:
            for message in form.form_errors:
                flash(message, "error")
            return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
    return render_template(
        "supplier_portal/confirm.html",
        po=po,
        form=form,
        line_errors=line_errors,
        entered=entered,
        stale=stale,
    )


# --- dispatch --------------------------------------------------------------------------------


@bp.route("/orders/<uuid:purchase_order_id>/dispatch", methods=["GET", "POST"])
@supplier_only
def dispatch(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    if not responses.can(po)["dispatch"]:
        flash(str(responses.DISPATCH_REFUSED), "error")
        return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
    form = DispatchForm(data={"version": po.version}) if request.method == "GET" else DispatchForm()
    announced = responses.dispatched_units(po)
    open_units = {line.id: max(line.quantity - announced.get(line.id, 0), 0) for line in po.lines}
    entered = {f"line-{line_id}": str(units) for line_id, units in open_units.items()}
    line_errors: dict[int, list[str]] = {}
    stale = False
    if form.validate_on_submit():
        entered = {name: request.form.get(name, "") for name in entered}
        version = _version(form)
        outcome = attempt(
            form,
            lambda: responses.dispatch(
                po,
                carrier=form.carrier.data or "",
                tracking_code=form.tracking_code.data or "",
                expected_date=form.expected_date.data,
                quantities=line_quantities(po.lines, request.form),
                note=form.note.data or "",
                expected_version=version,
            ),
        )
        line_errors, stale = outcome.line_errors, outcome.stale
        if outcome.ok:
            notify_store_of_dispatch(po, outcome.result)
            db.session.commit()
            flash(
                _("The dispatch notice for %(number)s was sent to the store.", number=po.number),
                "success",
            )
            return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
        po = _load(purchase_order_id)
        if not stale and not responses.can(po)["dispatch"]:
            for message in form.form_errors:
                flash(message, "error")
            return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
    return render_template(
        "supplier_portal/dispatch.html",
        po=po,
        form=form,
        announced=announced,
        open_units=open_units,
        entered=entered,
        line_errors=line_errors,
        stale=stale,
        carriers=[carrier for carrier in CARRIERS if carrier != OTHER],
    )


# --- documents -------------------------------------------------------------------------------


@bp.route("/orders/<uuid:purchase_order_id>/documents", methods=["POST"])
@supplier_only
def upload(purchase_order_id: uuid.UUID):
    po = _load(purchase_order_id)
    form = DocumentForm()
    if not form.validate_on_submit():
        return _render_order(po, document_form=form)
    upload = form.file.data

    def add():
        if not upload or not getattr(upload, "filename", ""):
            raise DomainError(_l("Please choose a file."), "file")
        # One byte more than allowed is enough to tell that a file is too large.
        data = upload.read(responses.MAX_DOCUMENT_BYTES + 1)
        return responses.add_document(po, upload.filename, data, form.description.data or "")

    outcome = attempt(form, add)
    if outcome.ok:
        name = outcome.result.filename
        db.session.commit()
        flash(_("The document %(name)s was added.", name=name), "success")
        return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
    po = _load(purchase_order_id)
    if not responses.can(po)["documents"]:
        for message in form.form_errors:
            flash(message, "error")
        return redirect(url_for("supplier_portal.order", purchase_order_id=po.id))
    return _render_order(po, document_form=form)


@bp.route("/documents/<uuid:document_id>")
@document_readers
def document(document_id: uuid.UUID):
    """Download a document of a purchase order: for its supplier (once released), for the
    store whose order it is, and for the tenant's staff; anybody else is told it is not
    there."""
    statement = select(PurchaseOrderDocument).where(PurchaseOrderDocument.id == document_id)
    if _active_supplier():
        orders = released_orders().with_only_columns(PurchaseOrder.id)
    else:
        orders = visible(select(PurchaseOrder.id), PurchaseOrder)
    found = db.session.scalar(
        statement.where(PurchaseOrderDocument.purchase_order_id.in_(orders.scalar_subquery()))
    )
    if found is None:
        abort(404)
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


# --- stores ----------------------------------------------------------------------------------


@bp.route("/stores")
@supplier_only
def stores():
    return render_template(
        "supplier_portal/stores.html", links=supplier_links(current_user.supplier)
    )


@bp.route("/stores/<uuid:link_id>", methods=["GET", "POST"])
@supplier_only
def store(link_id: uuid.UUID):
    link = db.session.scalar(
        select(SupplierClient)
        .where(
            SupplierClient.id == link_id,
            SupplierClient.supplier_id == current_user.supplier_id,
        )
        .options(selectinload(SupplierClient.client), selectinload(SupplierClient.supplier))
    )
    if link is None:
        abort(404)
    form = RegistrationForm(obj=link) if request.method == "GET" else RegistrationForm()
    if form.validate_on_submit():
        outcome = attempt(
            form,
            lambda: supplier_services.update_registration(
                link,
                {name: getattr(form, name).data for name in supplier_services.REGISTRATION_FIELDS},
            ),
        )
        if outcome.ok:
            db.session.commit()
            if outcome.result:
                flash(_("Your data for %(store)s was saved.", store=link.client.name), "success")
            return redirect(url_for("supplier_portal.stores"))
    return render_template("supplier_portal/store.html", link=link, form=form)


# --- mandatory data --------------------------------------------------------------------------


@bp.route("/mandatory-data", methods=["GET", "POST"])
@supplier_only
def mandatory_data():
    """Show and choose the rule sets that decide which data an order must carry before it
    may be sent to this supplier, with their settings (the required fields)."""
    supplier = current_user.supplier
    wrapper = PluginSettingsForm()
    posted = request.method == "POST"
    choices = plugin_settings.rule_set_forms(supplier, request.form if posted else None)
    if wrapper.validate_on_submit():
        chosen = set(request.form.getlist(plugin_settings.RULE_SETS_FIELD))
        outcome = attempt(
            wrapper, lambda: plugin_settings.save_rule_sets(supplier, choices, chosen)
        )
        if outcome.ok and outcome.result is not None:
            db.session.commit()
            if outcome.result:
                flash(_("Your mandatory data was saved."), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("supplier_portal.mandatory_data"))
        if outcome.ok:
            db.session.rollback()
            wrapper.form_errors.append(_("Please correct the marked fields."))
    return render_template(
        "supplier_portal/mandatory_data.html",
        wrapper=wrapper,
        choices=choices,
        field_name=plugin_settings.RULE_SETS_FIELD,
    )
