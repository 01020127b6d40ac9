"""Purchase orders (announced deliveries) and goods receipts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("purchase_orders", __name__, url_prefix="/purchase-orders")
