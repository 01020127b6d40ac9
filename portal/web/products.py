"""Products: list, search, detail with stock history; adding and editing them."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation

from babel.numbers import NumberFormatError, parse_decimal
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
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
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.core.clients.models import Client
from portal.core.errors import DomainError, StaleVersion
from portal.core.products.models import Product, ProductImage
from portal.core.products.queries import PRODUCT_ORDER, ProductFilter, StockFilter, product_rows
from portal.core.products.services import (
    MAX_IMAGE_BYTES,
    add_image,
    create_product,
    update_product,
)
from portal.core.stock.models import MovementReason
from portal.core.stock.queries import HISTORY_ORDER, history_statement, product_levels
from portal.core.versioning import STALE_MESSAGE
from portal.db import db
from portal.web.access import (
    can_manage_products,
    client_or_staff,
    get_visible_or_404,
    is_staff,
    products_editor,
    visible,
)
from portal.web.helpers import form_errors_to_fields
from portal.web.navigation import CLIENT_AND_STAFF, NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

bp = Blueprint("products", __name__, url_prefix="/products")

add_nav_item(NavItem("products.index", _l("Products"), CLIENT_AND_STAFF, 10, section="products."))

REASON_LABELS = {
    MovementReason.GOODS_RECEIPT: _l("Goods receipt"),
    MovementReason.SHIPMENT: _l("Shipment"),
    MovementReason.CORRECTION: _l("Stock correction"),
    MovementReason.RETURN: _l("Return"),
    MovementReason.INITIAL: _l("Opening stock"),
}
STOCK_FILTER_LABELS = {
    StockFilter.LOW: _l("Low stock"),
    StockFilter.IN_STOCK: _l("In stock"),
    StockFilter.OUT_OF_STOCK: _l("Out of stock"),
}
MAX_SEARCH = 100
_PLAIN_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


# --- filters shared with the exports ---------------------------------------------------------


def uuid_arg(name: str) -> uuid.UUID | None:
    """Read a UUID from the query string; a malformed one counts as absent."""
    try:
        return uuid.UUID(request.args.get(name, ""))
    except ValueError:
        return None


def product_filter_from_request() -> ProductFilter:
    """Read the product list's filters (``q``, ``client`` for staff, ``stock``)."""
    try:
        stock = StockFilter(request.args.get("stock", ""))
    except ValueError:
        stock = None
    return ProductFilter(
        q=request.args.get("q", "").strip()[:MAX_SEARCH],
        client_id=uuid_arg("client") if is_staff() else None,
        stock=stock,
    )


def filter_args(filters: ProductFilter) -> dict[str, str]:
    """Return the query-string arguments that reproduce ``filters`` (for links)."""
    args = {}
    if filters.q:
        args["q"] = filters.q
    if filters.client_id:
        args["client"] = str(filters.client_id)
    if filters.stock:
        args["stock"] = filters.stock.value
    return args


def client_choices() -> list[Client]:
    """Return the tenant's clients by name (staff pick one in filters and forms)."""
    return list(db.session.scalars(select(Client).order_by(Client.name, Client.id)))


# --- list and detail -------------------------------------------------------------------------


@bp.route("/")
@client_or_staff
def index():
    filters = product_filter_from_request()
    statement = visible(product_rows(filters), Product)
    staff = is_staff()
    if staff:
        statement = statement.options(selectinload(Product.client))
    after, size = page_args()
    page = keyset_page(statement, PRODUCT_ORDER, cursor=after, size=size, scalars=False)
    return render_template(
        "products/index.html",
        page=page,
        filters=filters,
        args=filter_args(filters),
        clients=client_choices() if staff else [],
        stock_filters=STOCK_FILTER_LABELS,
        staff=staff,
        can_add=can_manage_products(),
        after=after,
    )


@bp.route("/<uuid:product_id>")
@client_or_staff
def detail(product_id: uuid.UUID):
    product = get_visible_or_404(Product, product_id)
    return render_product(product)


def render_product(product: Product, correction_form=None, status: int = 200):
    """Render a product's page: data, images, stock per warehouse and the stock history."""
    from portal.web.stock import correction_form_for

    images = db.session.execute(
        select(ProductImage.id, ProductImage.width, ProductImage.height)
        .where(ProductImage.product_id == product.id)
        .order_by(ProductImage.position, ProductImage.id)
    ).all()
    levels = product_levels(product.id)
    warehouses = {warehouse.id: warehouse for _, warehouse in levels}
    after, size = page_args()
    history = keyset_page(history_statement(product.id), HISTORY_ORDER, cursor=after, size=size)
    staff = is_staff()
    if correction_form is None and staff:
        correction_form = correction_form_for()
    return render_template(
        "products/detail.html",
        product=product,
        images=images,
        levels=levels,
        on_hand=sum(level.on_hand for level, _ in levels),
        available=sum(level.available for level, _ in levels),
        warehouses=warehouses,
        history=history,
        history_after=after,
        reasons=REASON_LABELS,
        staff=staff,
        can_edit=can_manage_products(),
        correction_form=correction_form,
    ), status


@bp.route("/<uuid:product_id>/images/<uuid:image_id>")
@client_or_staff
def image(product_id: uuid.UUID, image_id: uuid.UUID):
    product = get_visible_or_404(Product, product_id)
    stored = db.session.scalar(
        select(ProductImage).where(
            ProductImage.product_id == product.id, ProductImage.id == image_id
        )
    )
    if stored is None:
        abort(404)
    response = Response(stored.data, mimetype=stored.content_type)
    # Images never change under their id; the browser may keep them, shared caches may not.
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.set_etag(str(stored.id))
    return response.make_conditional(request)


# --- adding and editing ----------------------------------------------------------------------


class ProductForm(SubmissionTokenMixin, FlaskForm):
    """A product's fields; the code only when adding, the client only for staff."""

    client_id = SelectField(_l("Client"), validators=[DataRequired()])
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("Letters, digits and . _ / -. The code cannot be changed later."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    barcode = StringField(
        _l("Barcode (EAN/GTIN)"),
        validators=[Optional(), Length(max=14)],
        description=_l("8, 12, 13 or 14 digits."),
    )
    price = StringField(_l("Price"), validators=[Optional(), Length(max=20)])
    low_stock_threshold = IntegerField(
        _l("Low stock below"),
        validators=[Optional(), NumberRange(min=0, max=1_000_000_000)],
        default=0,
        description=_l("The product shows as low on stock when fewer units are available."),
    )
    image = FileField(
        _l("Add an image"),
        description=_l("PNG, JPEG or WebP, at most %(mb)d MB.", mb=MAX_IMAGE_BYTES // 1024 // 1024),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
    version = HiddenField()


def parse_amount(text: str | None) -> Decimal:
    """Read an amount typed in the user's locale ("12,50" in German) or plainly ("12.50")."""
    text = (text or "").strip()
    if not text:
        return Decimal("0")
    try:
        return parse_decimal(text, locale=get_locale(), strict=True)
    except NumberFormatError:
        if _PLAIN_DECIMAL.match(text):
            try:
                return Decimal(text)
            except InvalidOperation:
                pass
    raise DomainError(_l("The price must be a number."), "price")


def _uploaded_image(form: ProductForm) -> bytes | None:
    upload = form.image.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    # One byte more than allowed is enough to tell that a file is too large.
    return upload.read(MAX_IMAGE_BYTES + 1)


def _product_values(form: ProductForm) -> dict:
    return {
        "name": form.name.data or "",
        "barcode": form.barcode.data or "",
        "price": parse_amount(form.price.data),
        "low_stock_threshold": form.low_stock_threshold.data or 0,
    }


@bp.route("/new", methods=["GET", "POST"])
@products_editor
@once_per_submission
def new():
    form = ProductForm()
    del form.version
    if is_staff():
        form.client_id.choices = [("", _("Choose a client"))] + [
            (str(client.id), client.name) for client in client_choices()
        ]
        if request.method == "GET" and request.args.get("client"):
            form.client_id.data = request.args["client"]
    else:
        del form.client_id
    if form.validate_on_submit():
        client_id = uuid.UUID(form.client_id.data) if is_staff() else current_user.client_id
        try:
            values = _product_values(form)
            product = create_product(client_id, form.code.data or "", **values)
            data = _uploaded_image(form)
            if data is not None:
                add_image(product, data)
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            record_outcome(url_for("products.detail", product_id=product.id))
            db.session.commit()
            flash(_("The product %(code)s was added.", code=product.code), "success")
            return redirect(url_for("products.detail", product_id=product.id))
    return render_template("products/form.html", form=form, product=None, stale=False)


@bp.route("/<uuid:product_id>/edit", methods=["GET", "POST"])
@products_editor
def edit(product_id: uuid.UUID):
    product = get_visible_or_404(Product, product_id)
    form = ProductForm(obj=product) if request.method == "GET" else ProductForm()
    del form.client_id
    form.code.render_kw = {"readonly": True}
    form.code.description = _l("The code cannot be changed.")
    if request.method == "GET":
        form.price.data = format_decimal(product.price, format="#,##0.00")
        form.version.data = str(product.version)
    stale = False
    if form.validate_on_submit():
        try:
            expected = int(form.version.data or "")
        except ValueError:
            expected = -1  # a form without its version cannot prove it is current
        try:
            values = _product_values(form)
            update_product(product, expected, code=form.code.data or "", **values)
            data = _uploaded_image(form)
            if data is not None:
                add_image(product, data)
            db.session.flush()
        except (StaleVersion, StaleDataError):
            db.session.rollback()
            stale = True
            form.form_errors.append(STALE_MESSAGE)
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            flash(_("The product %(code)s was saved.", code=product.code), "success")
            return redirect(url_for("products.detail", product_id=product.id))
    return render_template("products/form.html", form=form, product=product, stale=stale)
