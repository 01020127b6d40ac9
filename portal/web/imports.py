"""Order import from Excel, processed in the background with progress."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/orders/import")
