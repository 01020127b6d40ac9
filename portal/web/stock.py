"""Staff: stock corrections."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("stock", __name__, url_prefix="/stock")
