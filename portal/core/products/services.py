"""Products: create and edit (the code never changes), images checked and re-encoded."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select

from portal.audit.services import diff, record
from portal.core.errors import DomainError, too_long
from portal.core.products.models import Product, ProductImage
from portal.core.versioning import check_version
from portal.db import db
from portal.plugins.events import webhook_event

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000
MAX_IMAGES = 10
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def valid_gtin(barcode: str) -> bool:
    """Tell whether ``barcode`` is an EAN/GTIN (8, 12, 13 or 14 digits) with a right check digit."""
    if not barcode.isdigit() or len(barcode) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in barcode]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _clean_fields(name: str, barcode: str | None, price, low_stock_threshold) -> dict:
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Please enter a name."), "name")
    if len(name) > 200:
        raise DomainError(too_long(200), "name")
    barcode = (barcode or "").strip() or None
    if barcode is not None and not valid_gtin(barcode):
        raise DomainError(
            _l("%(barcode)s is not a valid EAN/GTIN barcode.", barcode=barcode), "barcode"
        )
    try:
        price = Decimal(str(price if price not in (None, "") else "0")).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise DomainError(_l("The price must be a number."), "price") from None
    if price < 0 or price >= Decimal("10000000000"):
        raise DomainError(_l("The price must be zero or more."), "price")
    try:
        threshold = int(low_stock_threshold or 0)
    except (TypeError, ValueError):
        raise DomainError(_l("Please enter a whole number."), "low_stock_threshold") from None
    if threshold < 0:
        raise DomainError(_l("Please enter zero or more."), "low_stock_threshold")
    return {"name": name, "barcode": barcode, "price": price, "low_stock_threshold": threshold}


def create_product(
    client_id,
    code: str,
    name: str,
    *,
    barcode: str | None = None,
    price=0,
    low_stock_threshold: int = 0,
) -> Product:
    """Add a product for a client; the code is unique per client and fixed from now on."""
    code = (code or "").strip()
    if not CODE.match(code):
        raise DomainError(
            _l("The code may contain letters, digits and . _ / - (at most 64 characters)."),
            "code",
        )
    exists = db.session.scalar(
        select(func.count()).where(Product.client_id == client_id, Product.code == code)
    )
    if exists:
        raise DomainError(_l("A product with the code %(code)s already exists.", code=code), "code")
    product = Product(
        client_id=client_id, code=code, **_clean_fields(name, barcode, price, low_stock_threshold)
    )
    db.session.add(product)
    db.session.flush()
    record("product.created", product, changes={"code": [None, code], "name": [None, product.name]})
    webhook_event("product.created", product)
    return product


def update_product(product: Product, expected_version: int | None, **values) -> dict:
    """Change name, barcode, price and threshold. The code cannot be changed."""
    check_version(product, expected_version)
    if "code" in values and values["code"] is not None and values["code"].strip() != product.code:
        raise DomainError(_l("The product code cannot be changed."), "code")
    clean = _clean_fields(
        values.get("name", product.name),
        values.get("barcode", product.barcode),
        values.get("price", product.price),
        values.get("low_stock_threshold", product.low_stock_threshold),
    )
    before = {key: getattr(product, key) for key in clean}
    for key, value in clean.items():
        setattr(product, key, value)
    changes = diff(before, clean)
    if changes:
        record("product.updated", product, changes=changes)
        webhook_event("product.updated", product)
    return changes


@dataclass(frozen=True)
class PreparedImage:
    """An uploaded image that passed the checks, re-encoded and ready to store."""

    content_type: str
    width: int
    height: int
    data: bytes


def prepare_image(data: bytes) -> PreparedImage:
    """Check an uploaded image by decoding it and re-encode it; refuse it with a DomainError.

    Forms call it to report a bad image together with their other errors.
    """
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_IMAGE_BYTES:
        raise DomainError(
            _l("The image is too large (at most %(mb)d MB).", mb=MAX_IMAGE_BYTES // 1024 // 1024),
            "image",
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
            if kind not in IMAGE_FORMATS:
                raise DomainError(_l("Please upload a PNG, JPEG or WebP image."), "image")
            if width * height > MAX_IMAGE_PIXELS:
                raise DomainError(_l("The image has too many pixels."), "image")
            probe.load()
            image = probe.convert("RGBA" if kind in ("PNG", "WEBP") else "RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise DomainError(_l("The file is not an image that can be read."), "image") from None
    output = io.BytesIO()
    # Re-encoding drops whatever else the file carried (metadata, trailing data).
    out_format = "PNG" if image.mode == "RGBA" else "JPEG"
    image.save(output, format=out_format, **({"quality": 88} if out_format == "JPEG" else {}))
    return PreparedImage(IMAGE_FORMATS[out_format], image.width, image.height, output.getvalue())


def add_image(product: Product, data: bytes) -> ProductImage:
    """Check an uploaded image by decoding it, and store it re-encoded."""
    prepared = prepare_image(data)
    if len(product.images) >= MAX_IMAGES:
        raise DomainError(
            lazy_ngettext(
                "A product can have at most %(num)d image.",
                "A product can have at most %(num)d images.",
                MAX_IMAGES,
            ),
            "image",
        )
    stored = ProductImage(
        product_id=product.id,
        position=len(product.images),
        content_type=prepared.content_type,
        width=prepared.width,
        height=prepared.height,
        data=prepared.data,
    )
    product.images.append(stored)
    record("product.image_added", product)
    return stored


def products_by_code(client_id, codes) -> dict[str, Product]:
    """Return the client's products with these codes, keyed by code, in one query."""
    wanted = {code.strip() for code in codes if code and code.strip()}
    if not wanted:
        return {}
    return {
        product.code: product
        for product in db.session.scalars(
            select(Product).where(Product.client_id == client_id, Product.code.in_(wanted))
        )
    }
