"""Products: list, search, detail with stock history; adding and editing them."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from babel.numbers import NumberFormatError, parse_decimal
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
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
from wtforms import BooleanField, HiddenField, SelectField, StringField, ValidationError
from wtforms.validators import Optional

from portal.core.clients.models import Client
from portal.core.errors import DomainError, StaleVersion, too_long
from portal.core.products.models import Product, ProductImage
from portal.core.products.queries import PRODUCT_ORDER, ProductFilter, StockFilter, product_rows
from portal.core.products.services import (
    CODE,
    MAX_IMAGE_BYTES,
    add_image,
    create_product,
    prepare_image,
    products_by_code,
    update_product,
    valid_gtin,
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
from portal.web.fields import WholeNumberField, required
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


def _code_format(form, field) -> None:
    if field.data and not CODE.match(field.data.strip()):
        raise ValidationError(
            _("The code may contain letters, digits and . _ / - (at most 64 characters).")
        )


def _gtin(form, field) -> None:
    barcode = (field.data or "").strip()
    if barcode and not valid_gtin(barcode):
        # A plain str, escaped like any text: the message repeats what was typed.
        raise ValidationError(_("%(barcode)s is not a valid EAN/GTIN barcode.", barcode=barcode))


def _amount(form, field) -> None:
    try:
        parse_amount(field.data)
    except DomainError as error:
        raise ValidationError(str(error.message)) from None


class ProductForm(SubmissionTokenMixin, FlaskForm):
    """A product's fields; the code only when adding, the client only for staff.

    Every field is checked on each submit, so one submit reports every problem; a chosen
    image is kept on the server while the form comes back with errors (see ``KeptImage``).
    """

    client_id = SelectField(
        _l("Client"), validators=[required(_l("Please choose a client."))], validate_choice=False
    )
    code = StringField(
        _l("Code"),
        validators=[required(_l("Please enter a code.")), _code_format],
        description=_l("Letters, digits and . _ / -. The code cannot be changed later."),
    )
    name = StringField(_l("Name"), validators=[required(_l("Please enter a name."))])
    barcode = StringField(
        _l("Barcode (EAN/GTIN)"),
        validators=[Optional(), _gtin],
        description=_l("8, 12, 13 or 14 digits."),
    )
    price = StringField(_l("Price"), validators=[Optional(), _amount])
    low_stock_threshold = WholeNumberField(
        _l("Low stock below"),
        minimum=0,
        maximum=1_000_000_000,
        default=0,
        description=_l("The product shows as low on stock when fewer units are available."),
    )
    image = FileField(
        _l("Add an image"),
        description=_l("PNG, JPEG or WebP, at most %(mb)d MB.", mb=MAX_IMAGE_BYTES // 1024 // 1024),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
    # The image chosen on an earlier submit of this form, kept on the server (a token).
    kept_image = HiddenField()
    drop_kept_image = BooleanField(_l("Do not add this image"))
    version = HiddenField()

    def validate_name(self, field) -> None:
        if len((field.data or "").strip()) > 200:
            raise ValidationError(str(too_long(200)))

    def validate_client_id(self, field) -> None:
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_("Please choose a client."))


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


# --- the chosen image, kept while the form has errors -----------------------------------------

#: A file input cannot be refilled by the server, so an image chosen on a submit that had
#: errors is kept in the instance folder under a random token (like CarrierWave's or
#: Shrine's upload cache) and offered again as "image chosen: name". Kept files are per
#: tenant and user; those older than a day are removed when the next one is written.
KEEP_IMAGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass(frozen=True)
class KeptImage:
    """An image chosen in the form: its bytes, its file name and its token once kept."""

    data: bytes
    filename: str
    token: str = ""


def _kept_folder() -> Path:
    # PORTAL_UPLOAD_CACHE names a folder that every process sees when the portal runs on
    # several hosts; by default the instance folder holds it.
    root = current_app.config.get("PORTAL_UPLOAD_CACHE") or (
        Path(current_app.instance_path) / "upload-cache"
    )
    return Path(root) / str(g.tenant.id) / str(current_user.id)


def _forget_old_kept_images(folder: Path) -> None:
    cutoff = time.time() - KEEP_IMAGE_SECONDS
    for path in folder.glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass  # removed meanwhile by another request


def keep_image(image: KeptImage) -> KeptImage:
    """Store ``image`` until the form is sent again; return it with its token."""
    folder = _kept_folder()
    folder.mkdir(parents=True, exist_ok=True)
    _forget_old_kept_images(folder)
    token = secrets.token_urlsafe(16)
    (folder / f"{token}.name").write_text(image.filename[:255], encoding="utf-8")
    (folder / f"{token}.data").write_bytes(image.data)
    return KeptImage(image.data, image.filename, token)


def kept_image(token: str | None) -> KeptImage | None:
    """Return the image kept under ``token`` for this user, or None (unknown or expired)."""
    if not token or not _TOKEN.match(token):
        return None
    folder = _kept_folder()
    try:
        data = (folder / f"{token}.data").read_bytes()
        filename = (folder / f"{token}.name").read_text(encoding="utf-8")
    except OSError:
        return None
    return KeptImage(data, filename, token)


def forget_kept_image(image: KeptImage | None) -> None:
    """Remove a kept image once it was stored with its product (or dropped)."""
    if image is None or not image.token:
        return
    for suffix in (".data", ".name"):
        (_kept_folder() / f"{image.token}{suffix}").unlink(missing_ok=True)


def chosen_image(form: ProductForm) -> KeptImage | None:
    """Return the image this submit brings: a new upload, else the one kept earlier.

    A bad image is reported on the image field (and not kept).
    """
    upload = form.image.data
    earlier = kept_image(form.kept_image.data)
    if earlier is not None and form.drop_kept_image.data:
        forget_kept_image(earlier)
        earlier = None
    if upload and getattr(upload, "filename", ""):
        # One byte more than allowed is enough to tell that a file is too large.
        data = upload.read(MAX_IMAGE_BYTES + 1)
        try:
            prepare_image(data)
        except DomainError as error:
            form.image.errors = [*form.image.errors, str(error.message)]
            return earlier
        forget_kept_image(earlier)
        return KeptImage(data, Path(upload.filename).name)
    return earlier


def _validate_with_image(form: ProductForm) -> tuple[bool, KeptImage | None]:
    """Check every field and the chosen image; keep a good image when anything is wrong."""
    if not form.is_submitted():
        return False, None
    valid = form.validate()
    image = chosen_image(form)
    valid = valid and not form.image.errors
    if not valid and image is not None and not image.token:
        image = keep_image(image)
    form.kept_image.data = image.token if image is not None and not valid else ""
    form.drop_kept_image.data = False
    return valid, image


def _store_image(product: Product, image: KeptImage | None) -> None:
    if image is not None:
        add_image(product, image.data)


def kept_image_name(form: ProductForm) -> str | None:
    """Return the file name of the image the form keeps, for "Image chosen: ..."."""
    token = form.kept_image.data
    if not token or not _TOKEN.match(token):
        return None
    try:
        return (_kept_folder() / f"{token}.name").read_text(encoding="utf-8")
    except OSError:
        return None


def _keep_after_refusal(form: ProductForm, image: KeptImage | None) -> None:
    """After a service refused the save, keep the chosen image for the next submit."""
    if image is not None and form.image.errors:
        forget_kept_image(image)
        image = None
    if image is not None and not image.token:
        image = keep_image(image)
    form.kept_image.data = image.token if image is not None else ""


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
    valid, image = _validate_with_image(form)
    if form.is_submitted() and not form.code.errors:
        _refuse_a_taken_code(form)
        valid = valid and not form.code.errors
        if not valid:
            _keep_after_refusal(form, image)
    if valid:
        client_id = uuid.UUID(form.client_id.data) if is_staff() else current_user.client_id
        try:
            values = _product_values(form)
            product = create_product(client_id, form.code.data or "", **values)
            _store_image(product, image)
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
            _keep_after_refusal(form, image)
        else:
            record_outcome(url_for("products.detail", product_id=product.id))
            db.session.commit()
            forget_kept_image(image)
            flash(_("The product %(code)s was added.", code=product.code), "success")
            return redirect(url_for("products.detail", product_id=product.id))
    return render_template(
        "products/form.html",
        form=form,
        product=None,
        stale=False,
        kept=kept_image_name(form),
    )


def _refuse_a_taken_code(form: ProductForm) -> None:
    """Report a code the client already uses together with the form's other errors."""
    if is_staff():
        try:
            client_id = uuid.UUID(form.client_id.data or "")
        except ValueError:
            return
    else:
        client_id = current_user.client_id
    code = (form.code.data or "").strip()
    if code and products_by_code(client_id, [code]):
        form.code.errors = [
            *form.code.errors,
            _("A product with the code %(code)s already exists.", code=code),
        ]


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
    valid, image = _validate_with_image(form)
    if valid:
        try:
            expected = int(form.version.data or "")
        except ValueError:
            expected = -1  # a form without its version cannot prove it is current
        try:
            values = _product_values(form)
            update_product(product, expected, code=form.code.data or "", **values)
            _store_image(product, image)
            db.session.flush()
        except (StaleVersion, StaleDataError):
            db.session.rollback()
            stale = True
            form.form_errors.append(STALE_MESSAGE)
            _keep_after_refusal(form, image)
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
            _keep_after_refusal(form, image)
        else:
            db.session.commit()
            forget_kept_image(image)
            flash(_("The product %(code)s was saved.", code=product.code), "success")
            return redirect(url_for("products.detail", product_id=product.id))
    return render_template(
        "products/form.html",
        form=form,
        product=product,
        stale=stale,
        kept=kept_image_name(form),
    )
