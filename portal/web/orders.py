"""Orders: list, create line by line, detail, change address, cancel, duplicate; staff actions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders")
