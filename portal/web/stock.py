"""Stock: the list of stock per product and warehouse, and staff's stock corrections."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from portal.core.errors import DomainError
from portal.core.products.models import Product
from portal.core.stock.queries import STOCK_ORDER, stock_rows
from portal.core.stock.services import correct_stock
from portal.core.warehouses.models import Warehouse
from portal.db import db
from portal.web.access import client_or_staff, get_visible_or_404, is_staff, staff_only, visible
from portal.web.fields import WholeNumberField
from portal.web.helpers import form_errors_to_fields
from portal.web.navigation import CLIENT_AND_STAFF, NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.products import (
    STOCK_FILTER_LABELS,
    client_choices,
    filter_args,
    product_filter_from_request,
    render_product,
    uuid_arg,
)
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

bp = Blueprint("stock", __name__, url_prefix="/stock")

add_nav_item(NavItem("stock.index", _l("Stock"), CLIENT_AND_STAFF, 15, section="stock."))

MAX_CORRECTION = 1_000_000


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


def warehouses() -> list[Warehouse]:
    """Return the tenant's warehouses, the default first."""
    return list(
        db.session.scalars(
            select(Warehouse).order_by(Warehouse.is_default.desc(), Warehouse.code, Warehouse.id)
        )
    )


def _not_zero(form, field) -> None:
    if field.data == 0:
        raise ValidationError(_l("The quantity must not be zero."))


class CorrectionForm(SubmissionTokenMixin, FlaskForm):
    """A stock correction: where, how many (signed) and why."""

    warehouse_id = SelectField(_l("Warehouse"), validators=[DataRequired()])
    quantity = WholeNumberField(
        _l("Quantity"),
        minimum=-MAX_CORRECTION,
        maximum=MAX_CORRECTION,
        validators=[InputRequired(), _not_zero],
        description=_l("Positive to add units, negative to take units out, e.g. -3."),
    )
    note = StringField(
        _l("Reason"),
        validators=[
            DataRequired(message=_l("Please give a reason for the correction.")),
            Length(max=500),
        ],
        description=_l("For example: stocktaking difference, damaged, found."),
    )


def correction_form_for() -> CorrectionForm:
    """Return an empty correction form with the tenant's warehouses to choose from."""
    form = CorrectionForm(formdata=None)
    form.warehouse_id.choices = [(str(w.id), f"{w.code} · {w.name}") for w in warehouses()]
    return form


@bp.route("/products/<uuid:product_id>/corrections", methods=["POST"])
@staff_only
@once_per_submission
def correct(product_id: uuid.UUID):
    product = get_visible_or_404(Product, product_id)
    form = CorrectionForm()
    form.warehouse_id.choices = [(str(w.id), f"{w.code} · {w.name}") for w in warehouses()]
    if form.validate_on_submit():
        try:
            correct_stock(
                product, uuid.UUID(form.warehouse_id.data), form.quantity.data, form.note.data
            )
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            detail = url_for("products.detail", product_id=product.id) + "#history"
            record_outcome(detail)
            db.session.commit()
            flash(
                _(
                    "The stock of %(code)s was corrected by %(quantity)s.",
                    code=product.code,
                    quantity=f"{form.quantity.data:+d}",
                ),
                "success",
            )
            return redirect(detail)
    return render_product(product, correction_form=form, status=422)


@bp.route("/")
@client_or_staff
def index():
    filters = product_filter_from_request()
    warehouse_id = uuid_arg("warehouse")
    statement = visible(stock_rows(filters, warehouse_id), Product)
    after, size = page_args()
    page = keyset_page(statement, STOCK_ORDER, cursor=after, size=size, scalars=False)
    staff = is_staff()
    clients = client_choices() if staff else []
    args = filter_args(filters)
    if warehouse_id:
        args["warehouse"] = str(warehouse_id)
    return render_template(
        "stock/index.html",
        page=page,
        filters=filters,
        warehouse_id=warehouse_id,
        warehouses=warehouses(),
        args=args,
        clients=clients,
        client_names={client.id: client.name for client in clients},
        stock_filters=STOCK_FILTER_LABELS,
        staff=staff,
        after=after,
    )
