"""Products: list, search, detail with stock history; adding and editing them."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("products", __name__, url_prefix="/products")
