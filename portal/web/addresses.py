"""The client's address book: list with search, create, edit, delete; used when ordering.

Only the client's own users see it (staff get 403): it is the client's private list, shown
in that client's portal only.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from portal.accounts.models import Role
from portal.core.addresses.models import ADDRESS_FIELDS, Address
from portal.core.addresses.services import (
    LIMITS,
    address_errors,
    create_address,
    delete_address,
    update_address,
)
from portal.core.addresses.validation import format_phone, is_country
from portal.core.errors import DomainError
from portal.db import contains_any, db
from portal.web.access import client_only, get_visible_or_404, visible
from portal.web.helpers import form_errors_to_fields
from portal.web.navigation import NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

bp = Blueprint("addresses", __name__, url_prefix="/addresses")

add_nav_item(
    NavItem("addresses.index", _l("Address book"), frozenset({Role.CLIENT}), 60, "addresses.")
)

#: The name of each address field, for forms and for the history of changes.
FIELD_LABELS = {
    "name": _l("Recipient name"),
    "company": _l("Company"),
    "street": _l("Street and house number"),
    "street2": _l("Address line 2"),
    "postcode": _l("Postcode"),
    "city": _l("City"),
    "state": _l("State or province"),
    "country": _l("Country"),
    "phone": _l("Phone"),
    "email": _l("E-mail address"),
}

# Codes that Babel knows as territories but that are no country one ships to.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})


def country_choices() -> list[tuple[str, str]]:
    """Return (code, name) for every country, named and sorted in the current language.

    Only countries the address check knows: a choice it would refuse is not offered.
    """
    territories = get_locale().territories
    countries = [
        (code, name)
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES and is_country(code)
    ]
    return sorted(countries, key=lambda pair: pair[1].casefold())


@bp.app_template_filter("country_name")
def country_name(country) -> str:
    """Return the country's name in the current language (the code if Babel knows none)."""
    code = str(getattr(country, "code", country) or "")
    return get_locale().territories.get(code, code)


@bp.app_template_filter("phone_number")
def phone_number(phone) -> str:
    """Return a stored phone number (E.164) written for reading: "+31 20 123 4567"."""
    return format_phone(phone or "")


class AddressFieldsForm(FlaskForm):
    """The fields of a postal address, named like the model's columns.

    The address is checked by :func:`address_errors` (every problem at once, at its field,
    the same words as the service uses: required parts, postcode and state per country,
    phone number, e-mail address), so that forms that may leave the address empty can reuse
    it.
    """

    name = StringField(FIELD_LABELS["name"], validators=[Length(max=LIMITS["name"])])
    company = StringField(
        FIELD_LABELS["company"], validators=[Optional(), Length(max=LIMITS["company"])]
    )
    street = StringField(FIELD_LABELS["street"], validators=[Length(max=LIMITS["street"])])
    street2 = StringField(
        FIELD_LABELS["street2"], validators=[Optional(), Length(max=LIMITS["street2"])]
    )
    postcode = StringField(
        FIELD_LABELS["postcode"], validators=[Optional(), Length(max=LIMITS["postcode"])]
    )
    city = StringField(FIELD_LABELS["city"], validators=[Length(max=LIMITS["city"])])
    state = StringField(FIELD_LABELS["state"], validators=[Optional(), Length(max=LIMITS["state"])])
    country = SelectField(FIELD_LABELS["country"], choices=[], validate_choice=False)
    phone = StringField(FIELD_LABELS["phone"], validators=[Optional(), Length(max=LIMITS["phone"])])
    email = StringField(FIELD_LABELS["email"], validators=[Optional(), Length(max=LIMITS["email"])])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _("Choose a country")), *country_choices()]

    def address_values(self) -> dict[str, object]:
        return {field: getattr(self, field).data or "" for field in ADDRESS_FIELDS}

    def address_is_empty(self) -> bool:
        return not any(str(value).strip() for value in self.address_values().values())

    def validate_with_address(self) -> bool:
        """On a POST, check the form and the address together, so that every error shows."""
        return self.is_submitted() and all([self.validate(), self.check_address()])

    def check_address(self) -> bool:
        """Attach every address problem to its field; return True when there was none."""
        problems = address_errors(self.address_values())
        for problem in problems:
            form_errors_to_fields(self, problem)
        return not problems

    def fill_address(self, source) -> None:
        """Show ``source``'s address (an Address or an Order) in the fields."""
        for field in ADDRESS_FIELDS:
            value = getattr(source, field)
            if field == "phone":
                value = format_phone(value)
            getattr(self, field).data = getattr(value, "code", value) or ""


class AddressForm(SubmissionTokenMixin, AddressFieldsForm):
    label = StringField(
        _l("Label"),
        validators=[Optional(), Length(max=100)],
        description=_l('A short name to find the address by, e.g. "Shop Berlin".'),
    )


@bp.route("/")
@client_only
def index():
    search = request.args.get("q", "").strip()
    statement = visible(select(Address), Address)
    if search:
        statement = statement.where(
            contains_any(
                search,
                Address.name,
                Address.company,
                Address.label,
                Address.street,
                Address.postcode,
                Address.city,
            )
        )
    cursor, size = page_args()
    page = keyset_page(
        statement, [(Address.name, False), (Address.id, False)], cursor=cursor, size=size
    )
    return render_template("addresses/list.html", page=page, search=search)


@bp.route("/new", methods=["GET", "POST"])
@client_only
@once_per_submission
def new():
    form = AddressForm()
    if form.validate_with_address():
        try:
            address = create_address(
                current_user.client_id, form.address_values(), label=form.label.data or ""
            )
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            record_outcome(url_for("addresses.index"))
            db.session.commit()
            flash(_("%(name)s was added to the address book.", name=address.name), "success")
            return redirect(url_for("addresses.index"))
    return render_template("addresses/form.html", form=form, address=None)


@bp.route("/<uuid:address_id>/edit", methods=["GET", "POST"])
@client_only
def edit(address_id: uuid.UUID):
    address = get_visible_or_404(Address, address_id)
    form = AddressForm()
    if request.method == "GET":
        form.fill_address(address)
        form.label.data = address.label
    if form.validate_with_address():
        try:
            update_address(address, form.address_values(), label=form.label.data or "")
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            flash(_("The address of %(name)s was saved.", name=address.name), "success")
            return redirect(url_for("addresses.index"))
    return render_template("addresses/form.html", form=form, address=address)


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: a button that changes something."""


@bp.route("/<uuid:address_id>/delete", methods=["GET", "POST"])
@client_only
def delete(address_id: uuid.UUID):
    address = get_visible_or_404(Address, address_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = address.name
        delete_address(address)
        db.session.commit()
        flash(_("%(name)s was removed from the address book.", name=name), "success")
        return redirect(url_for("addresses.index"))
    return render_template("addresses/delete.html", form=form, address=address)


def address_book(client_id: uuid.UUID, limit: int = 500) -> list[Address]:
    """Return the client's addresses for the order form's choice, by name."""
    return db.session.scalars(
        select(Address)
        .where(Address.client_id == client_id)
        .order_by(Address.name, Address.id)
        .limit(limit)
    ).all()
