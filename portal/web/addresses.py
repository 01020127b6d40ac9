"""The client's address book."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("addresses", __name__, url_prefix="/addresses")
