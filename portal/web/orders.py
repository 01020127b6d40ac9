"""Orders: list, create line by line, detail, change address, cancel, duplicate; staff actions.

Every change goes through :mod:`portal.core.orders.services`; this module only turns forms
into service calls and refusals into messages on the field or line concerned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.audit.presenting import action_label, field_label
from portal.core.addresses.models import Address
from portal.core.addresses.services import create_address
from portal.core.clients.models import Client
from portal.core.errors import DomainError, LineErrors, StaleVersion, TransitionRefused
from portal.core.orders import services
from portal.core.orders.carriers import CARRIERS, carrier_label, tracking_url
from portal.core.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
)
from portal.core.orders.queries import ORDER_LIST_ORDER, ORDER_STATES, OrderFilter, order_rows
from portal.core.products.models import Product
from portal.core.stock.services import stock_by_product
from portal.core.versioning import check_version
from portal.db import db, like_pattern
from portal.notifications import notify_order_shipped
from portal.web.access import client_or_staff, get_visible_or_404, is_staff, staff_only, visible
from portal.web.addresses import FIELD_LABELS, AddressFieldsForm, address_book, country_name
from portal.web.fields import TextLength
from portal.web.helpers import form_errors_to_fields
from portal.web.lines import (
    EMPTY_ROWS,
    CodeLineForm,
    entry_errors,
    line_errors_by_row,
    order_lines_from_rows,
    pad_rows,
    row_products,
)
from portal.web.navigation import CLIENT_AND_STAFF, NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

bp = Blueprint("orders", __name__, url_prefix="/orders")

add_nav_item(NavItem("orders.index", _l("Orders"), CLIENT_AND_STAFF, 20, section="orders."))

STATUS_LABELS = {
    OrderStatus.DRAFT: _l("Draft"),
    OrderStatus.PROCESSING: _l("Processing"),
    OrderStatus.BACKORDER: _l("Backorder"),
    OrderStatus.PICKING: _l("Picking"),
    OrderStatus.PARTIALLY_SHIPPED: _l("Partially shipped"),
    OrderStatus.SHIPPED: _l("Shipped"),
    OrderStatus.COMPLETED: _l("Completed"),
    OrderStatus.CANCELLED: _l("Cancelled"),
}

HISTORY_LABELS = {
    "order.created": _l("Order created"),
    "order.lines_changed": _l("Lines changed"),
    "order.submitted": _l("Submitted"),
    "order.allocated": _l("All products allocated from stock"),
    "order.backordered": _l("Waiting for stock (backorder)"),
    "order.allocated_again": _l("Stock allocated again"),
    "order.address_changed": _l("Delivery address changed"),
    "order.cancelled": _l("Cancelled"),
    "order.picking": _l("Picking started"),
    "order.shipped": _l("Shipped"),
    "order.completed": _l("Completed"),
}

MORE_LINES = 5
PICKER_RESULTS = 20


@bp.app_template_filter("order_status")
def order_status_label(status) -> str:
    """Return the translated name of an order status (for every page that shows one)."""
    try:
        return str(STATUS_LABELS[OrderStatus(getattr(status, "value", status))])
    except (ValueError, KeyError):
        return str(status)


@bp.app_template_global("tracking_url")
def tracking_link(shipment) -> str | None:
    """Return the carrier's tracking page for a shipment, if the carrier is known."""
    return tracking_url(shipment.carrier, shipment.tracking_code)


@bp.app_template_filter("carrier")
def carrier_name(carrier: str) -> str:
    return str(carrier_label(carrier))


# --- forms -----------------------------------------------------------------------------------


class LinesForm(FlaskForm):
    lines = FieldList(FormField(CodeLineForm), min_entries=1)


class OrderForm(SubmissionTokenMixin, AddressFieldsForm):
    client = SelectField(_l("Client"), choices=[], validate_choice=False)
    reference = StringField(
        _l("Your reference"),
        validators=[Optional(), TextLength(maximum=100)],
        description=_l("Your own order number or a note to recognise the order by."),
    )
    notes = TextAreaField(
        _l("Notes for the warehouse"), validators=[Optional(), TextLength(maximum=2000)]
    )
    address_choice = SelectField(
        _l("Choose from the address book"),
        choices=[],
        validate_choice=False,
        description=_l(
            "Choosing an address fills in the fields below. Leave the fields empty to use "
            "the chosen address as it is."
        ),
    )
    save_address = BooleanField(_l("Save this address to my address book"))
    lines = FieldList(FormField(CodeLineForm), min_entries=1)


class VersionForm(SubmissionTokenMixin, FlaskForm):
    """An action button: the CSRF token, the version of the order the person saw, and the
    token that makes a repeated "Duplicate" or "Ship" harmless."""

    version = IntegerField(widget=HiddenField.widget, validators=[InputRequired()])


class ChangeAddressForm(AddressFieldsForm):
    version = IntegerField(widget=HiddenField.widget, validators=[InputRequired()])
    address_choice = OrderForm.address_choice


class EditLinesForm(LinesForm):
    version = IntegerField(widget=HiddenField.widget, validators=[InputRequired()])


class ShipForm(VersionForm):
    carrier = SelectField(_l("Carrier"), choices=[], validate_choice=True)
    tracking_code = StringField(_l("Tracking code"), validators=[Optional(), Length(max=100)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.carrier.choices = [("", _("Choose a carrier"))] + [
            (name, carrier_name(name)) for name in CARRIERS
        ]


# --- the list --------------------------------------------------------------------------------


def export_links(kind: str, **filters) -> list[tuple[str, str]]:
    """Return (format, URL) for the exports of ``kind`` that exist, with the list's filters.

    The exports live in another blueprint; they are found by path, so the list shows the
    links exactly when the exports are there.
    """
    links = []
    wanted = {f"/exports/{kind}.{fmt}": fmt for fmt in ("csv", "xlsx")}
    for rule in current_app.url_map.iter_rules():
        fmt = wanted.get(rule.rule)
        if fmt:
            args = {key: value for key, value in filters.items() if value}
            links.append((fmt.upper(), url_for(rule.endpoint, **args)))
    return sorted(links)


def client_choices() -> list[Client]:
    return db.session.scalars(select(Client).order_by(Client.name, Client.id)).all()


@bp.route("/")
@client_or_staff
def index():
    staff = is_staff()
    status = request.args.get("status", "")
    state = request.args.get("state", "")
    filters = OrderFilter(
        q=request.args.get("q", "").strip(),
        status=OrderStatus(status) if status in OrderStatus._value2member_map_ else None,
        state=state if state in ORDER_STATES else "",
        client_id=request.args.get("client", type=uuid.UUID) if staff else None,
    )
    # The same statement as the export's (portal.core.orders.queries), narrowed to the user.
    statement = visible(order_rows(filters), Order)
    if staff:
        statement = statement.options(selectinload(Order.client))
    cursor, size = page_args()
    page = keyset_page(statement, ORDER_LIST_ORDER, cursor=cursor, size=size, scalars=False)
    args = {
        "q": filters.q,
        "status": filters.status.value if filters.status else "",
        "state": filters.state,
        "client": filters.client_id,
    }
    return render_template(
        "orders/list.html",
        page=page,
        filters=args,
        statuses=STATUS_LABELS,
        clients=client_choices() if staff else [],
        staff=staff,
        exports=export_links("orders", **args),
    )


# --- the product picker ----------------------------------------------------------------------


@bp.route("/products.json")
@client_or_staff
def products_json():
    """Return the client's products matching ``q`` (code, name, barcode) with free stock."""
    search = request.args.get("q", "").strip()[:64]
    staff = is_staff()
    client_id = request.args.get("client", type=uuid.UUID) if staff else current_user.client_id
    if not search or client_id is None:
        return jsonify(products=[])
    products = db.session.scalars(
        select(Product)
        .where(
            Product.client_id == client_id,
            or_(
                Product.code.ilike(like_pattern(search, prefix=True), escape="\\"),
                Product.name.ilike(like_pattern(search), escape="\\"),
                Product.barcode == search,
            ),
        )
        .order_by(Product.code, Product.id)
        .limit(PICKER_RESULTS)
    ).all()
    levels = stock_by_product([p.id for p in products])
    return jsonify(
        products=[
            {
                "code": product.code,
                "name": product.name,
                "available": _available(levels.get(product.id)),
            }
            for product in products
        ]
    )


def _available(level: tuple[int, int] | None) -> int:
    on_hand, allocated = level or (0, 0)
    return max(on_hand - allocated, 0)


# --- creating and editing lines --------------------------------------------------------------


def _add_blank_lines(form, count: int = MORE_LINES) -> None:
    for _number in range(count):
        form.lines.append_entry()


def _lines_from(form, client_id: uuid.UUID, line_errors: dict[int, list[str]]):
    """Return the typed lines, or None with every bad row in ``line_errors``."""
    own = entry_errors(form.lines)
    if own:
        line_errors.update(own)
        form.form_errors.append(_("Some lines are not valid."))
        return None
    try:
        return order_lines_from_rows(client_id, form.lines.entries)
    except LineErrors as refused:
        line_errors.update(line_errors_by_row(refused))
        form.form_errors.append(str(refused.message))
    except DomainError as refused:
        form.form_errors.append(str(refused.message))
    return None


def _client_addresses(client_id: uuid.UUID | None) -> list[Address]:
    if is_staff() or client_id is None:
        return []
    return address_book(client_id)


def _address_choices(addresses: list[Address]) -> list[tuple[str, str]]:
    choices = [("", _("Type a new address"))]
    for address in addresses:
        parts = [address.label, address.name, address.street, address.city]
        choices.append((str(address.id), ", ".join(part for part in parts if part)))
    return choices


def _chosen_address(form, client_id: uuid.UUID) -> Address | None:
    """Return the address book entry chosen on the form, or None; a bad choice is an error."""
    raw = form.address_choice.data if "address_choice" in form else None
    if not raw:
        return None
    try:
        address_id = uuid.UUID(raw)
    except ValueError:
        address_id = None
    address = (
        db.session.scalar(
            select(Address).where(Address.id == address_id, Address.client_id == client_id)
        )
        if address_id
        else None
    )
    if address is None:
        form.address_choice.errors = [_("Please choose an address from the list.")]
    return address


def _address_from(form, client_id: uuid.UUID) -> tuple[dict | None, bool]:
    """Return the address the form asks for and whether it was typed (not from the book).

    The typed fields win; with empty fields a chosen address book entry is used (that is
    how the choice works without JavaScript).
    """
    chosen = _chosen_address(form, client_id)
    if "address_choice" in form and form.address_choice.errors:
        return None, False
    if chosen is not None and form.address_is_empty():
        return chosen.address_values(), False
    if not form.check_address():
        return None, True
    return form.address_values(), True


@bp.route("/new", methods=["GET", "POST"])
@client_or_staff
@once_per_submission
def new():
    staff = is_staff()
    form = OrderForm()
    clients = client_choices() if staff else []
    if staff:
        form.client.choices = [("", _("Choose a client"))] + [(str(c.id), c.name) for c in clients]
        del form.address_choice
        del form.save_address
        client = None
        addresses = []
    else:
        del form.client
        client = current_user.client
        addresses = _client_addresses(client.id)
        if addresses:
            form.address_choice.choices = _address_choices(addresses)
        else:
            del form.address_choice
    line_errors: dict[int, list[str]] = {}
    action = request.form.get("action")
    if form.is_submitted() and action == "more_lines":
        _add_blank_lines(form)
    elif form.is_submitted():
        valid = form.validate()
        if staff:
            client = _chosen_client(form, clients)
            valid = valid and client is not None
        address, typed = _address_from(form, client.id) if client else (None, False)
        lines = _lines_from(form, client.id, line_errors) if client else None
        if valid and address is not None and lines is not None:
            order = _create(
                form, client, lines, address, typed, line_errors, submit=action == "submit"
            )
            if order is not None:
                return redirect(url_for("orders.detail", order_id=order.id))
    # Shown again with its errors, the form keeps its rows as sent (no row added) and names
    # the products already typed, as the picker did before the submit.
    pad_rows(form.lines, empty=0 if form.is_submitted() and action != "more_lines" else EMPTY_ROWS)
    return render_template(
        "orders/new.html",
        form=form,
        line_errors=line_errors,
        products=row_products(client.id if client else None, form.lines.entries),
        addresses=addresses,
        staff=staff,
    )


def _chosen_client(form, clients: list[Client]) -> Client | None:
    wanted = form.client.data or ""
    for client in clients:
        if str(client.id) == wanted:
            return client
    form.client.errors = [_("Please choose the client the order is for.")]
    return None


def _create(
    form, client, lines, address, typed: bool, line_errors: dict, *, submit: bool
) -> Order | None:
    try:
        order = services.create_order(
            client,
            lines,
            address,
            reference=form.reference.data or "",
            notes=form.notes.data or "",
            submit=submit,
        )
        if typed and "save_address" in form and form.save_address.data:
            create_address(client.id, address)
    except LineErrors as refused:
        db.session.rollback()
        line_errors.update(line_errors_by_row(refused))
        form.form_errors.append(str(refused.message))
        return None
    except DomainError as error:
        db.session.rollback()
        form_errors_to_fields(form, error)
        return None
    record_outcome(url_for("orders.detail", order_id=order.id))
    db.session.commit()
    if submit:
        _flash_submitted(order)
    else:
        flash(_("Order %(number)s was saved as a draft.", number=order.number), "success")
    return order


def _flash_submitted(order: Order) -> None:
    if order.status == OrderStatus.BACKORDER:
        flash(
            _(
                "Order %(number)s was submitted. Some products are not in stock yet; they "
                "are sent as soon as they arrive.",
                number=order.number,
            ),
            "success",
        )
    else:
        flash(_("Order %(number)s was submitted.", number=order.number), "success")


@bp.route("/<uuid:order_id>/lines", methods=["GET", "POST"])
@client_or_staff
def edit_lines(order_id: uuid.UUID):
    order = _order_or_404(order_id)
    allowed = order.status in services.ALLOWED_FROM["edit_lines"]
    form = EditLinesForm()
    line_errors: dict[int, list[str]] = {}
    if request.method == "GET":
        form.version.data = order.version
        while form.lines.entries:
            form.lines.pop_entry()
        for line in order.lines:
            form.lines.append_entry({"code": line.product.code, "quantity": str(line.quantity)})
    elif request.form.get("action") == "more_lines":
        _add_blank_lines(form)
    elif allowed and form.validate():
        lines = _lines_from(form, order.client_id, line_errors)
        if lines is not None:
            try:
                services.replace_lines(order, lines, form.version.data)
            except LineErrors as refused:
                db.session.rollback()
                line_errors.update(line_errors_by_row(refused))
                form.form_errors.append(str(refused.message))
            except DomainError as refused:
                db.session.rollback()
                order = _order_or_404(order_id)
                allowed = order.status in services.ALLOWED_FROM["edit_lines"]
                form.form_errors.append(str(refused.message))
            else:
                db.session.commit()
                flash(
                    _("The lines of order %(number)s were saved.", number=order.number), "success"
                )
                return redirect(url_for("orders.detail", order_id=order.id))
    sent_again = request.method == "POST" and request.form.get("action") != "more_lines"
    pad_rows(form.lines, empty=0 if sent_again else EMPTY_ROWS)
    return render_template(
        "orders/edit_lines.html",
        order=order,
        form=form,
        allowed=allowed,
        refusal=services.REFUSALS["edit_lines"],
        line_errors=line_errors,
        products=row_products(order.client_id, form.lines.entries),
    )


# --- one order -------------------------------------------------------------------------------


def _order_or_404(order_id: uuid.UUID) -> Order:
    return get_visible_or_404(
        Order,
        order_id,
        selectinload(Order.lines).selectinload(OrderLine.product),
        selectinload(Order.client),
    )


@dataclass
class HistoryRow:
    """One entry of an order's history, ready to show."""

    when: datetime
    who: str
    what: str
    notes: list[str] = field(default_factory=list)


def order_history(order: Order) -> list[HistoryRow]:
    """Return the order's audit entries, oldest first, with translated descriptions."""
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "Order", AuditEntry.object_id == str(order.id))
        .order_by(AuditEntry.created_at, AuditEntry.id)
    ).all()
    actor_ids = {entry.actor_id for entry in entries if entry.actor_id}
    actors = (
        {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    return [
        HistoryRow(
            entry.created_at,
            _actor_name(actors.get(entry.actor_id)),
            str(HISTORY_LABELS.get(entry.action) or action_label(entry.action)),
            _history_notes(entry),
        )
        for entry in entries
    ]


def _actor_name(user: User | None) -> str:
    """Name who acted; client users see the tenant's name for its staff."""
    if user is None:
        return _("System")
    if is_staff() or user.client_id == current_user.client_id:
        return user.display_name
    return g.tenant.name


def _history_notes(entry: AuditEntry) -> list[str]:
    notes = []
    for key, (old, new) in (entry.changes or {}).items():
        if key == "status":
            notes.append(
                _(
                    "Status: %(old)s → %(new)s",
                    old=order_status_label(old),
                    new=order_status_label(new),
                )
            )
        else:
            if key == "country":
                old, new = country_name(old or ""), country_name(new or "")
            label = FIELD_LABELS.get(key) or field_label(key)
            notes.append(
                _("%(field)s: %(old)s → %(new)s", field=label, old=old or "—", new=new or "—")
            )
    details = entry.details or {}
    if entry.action == "order.shipped" and details.get("shipment"):
        notes.append(
            _(
                "Shipment %(number)s with %(carrier)s",
                number=details["shipment"],
                carrier=carrier_name(str(details.get("carrier", ""))),
            )
        )
    if details.get("copied_from"):
        notes.append(_("Copied from order %(number)s", number=details["copied_from"]))
    if entry.action == "order.allocated_again":
        for code, quantity in details.items():
            notes.append(_("%(code)s: %(quantity)s more allocated", code=code, quantity=quantity))
    return notes


def _render_detail(order: Order, ship_form: ShipForm | None = None):
    shipments = db.session.scalars(
        select(Shipment)
        .where(Shipment.order_id == order.id)
        .order_by(Shipment.shipped_at, Shipment.id)
        .options(selectinload(Shipment.lines).selectinload(ShipmentLine.product))
    ).all()
    action_form = VersionForm(formdata=None, version=order.version)
    if ship_form is None:
        ship_form = ShipForm(formdata=None, version=order.version)
    return render_template(
        "orders/detail.html",
        order=order,
        shipments=shipments,
        history=order_history(order),
        can=_allowed_actions(order),
        action_form=action_form,
        ship_form=ship_form,
        staff=is_staff(),
    )


def _allowed_actions(order: Order) -> dict[str, bool]:
    can = {action: order.status in allowed for action, allowed in services.ALLOWED_FROM.items()}
    staff = is_staff()
    for action in ("pick", "ship", "complete", "allocate"):
        can[action] = can[action] and staff
    can["pick"] = can["pick"] and any(line.allocated > 0 for line in order.lines)
    can["allocate"] = can["allocate"] and any(line.missing > 0 for line in order.lines)
    can["picklist"] = staff and any(line.allocated > 0 for line in order.lines)
    return can


@bp.route("/<uuid:order_id>")
@client_or_staff
def detail(order_id: uuid.UUID):
    return _render_detail(_order_or_404(order_id))


@bp.route("/<uuid:order_id>/address", methods=["GET", "POST"])
@client_or_staff
def change_address(order_id: uuid.UUID):
    order = _order_or_404(order_id)
    allowed = order.status in services.ALLOWED_FROM["change_address"]
    form = ChangeAddressForm()
    addresses = _client_addresses(order.client_id)
    if "address_choice" in form:
        if addresses:
            form.address_choice.choices = _address_choices(addresses)
        else:
            del form.address_choice
    stale = False
    if request.method == "GET":
        form.fill_address(order)
        form.version.data = order.version
    elif allowed and form.validate():
        address, _typed = _address_from(form, order.client_id)
        if address is not None:
            try:
                changes = services.change_address(order, address, form.version.data)
            except DomainError as error:
                db.session.rollback()
                stale = isinstance(error, StaleVersion)
                if isinstance(error, StaleVersion | TransitionRefused):
                    form.form_errors.append(str(error.message))
                    order = _order_or_404(order_id)
                    allowed = order.status in services.ALLOWED_FROM["change_address"]
                else:
                    form_errors_to_fields(form, error)
            else:
                db.session.commit()
                if changes:
                    flash(_("The delivery address was changed."), "success")
                else:
                    flash(_("The delivery address was already like this."), "success")
                return redirect(url_for("orders.detail", order_id=order.id))
    return render_template(
        "orders/address.html",
        order=order,
        form=form,
        allowed=allowed,
        stale=stale,
        addresses=addresses,
        refusal=services.REFUSALS["change_address"],
    )


def _action(order_id: uuid.UUID, run, success) -> object:
    """Run a button's action with the version the person saw; refusals become messages."""
    order = _order_or_404(order_id)
    form = VersionForm()
    if not form.validate():
        flash(_("The form was incomplete. Please try again."), "error")
        return redirect(url_for("orders.detail", order_id=order.id))
    try:
        result = run(order, form.version.data)
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("orders.detail", order_id=order_id))
    db.session.commit()
    return success(order, result)


@bp.route("/<uuid:order_id>/cancel", methods=["GET", "POST"])
@client_or_staff
def cancel(order_id: uuid.UUID):
    if request.method == "POST":

        def done(order, _result):
            flash(_("Order %(number)s was cancelled.", number=order.number), "success")
            return redirect(url_for("orders.detail", order_id=order.id))

        return _action(order_id, services.cancel_order, done)
    order = _order_or_404(order_id)
    return render_template(
        "orders/cancel.html",
        order=order,
        allowed=order.status in services.ALLOWED_FROM["cancel"],
        refusal=services.REFUSALS["cancel"],
        form=VersionForm(formdata=None, version=order.version),
    )


@bp.route("/<uuid:order_id>/submit", methods=["POST"])
@client_or_staff
def submit(order_id: uuid.UUID):
    def done(order, _result):
        _flash_submitted(order)
        return redirect(url_for("orders.detail", order_id=order.id))

    return _action(order_id, services.submit_order, done)


@bp.route("/<uuid:order_id>/duplicate", methods=["POST"])
@client_or_staff
@once_per_submission
def duplicate(order_id: uuid.UUID):
    def done(order, copy):
        flash(
            _(
                "Order %(number)s was copied into the new draft %(copy)s. Check it and submit it.",
                number=order.number,
                copy=copy.number,
            ),
            "success",
        )
        return redirect(url_for("orders.detail", order_id=copy.id))

    def run(order, _version):
        copy = services.duplicate_order(order)
        record_outcome(url_for("orders.detail", order_id=copy.id))
        return copy

    return _action(order_id, run, done)


# --- staff -----------------------------------------------------------------------------------


@bp.route("/<uuid:order_id>/allocate", methods=["POST"])
@staff_only
def allocate(order_id: uuid.UUID):
    def done(order, promised):
        if promised:
            flash(
                ngettext(
                    "%(num)d more unit of order %(number)s was allocated from stock.",
                    "%(num)d more units of order %(number)s were allocated from stock.",
                    promised,
                    number=order.number,
                ),
                "success",
            )
        else:
            flash(_("No stock is free for the missing products yet."), "error")
        return redirect(url_for("orders.detail", order_id=order.id))

    return _action(order_id, services.allocate_again, done)


@bp.route("/<uuid:order_id>/pick", methods=["POST"])
@staff_only
def pick(order_id: uuid.UUID):
    def done(order, _result):
        flash(
            _("Picking of order %(number)s started; print the picklist.", number=order.number),
            "success",
        )
        return redirect(url_for("orders.picklist", order_id=order.id))

    return _action(order_id, services.pick_order, done)


@bp.route("/<uuid:order_id>/ship", methods=["POST"])
@staff_only
@once_per_submission
def ship(order_id: uuid.UUID):
    order = _order_or_404(order_id)
    form = ShipForm()
    if not form.validate():
        return _render_detail(order, form)
    try:
        shipment = services.ship_order(
            order, form.carrier.data, form.tracking_code.data or "", form.version.data
        )
    except DomainError as error:
        db.session.rollback()
        if error.field and error.field in form:
            form_errors_to_fields(form, error)
            return _render_detail(_order_or_404(order_id), form)
        flash(str(error.message), "error")
        return redirect(url_for("orders.detail", order_id=order_id))
    notify_order_shipped(order, shipment)
    record_outcome(url_for("orders.detail", order_id=order.id))
    db.session.commit()
    flash(
        _(
            "Order %(number)s was shipped with shipment %(shipment)s.",
            number=order.number,
            shipment=shipment.number,
        ),
        "success",
    )
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.route("/<uuid:order_id>/complete", methods=["POST"])
@staff_only
def complete(order_id: uuid.UUID):
    def done(order, _result):
        flash(_("Order %(number)s is completed.", number=order.number), "success")
        return redirect(url_for("orders.detail", order_id=order.id))

    def run(order, version):
        check_version(order, version)
        services.complete_order(order)

    return _action(order_id, run, done)


@bp.route("/<uuid:order_id>/picklist")
@staff_only
def picklist(order_id: uuid.UUID):
    order = _order_or_404(order_id)
    lines = sorted(
        (line for line in order.lines if line.allocated > 0),
        key=lambda line: (line.product.code, str(line.product_id)),
    )
    return render_template("orders/picklist.html", order=order, lines=lines)
