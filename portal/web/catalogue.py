"""Supplier catalogues: the suppliers' product lists, matching their items to a client's
products, products made or updated from items, ordering by the container, and (staff) the
import of a supplier's list from Excel or CSV.

Staff see every supplier's catalogue and act for a client they choose among the supplier's
customers; client users see the catalogues of the active suppliers their company is linked
to, and act for their own company. Another client's or supplier's ids are not found (404).
"""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import Length, Optional

from portal.core.clients.models import Client
from portal.core.orders.importing import MAX_FILE_BYTES, ImportRefused, cell_text
from portal.core.products.models import Product
from portal.core.products.services import products_by_code
from portal.core.purchasing.ordering import MAX_CONTAINERS, add_to_cart
from portal.core.suppliers import catalogue
from portal.core.suppliers.models import CartLine, CatalogueItem, Supplier
from portal.db import db
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import create_job, run_job, schedule
from portal.web.access import can_manage_products, client_or_staff, is_staff, staff_only
from portal.web.helpers import safe_next
from portal.web.navigation import CLIENT_AND_STAFF, NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.refusals import attempt

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")
add_nav_item(
    NavItem("catalogue.index", _l("Catalogues"), CLIENT_AND_STAFF, 52, section="catalogue.")
)

#: Files with more item rows than this are imported in the background, with progress.
BACKGROUND_ROWS = 2_000
PREVIEW_ROWS = 10
PREVIEW_CELL = 200  # characters of a cell shown in the preview
MAX_SEARCH = 100
MATCHED_FILTERS = {"yes": True, "no": False}
COLUMN_LABELS = {
    "code": _l("Supplier code"),
    "name": _l("Name"),
    "barcode": _l("Barcode"),
    "price": _l("Price"),
    "container_amount": _l("Container amount"),
}


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


# --- forms -----------------------------------------------------------------------------------


class ActingForm(FlaskForm):
    """A change made for a client: staff name the client, client users act for their own."""

    client = HiddenField()
    next = HiddenField()


class MatchForm(ActingForm):
    product = SelectField(_l("Suggested products"), choices=[], validate_choice=False)
    code = StringField(
        _l("Or the code of one of the client's products"),
        validators=[Optional(), Length(max=64)],
    )


class CreateProductForm(ActingForm):
    code = StringField(
        _l("Code of the new product"),
        validators=[Length(max=64)],
        description=_l("Letters, digits and . _ / -. The code cannot be changed later."),
    )


class UpdateProductForm(ActingForm):
    # Labels of the rows of the differences table; checked: copy this value.
    barcode = BooleanField(_l("Barcode"), default=True)
    price = BooleanField(_l("Price"), default=True)
    version = HiddenField()


class CartForm(ActingForm):
    containers = IntegerField(_l("Containers"), default=1)


class UploadForm(FlaskForm):
    file = FileField(
        _l("Catalogue file (.xlsx or .csv)"),
        validators=[FileRequired(_l("Please choose a file."))],
        description=_l(
            'A header row with the columns "supplier code" and "name", optionally "barcode", '
            '"price" and "container amount", in any order, named in English or German. '
            "CSV files: UTF-8, separated by commas or semicolons."
        ),
        render_kw={
            "accept": ".xlsx,.csv,text/csv,"
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )


class ConfirmForm(FlaskForm):
    """The button that starts an import after its preview."""


# --- who may see what ------------------------------------------------------------------------


def _own_client_id() -> uuid.UUID | None:
    return None if is_staff() else current_user.client_id


def _supplier_or_404(supplier_id: uuid.UUID) -> Supplier:
    statement = catalogue.customer_of(
        select(Supplier).where(Supplier.id == supplier_id), _own_client_id()
    )
    supplier = db.session.scalar(statement)
    if supplier is None:
        abort(404)
    return supplier


def _item_or_404(item_id: uuid.UUID) -> tuple[CatalogueItem, Supplier]:
    item = db.session.scalar(select(CatalogueItem).where(CatalogueItem.id == item_id))
    if item is None:
        abort(404)
    return item, _supplier_or_404(item.supplier_id)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


def _acting_client(supplier: Supplier, chosen: str | None) -> tuple[Client | None, list[Client]]:
    """Return the client the user acts for and (staff) the supplier's customers to choose
    from. Staff choose with ``chosen`` (an id); one that is no customer counts as none."""
    if not is_staff():
        return current_user.client, []
    clients = catalogue.linked_clients(supplier.id)
    wanted = _uuid(chosen)
    return next((client for client in clients if client.id == wanted), None), clients


def _client_args(client: Client | None) -> dict[str, str]:
    return {"client": str(client.id)} if client is not None and is_staff() else {}


def _cart_url(client: Client | None) -> str | None:
    if client is None or "ordering.cart" not in current_app.view_functions:
        return None
    return url_for("ordering.cart", **({"client_id": client.id} if is_staff() else {}))


# --- suppliers and their items ---------------------------------------------------------------


@bp.route("/")
@client_or_staff
def index():
    staff = is_staff()
    return render_template(
        "catalogue/index.html",
        suppliers=catalogue.catalogue_suppliers(_own_client_id()),
        staff=staff,
        cart_url=None if staff else _cart_url(current_user.client),
    )


@bp.route("/<uuid:supplier_id>")
@client_or_staff
def items(supplier_id: uuid.UUID):
    supplier = _supplier_or_404(supplier_id)
    client, clients = _acting_client(supplier, request.args.get("client"))
    q = request.args.get("q", "").strip()[:MAX_SEARCH]
    matched = request.args.get("matched", "")
    statement = catalogue.item_rows(
        supplier.id,
        client_id=client.id if client else None,
        q=q,
        matched=MATCHED_FILTERS.get(matched),
    )
    after, size = page_args()
    page = keyset_page(statement, catalogue.ITEM_ORDER, cursor=after, size=size, scalars=False)
    args = {
        **_client_args(client),
        **({"q": q} if q else {}),
        **({"matched": matched} if matched in MATCHED_FILTERS else {}),
    }
    return render_template(
        "catalogue/items.html",
        supplier=supplier,
        page=page,
        after=after,
        args=args,
        q=q,
        matched=matched if matched in MATCHED_FILTERS else "",
        client=client,
        clients=clients,
        staff=is_staff(),
        can_manage=can_manage_products(),
        cart_url=_cart_url(client),
        differs=_differs,
        units_text=units_text,
        max_containers=MAX_CONTAINERS,
    )


def _differs(item: CatalogueItem, product: Product | None) -> bool:
    """Tell whether the product lacks the item's barcode or price (for a hint)."""
    return product is not None and bool(catalogue.differences(item, product))


@bp.route("/items/<uuid:catalogue_item_id>")
@client_or_staff
def detail(catalogue_item_id: uuid.UUID):
    item, supplier = _item_or_404(catalogue_item_id)
    client, clients = _acting_client(supplier, request.args.get("client"))
    return _render_item(item, supplier, client, clients)


def _render_item(item, supplier, client, clients):
    found = suggestions = differences = containers = None
    acting = {"client": str(client.id) if client is not None else ""}
    match_form = MatchForm(data=acting)
    create_form = CreateProductForm(data={**acting, "code": item.supplier_code})
    update_form = None
    if client is not None:
        found = catalogue.match_for(item, client.id)
        suggestions = catalogue.suggest_matches(item, client)
        match_form.product.choices = [
            (str(product.id), f"{product.code} · {product.name}") for product in suggestions
        ]
        if found is not None:
            differences = catalogue.differences(item, found.product)
            update_form = UpdateProductForm(data={**acting, "version": found.product.version})
        containers = db.session.scalar(
            select(CartLine.containers).where(
                CartLine.client_id == client.id, CartLine.catalogue_item_id == item.id
            )
        )
    return render_template(
        "catalogue/item.html",
        item=item,
        supplier=supplier,
        client=client,
        clients=clients,
        staff=is_staff(),
        can_manage=can_manage_products(),
        match=found,
        suggestions=suggestions or [],
        differences=differences or {},
        in_cart=containers,
        match_form=match_form,
        unmatch_form=ActingForm(data=acting),
        create_form=create_form,
        update_form=update_form,
        cart_url=_cart_url(client),
        units_text=units_text,
        max_containers=MAX_CONTAINERS,
    )


def units_text(containers: int, amount: int) -> str:
    """Return "containers times container amount = units" in the locale's numbers."""
    return _(
        "%(containers)s × %(amount)s = %(units)s",  # noqa: RUF001 - the cart's own message
        containers=format_decimal(containers),
        amount=format_decimal(amount),
        units=format_decimal(containers * amount),
    )


# --- changes made for a client ---------------------------------------------------------------


def _posted(form_class, catalogue_item_id: uuid.UUID):
    """Load the item (404 unless visible), the client acted for, and the posted form."""
    item, supplier = _item_or_404(catalogue_item_id)
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    client, _clients = _acting_client(supplier, form.client.data)
    return item, client, form


def _back(item: CatalogueItem, client: Client | None, form: ActingForm):
    """Return to the page the form was on (``next``), else to the item's page."""
    if form.next.data:
        return redirect(safe_next("catalogue.index"))
    return redirect(url_for("catalogue.detail", catalogue_item_id=item.id, **_client_args(client)))


def _apply(form: ActingForm, change, success) -> None:
    """Run a domain change; commit and flash ``success(result)``, or flash the refusal."""
    outcome = attempt(form, change)
    if outcome.ok:
        db.session.commit()
        flash(success(outcome.result), "success")
        return
    for message in [*form.form_errors, *(error for field in form for error in field.errors)]:
        flash(message, "error")


def _choose_client_first(item, form):
    flash(_("Please choose the client you act for first."), "error")
    return _back(item, None, form)


@bp.route("/items/<uuid:catalogue_item_id>/match", methods=["POST"])
@client_or_staff
def match(catalogue_item_id: uuid.UUID):
    item, client, form = _posted(MatchForm, catalogue_item_id)
    if client is None:
        return _choose_client_first(item, form)
    code = (form.code.data or "").strip()
    if code:
        product = products_by_code(client.id, [code]).get(code)
        if product is None:
            flash(
                _(
                    "%(client)s has no product with the code %(code)s.",
                    client=client.name,
                    code=code,
                ),
                "error",
            )
            return _back(item, client, form)
    else:
        # Only the client's own products can be chosen; any other id is not found.
        product = db.session.scalar(
            select(Product).where(
                Product.id == _uuid(form.product.data), Product.client_id == client.id
            )
        )
        if product is None:
            flash(_("Please choose a product or enter a product code."), "error")
            return _back(item, client, form)
    _apply(
        form,
        lambda: catalogue.match_item(item, product, client),
        lambda _match: _(
            "%(item)s is now matched to the product %(code)s.",
            item=item.supplier_code,
            code=product.code,
        ),
    )
    return _back(item, client, form)


@bp.route("/items/<uuid:catalogue_item_id>/unmatch", methods=["POST"])
@client_or_staff
def unmatch(catalogue_item_id: uuid.UUID):
    item, client, form = _posted(ActingForm, catalogue_item_id)
    if client is None:
        return _choose_client_first(item, form)
    _apply(
        form,
        lambda: catalogue.unmatch(item, client),
        lambda _found: _("%(item)s is no longer matched to a product.", item=item.supplier_code),
    )
    return _back(item, client, form)


@bp.route("/items/<uuid:catalogue_item_id>/create-product", methods=["POST"])
@client_or_staff
def create_product(catalogue_item_id: uuid.UUID):
    item, client, form = _posted(CreateProductForm, catalogue_item_id)
    if not can_manage_products():
        abort(403)
    if client is None:
        return _choose_client_first(item, form)
    code = (form.code.data or "").strip() or item.supplier_code
    _apply(
        form,
        lambda: catalogue.create_product_from_item(item, client, code),
        lambda product: _(
            "The product %(code)s was added and matched to %(item)s.",
            code=product.code,
            item=item.supplier_code,
        ),
    )
    return _back(item, client, form)


@bp.route("/items/<uuid:catalogue_item_id>/update-product", methods=["POST"])
@client_or_staff
def update_product(catalogue_item_id: uuid.UUID):
    item, client, form = _posted(UpdateProductForm, catalogue_item_id)
    if not can_manage_products():
        abort(403)
    if client is None:
        return _choose_client_first(item, form)
    found = catalogue.match_for(item, client.id)
    if found is None:
        flash(_("%(item)s is not matched to a product.", item=item.supplier_code), "error")
        return _back(item, client, form)
    fields = [name for name in catalogue.UPDATABLE_FIELDS if getattr(form, name).data]
    if not fields:
        flash(_("Please choose what to copy from the item."), "error")
        return _back(item, client, form)
    try:
        version = int(form.version.data or "")
    except ValueError:
        version = -1  # a form without its version cannot prove it is current
    _apply(
        form,
        lambda: catalogue.update_product_from_item(found, fields, expected_version=version),
        lambda _changes: _(
            "The product %(code)s was updated from the catalogue.", code=found.product.code
        ),
    )
    return _back(item, client, form)


@bp.route("/items/<uuid:catalogue_item_id>/cart", methods=["POST"])
@client_or_staff
def cart(catalogue_item_id: uuid.UUID):
    item, supplier = _item_or_404(catalogue_item_id)
    form = CartForm()
    client, _clients = _acting_client(supplier, form.client.data)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        # Not a whole number: the same message as the cart's own check of the range.
        flash(
            _(
                "Please enter a whole number of containers between 1 and %(max)d.",
                max=MAX_CONTAINERS,
            ),
            "error",
        )
        return _back(item, client, form)
    if client is None:
        return _choose_client_first(item, form)
    _apply(
        form,
        lambda: add_to_cart(client, item, form.containers.data),
        lambda line: _(
            "%(item)s is in the cart: %(calculation)s units.",
            item=item.supplier_code,
            calculation=units_text(line.containers, item.container_amount),
        ),
    )
    return _back(item, client, form)


# --- import (staff) --------------------------------------------------------------------------


def _preview(found: catalogue.CatalogueFile) -> dict:
    columns = [key for key in catalogue.COLUMNS if key in found.columns]
    return {
        "columns": [[key, found.columns[key]] for key in columns],
        "rows": [
            [row.row, [cell_text(row.values.get(key))[:PREVIEW_CELL] for key in columns]]
            for row in found.rows[:PREVIEW_ROWS]
        ],
    }


@bp.route("/<uuid:supplier_id>/import", methods=["GET", "POST"])
@staff_only
def upload(supplier_id: uuid.UUID):
    supplier = _supplier_or_404(supplier_id)
    form = UploadForm()
    if form.validate_on_submit():
        uploaded = form.file.data
        # One byte more than allowed is enough to tell that a file is too large.
        data = uploaded.read(MAX_FILE_BYTES + 1)
        uploaded.close()  # a large upload waits in a temporary file
        try:
            found = catalogue.read_catalogue_file(data)
        except ImportRefused as refused:
            form.file.errors.append(str(refused.message))
        else:
            catalogue.forget_stale_previews()
            job = create_job(
                "catalogue_import",
                data=data,
                name=uploaded.filename or "catalogue",
                created_by_id=current_user.id,
                options={
                    "supplier_id": str(supplier.id),
                    "rows": len(found.rows),
                    "confirmed": False,
                    "preview": _preview(found),
                },
            )
            db.session.commit()
            return redirect(url_for("catalogue.import_status", import_id=job.id))
    return render_template("catalogue/upload.html", form=form, supplier=supplier)


def _import_or_404(import_id: uuid.UUID) -> tuple[Job, Supplier]:
    job = db.session.scalar(select(Job).where(Job.id == import_id, Job.kind == "catalogue_import"))
    supplier_id = _uuid((job.options or {}).get("supplier_id")) if job is not None else None
    if supplier_id is None:
        abort(404)
    return job, _supplier_or_404(supplier_id)


def _waiting_for_confirmation(job: Job) -> bool:
    return job.status == JobStatus.QUEUED and not (job.options or {}).get("confirmed")


@bp.route("/imports/<uuid:import_id>", methods=["GET", "POST"])
@staff_only
def import_status(import_id: uuid.UUID):
    job, supplier = _import_or_404(import_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if _waiting_for_confirmation(job):
            job.options = {**job.options, "confirmed": True}
            background = job.options.get("rows", 0) > BACKGROUND_ROWS
            tenant_id, locale = job.tenant_id, str(get_locale())
            db.session.commit()
            if background:
                schedule(job, locale)
            else:
                # Runs now, in a session of its own; this request's session holds no
                # transaction meanwhile (SQLite would lock the job's writes out).
                run_job(current_app._get_current_object(), tenant_id, import_id, locale)
        return redirect(url_for("catalogue.import_status", import_id=import_id))
    options = job.options or {}
    return render_template(
        "catalogue/import.html",
        job=job,
        supplier=supplier,
        form=form,
        waiting=_waiting_for_confirmation(job),
        rows=options.get("rows", 0),
        preview=options.get("preview") or {"columns": [], "rows": []},
        column_labels=COLUMN_LABELS,
        background=options.get("rows", 0) > BACKGROUND_ROWS,
    )


@bp.route("/imports/<uuid:import_id>/progress")
@staff_only
def import_progress(import_id: uuid.UUID):
    job, _supplier = _import_or_404(import_id)
    return jsonify(
        status=job.status.value,
        percent=job.percent,
        done=job.done,
        total=job.total,
        finished=job.finished,
    )
