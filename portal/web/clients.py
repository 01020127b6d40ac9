"""Staff: the tenant's clients, their settings and users."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clients", __name__, url_prefix="/clients")
