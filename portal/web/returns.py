"""Returns with replacement products and status history."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("returns", __name__, url_prefix="/returns")
