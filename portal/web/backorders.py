"""Backorders: order lines that stock could not cover yet."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("backorders", __name__, url_prefix="/backorders")
