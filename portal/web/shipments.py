"""Shipments of the client's orders, with carrier and tracking."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("shipments", __name__, url_prefix="/shipments")
