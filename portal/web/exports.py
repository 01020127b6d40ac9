"""Exports to Excel and CSV with formula-safe cells."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/exports")
