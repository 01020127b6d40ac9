"""Staff: the tenant's clients, their settings and users."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.accounts.models import User
from portal.accounts.views import invited
from portal.audit.models import AuditEntry
from portal.core.clients import services
from portal.core.clients.models import Client
from portal.core.errors import DomainError
from portal.core.warehouses.models import Warehouse
from portal.core.warehouses.services import default_warehouse
from portal.db import contains_any, db
from portal.web.access import staff_only
from portal.web.helpers import form_errors_to_fields, get_or_404
from portal.web.navigation import STAFF, NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.refusals import attempt
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

bp = Blueprint("clients", __name__, url_prefix="/clients")
add_nav_item(NavItem("clients.index", _l("Clients"), STAFF, 70, section="clients."))

HISTORY_SIZE = 20
# The invitation form shares the page with the settings form: its own field names and ids.
INVITE_PREFIX = "invite"
FIELD_LABELS = {
    "name": _l("Name"),
    "email": _l("E-mail address"),
    "portal_access": _l("Access to the portal"),
    "product_management": _l("Product management"),
    "purchase_order_warehouse_id": _l("Warehouse for purchase orders"),
}
ACTION_LABELS = {
    "client.created": _l("Client created"),
    "client.updated": _l("Settings changed"),
    "client.user_invited": _l("User invited"),
}


class ClientForm(SubmissionTokenMixin, FlaskForm):
    name = StringField(FIELD_LABELS["name"], validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        FIELD_LABELS["email"],
        validators=[Optional(), Length(max=254)],
        description=_l("The client's general address, e.g. for notices."),
    )
    portal_access = BooleanField(
        FIELD_LABELS["portal_access"],
        default=True,
        description=_l("When off, the client's users cannot open the client pages."),
    )
    product_management = BooleanField(
        FIELD_LABELS["product_management"],
        description=_l("The client's users may add and edit their products."),
    )
    purchase_order_warehouse_id = SelectField(
        FIELD_LABELS["purchase_order_warehouse_id"],
        choices=[],
        description=_l("Where the client's announced deliveries arrive."),
    )


class InviteForm(SubmissionTokenMixin, FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])


def _warehouse_choices() -> list[tuple[str, str]]:
    try:
        default = default_warehouse().name
    except DomainError:
        default = None
    label = (
        _("The tenant's default (%(warehouse)s)", warehouse=default)
        if default
        else _("The tenant's default")
    )
    warehouses = db.session.execute(
        select(Warehouse.id, Warehouse.name, Warehouse.code).order_by(Warehouse.name, Warehouse.id)
    )
    return [("", label)] + [(str(wid), f"{name} ({code})") for wid, name, code in warehouses]


def _warehouse_id(form) -> uuid.UUID | None:
    value = form.purchase_order_warehouse_id.data
    return uuid.UUID(value) if value else None


def _client_values(form) -> dict:
    return {
        "name": form.name.data or "",
        "email": form.email.data or None,
        "portal_access": form.portal_access.data,
        "product_management": form.product_management.data,
        "purchase_order_warehouse_id": _warehouse_id(form),
    }


# --- list ------------------------------------------------------------------------------


@bp.route("/")
@staff_only
def index():
    statement = select(Client)
    search = request.args.get("q", "").strip()[:100]
    if search:
        statement = statement.where(contains_any(search, Client.name, Client.email))
    cursor, size = page_args()
    page = keyset_page(
        statement.options(selectinload(Client.purchase_order_warehouse)),
        [(Client.name, False), (Client.id, False)],
        cursor=cursor,
        size=size,
    )
    ids = [client.id for client in page.items]
    users = (
        dict(
            db.session.execute(
                select(User.client_id, func.count())
                .where(User.client_id.in_(ids))
                .group_by(User.client_id)
            ).all()
        )
        if ids
        else {}
    )
    return render_template(
        "clients/index.html",
        page=page,
        users=users,
        search=search,
        filters={"q": search} if search else {},
    )


# --- create and edit -------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@staff_only
@once_per_submission
def new():
    form = ClientForm()
    form.purchase_order_warehouse_id.choices = _warehouse_choices()
    if form.validate_on_submit():
        try:
            client = services.create_client(**_client_values(form))
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            record_outcome(url_for("clients.edit", client_id=client.id))
            db.session.commit()
            flash(_("The client %(name)s was added.", name=client.name), "success")
            return redirect(url_for("clients.edit", client_id=client.id))
    return render_template("clients/form.html", form=form, client=None)


def _render_client(client: Client, form: ClientForm, invite: InviteForm, status: int = 200):
    history = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == Client.__name__, AuditEntry.object_id == str(client.id))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(HISTORY_SIZE)
    ).all()
    actor_ids = {entry.actor_id for entry in history if entry.actor_id}
    actors = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    warehouses = dict(form.purchase_order_warehouse_id.choices)
    return render_template(
        "clients/form.html",
        form=form,
        invite=invite,
        client=client,
        users=services.client_users(client),
        history=history,
        actors=actors,
        field_labels=FIELD_LABELS,
        action_labels=ACTION_LABELS,
        warehouses=warehouses,
    ), status


@bp.route("/<uuid:client_id>", methods=["GET", "POST"])
@staff_only
def edit(client_id: uuid.UUID):
    client = get_or_404(Client, client_id)
    if request.method == "GET":
        form = ClientForm(obj=client)
        form.purchase_order_warehouse_id.data = (
            str(client.purchase_order_warehouse_id) if client.purchase_order_warehouse_id else ""
        )
    else:
        form = ClientForm()
    form.purchase_order_warehouse_id.choices = _warehouse_choices()
    if form.validate_on_submit():
        try:
            changes = services.update_client(client, **_client_values(form))
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            if changes:
                flash(_("The client %(name)s was saved.", name=client.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("clients.edit", client_id=client.id))
    return _render_client(client, form, InviteForm(formdata=None, prefix=INVITE_PREFIX))


@bp.route("/<uuid:client_id>/users", methods=["POST"])
@staff_only
@once_per_submission
def invite(client_id: uuid.UUID):
    client = get_or_404(Client, client_id)
    invite_form = InviteForm(prefix=INVITE_PREFIX)
    if invite_form.validate_on_submit():
        outcome = attempt(
            invite_form,
            lambda: services.invite_client_user(
                client, invite_form.email.data, invite_form.name.data or ""
            ),
        )
        if outcome.ok:
            return invited(outcome.result, url_for("clients.edit", client_id=client.id))
    form = ClientForm(formdata=None, obj=client)
    form.purchase_order_warehouse_id.choices = _warehouse_choices()
    form.purchase_order_warehouse_id.data = (
        str(client.purchase_order_warehouse_id) if client.purchase_order_warehouse_id else ""
    )
    return _render_client(client, form, invite_form)
