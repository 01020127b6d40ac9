"""Staff and admins: the tenant's suppliers, the stores (clients) linked to them, their users.

Admins also choose and configure each supplier's integration and its mandatory-data rule
sets; the forms for those come from the plugins (see :mod:`portal.web.plugin_settings`).
"""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.accounts.login import role_required
from portal.accounts.models import Role, User
from portal.accounts.views import invited
from portal.audit.models import AuditEntry
from portal.core.errors import DomainError
from portal.core.suppliers import services
from portal.core.suppliers.models import Supplier, SupplierClient
from portal.db import contains_any, db
from portal.i18n import enabled_locales, locale_name
from portal.plugins.contracts import IntegrationError
from portal.plugins.host import current_host
from portal.web import plugin_settings
from portal.web.access import staff_only
from portal.web.helpers import form_errors_to_fields, get_or_404
from portal.web.navigation import STAFF, NavItem, add_nav_item
from portal.web.pagination import keyset_page, page_args
from portal.web.refusals import attempt
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

log = logging.getLogger(__name__)

bp = Blueprint("suppliers", __name__, url_prefix="/suppliers")
add_nav_item(NavItem("suppliers.index", _l("Suppliers"), STAFF, 55, section="suppliers."))

admin_only = role_required(Role.ADMIN)

HISTORY_SIZE = 20
INVITE_PREFIX = "invite"
LINK_PREFIX = "link"
FIELD_LABELS = {
    "name": _l("Name"),
    "email": _l("E-mail address"),
    "phone": _l("Phone number"),
    "active": _l("Active"),
    "changes_need_approval": _l("Confirmations with changes need the store's approval"),
    "situations": _l("Situations"),
    "integration_key": _l("Integration"),
    "integration_config": _l("Integration settings"),
    "customer_number": _l("Customer number"),
    "contact_name": _l("Contact name"),
    "contact_phone": _l("Contact phone number"),
    "contact_email": _l("Contact e-mail address"),
}
ACTION_LABELS = {
    "supplier.created": _l("Supplier created"),
    "supplier.updated": _l("Settings changed"),
    "supplier.integration_configured": _l("Integration settings changed"),
    "supplier.rule_sets_changed": _l("Rule sets changed"),
    "supplier.client_linked": _l("Store linked"),
    "supplier.client_link_changed": _l("Store's customer number or contact changed"),
    "supplier.client_unlinked": _l("Store unlinked"),
    "supplier.user_invited": _l("User invited"),
}
ACTIVE_FILTERS = {"yes": True, "no": False}


class SupplierForm(SubmissionTokenMixin, FlaskForm):
    name = StringField(FIELD_LABELS["name"], validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        FIELD_LABELS["email"],
        validators=[Optional(), Length(max=254)],
        description=_l("Where notices of purchase orders go, besides the supplier's users."),
    )
    phone = StringField(FIELD_LABELS["phone"], validators=[Optional(), Length(max=40)])
    active = BooleanField(
        FIELD_LABELS["active"],
        default=True,
        description=_l(
            "Switch off for suppliers you no longer order from; their orders and history are kept."
        ),
    )
    changes_need_approval = BooleanField(
        FIELD_LABELS["changes_need_approval"],
        description=_l(
            "When on, a confirmation in which the supplier changed prices, quantities or dates waits until the store accepts or rejects the changes. When off, such a confirmation is final."
        ),
    )
    situations = TextAreaField(
        FIELD_LABELS["situations"],
        validators=[Optional(), Length(max=5000)],
        description=_l(
            "The situations the supplier may report on an order, one per line (for example “In production”). Leave empty to let the supplier type any text."
        ),
        render_kw={"rows": 5},
    )
    integration_key = SelectField(
        FIELD_LABELS["integration_key"],
        choices=[],
        description=_l("How purchase orders reach the supplier and how its answers come back."),
    )


class InviteForm(SubmissionTokenMixin, FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    locale = SelectField(
        _l("Language"),
        choices=[],
        description=_l("The language of the invitation and of the portal for this user."),
    )


class LinkForm(FlaskForm):
    client_id = SelectField(_l("Client"), choices=[])
    customer_number = StringField(
        FIELD_LABELS["customer_number"],
        validators=[Optional(), Length(max=64)],
        description=_l("The number under which the supplier knows this store."),
    )
    contact_name = StringField(
        FIELD_LABELS["contact_name"], validators=[Optional(), Length(max=200)]
    )
    contact_phone = StringField(
        FIELD_LABELS["contact_phone"], validators=[Optional(), Length(max=40)]
    )
    contact_email = EmailField(
        FIELD_LABELS["contact_email"], validators=[Optional(), Length(max=254)]
    )


class ButtonForm(FlaskForm):
    """A button that only needs the CSRF token (remove a link, test the connection)."""


class PluginSettingsForm(FlaskForm):
    """Carries the CSRF token around a plugin's plain settings form."""


def is_admin() -> bool:
    return current_user.is_authenticated and current_user.role == Role.ADMIN


def _integration_label(key: str) -> str:
    found = current_host().integrations.get(key)
    return str(found[1].label) if found else key


def _integration_choices(current: str | None) -> list[tuple[str, str]]:
    enabled = services.integration_choices()
    choices = sorted(
        ((key, str(cls.label)) for key, cls in enabled.items()), key=lambda c: c[1].lower()
    )
    if current and current not in enabled:
        choices.append((current, _("%(name)s (not available)", name=_integration_label(current))))
    return choices


def _supplier_form(supplier: Supplier | None) -> SupplierForm:
    if request.method == "POST":
        form = SupplierForm()
    elif supplier is not None:
        form = SupplierForm(obj=supplier)
    else:
        form = SupplierForm(integration_key=services.DEFAULT_INTEGRATION)
    if is_admin():
        form.integration_key.choices = _integration_choices(
            supplier.integration_key if supplier else None
        )
    else:
        del form.integration_key
    return form


def _supplier_values(form: SupplierForm) -> dict:
    values = {
        "name": form.name.data or "",
        "email": form.email.data or "",
        "phone": form.phone.data or "",
        "active": form.active.data,
        "changes_need_approval": form.changes_need_approval.data,
        "situations": form.situations.data or "",
    }
    if "integration_key" in form:
        values["integration_key"] = form.integration_key.data
    return values


def _after_integration_change(supplier: Supplier):
    """Send an admin to the integration's settings when the new integration has any."""
    cls = current_host().integration(supplier.integration_key)
    if cls is not None and cls.config_form is not None:
        flash(
            _("Please enter the settings of the integration %(name)s.", name=str(cls.label)), "info"
        )
        return redirect(url_for("suppliers.integration", supplier_id=supplier.id))
    return redirect(url_for("suppliers.edit", supplier_id=supplier.id))


# --- list ------------------------------------------------------------------------------


@bp.route("/")
@staff_only
def index():
    statement = select(Supplier)
    search = request.args.get("q", "").strip()[:100]
    if search:
        statement = statement.where(contains_any(search, Supplier.name, Supplier.email))
    active = request.args.get("active", "")
    if active in ACTIVE_FILTERS:
        statement = statement.where(Supplier.active.is_(ACTIVE_FILTERS[active]))
    else:
        active = ""
    cursor, size = page_args()
    page = keyset_page(
        statement, [(Supplier.name, False), (Supplier.id, False)], cursor=cursor, size=size
    )
    ids = [supplier.id for supplier in page.items]
    stores = users = {}
    if ids:
        stores = dict(
            db.session.execute(
                select(SupplierClient.supplier_id, func.count())
                .where(SupplierClient.supplier_id.in_(ids))
                .group_by(SupplierClient.supplier_id)
            ).all()
        )
        users = dict(
            db.session.execute(
                select(User.supplier_id, func.count())
                .where(User.supplier_id.in_(ids))
                .group_by(User.supplier_id)
            ).all()
        )
    host = current_host()
    enabled = set(host.enabled_integrations())
    filters = {key: value for key, value in {"q": search, "active": active}.items() if value}
    return render_template(
        "suppliers/index.html",
        page=page,
        stores=stores,
        users=users,
        search=search,
        active=active,
        filters=filters,
        labels={key: str(cls.label) for key, (_owner, cls) in host.integrations.items()},
        enabled=enabled,
    )


# --- create and edit -------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@staff_only
@once_per_submission
def new():
    form = _supplier_form(None)
    if form.validate_on_submit():
        try:
            supplier = services.create_supplier(**_supplier_values(form))
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            record_outcome(url_for("suppliers.edit", supplier_id=supplier.id))
            db.session.commit()
            flash(_("The supplier %(name)s was added.", name=supplier.name), "success")
            return _after_integration_change(supplier)
    return render_template("suppliers/form.html", form=form, supplier=None)


def _history(supplier: Supplier):
    history = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.object_type == Supplier.__name__, AuditEntry.object_id == str(supplier.id)
        )
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(HISTORY_SIZE)
    ).all()
    actor_ids = {entry.actor_id for entry in history if entry.actor_id}
    actors = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    return history, actors


def _invite_form(formdata=None) -> InviteForm:
    form = InviteForm(formdata=formdata, prefix=INVITE_PREFIX)
    form.locale.choices = [("", _("Automatic (browser language)"))] + [
        (code, locale_name(code)) for code in enabled_locales()
    ]
    return form


def _link_form(supplier: Supplier, formdata=None) -> LinkForm:
    form = LinkForm(formdata=formdata, prefix=LINK_PREFIX)
    form.client_id.choices = [("", _("Choose a client"))] + [
        (str(client.id), client.name) for client in services.unlinked_clients(supplier)
    ]
    return form


def _render_supplier(
    supplier: Supplier,
    form: SupplierForm,
    *,
    invite: InviteForm | None = None,
    link: LinkForm | None = None,
):
    history, actors = _history(supplier)
    host = current_host()
    rule_set_labels = {key: str(cls.label) for key, (_owner, cls) in host.rule_sets.items()}
    enabled_rule_sets = host.enabled_rule_sets()
    return render_template(
        "suppliers/form.html",
        form=form,
        supplier=supplier,
        invite=invite if invite is not None else _invite_form(),
        link_form=link if link is not None else _link_form(supplier),
        links=services.supplier_links(supplier),
        users=services.supplier_users(supplier),
        integration=host.integrations.get(supplier.integration_key),
        integration_enabled=host.integration(supplier.integration_key) is not None,
        integration_label=_integration_label(supplier.integration_key),
        rule_sets=[
            (
                rule_set_labels.get(choice.rule_set_key, choice.rule_set_key),
                choice.rule_set_key in enabled_rule_sets,
            )
            for choice in sorted(supplier.rule_sets, key=lambda c: c.rule_set_key)
        ],
        history=history,
        actors=actors,
        field_labels=FIELD_LABELS,
        action_labels=ACTION_LABELS,
        admin=is_admin(),
    )


@bp.route("/<uuid:supplier_id>", methods=["GET", "POST"])
@staff_only
def edit(supplier_id: uuid.UUID):
    supplier = get_or_404(Supplier, supplier_id)
    form = _supplier_form(supplier)
    if form.validate_on_submit():
        try:
            changes = services.update_supplier(supplier, **_supplier_values(form))
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            if not changes:
                flash(_("Nothing was changed."), "info")
                return redirect(url_for("suppliers.edit", supplier_id=supplier.id))
            flash(_("The supplier %(name)s was saved.", name=supplier.name), "success")
            if "integration_key" in changes:
                return _after_integration_change(supplier)
            return redirect(url_for("suppliers.edit", supplier_id=supplier.id))
    return _render_supplier(supplier, form)


# --- integration -----------------------------------------------------------------------


@bp.route("/<uuid:supplier_id>/integration", methods=["GET", "POST"])
@admin_only
def integration(supplier_id: uuid.UUID):
    supplier = get_or_404(Supplier, supplier_id)
    wrapper = PluginSettingsForm()
    posted = request.method == "POST"
    config = plugin_settings.integration_form(supplier, request.form if posted else None)
    if wrapper.validate_on_submit() and config is not None:
        result = plugin_settings.save_integration_config(supplier, config)
        if result is not None:
            db.session.commit()
            if result["changes"] or result["secrets"]:
                flash(
                    _("The integration settings of %(name)s were saved.", name=supplier.name),
                    "success",
                )
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("suppliers.integration", supplier_id=supplier.id))
        wrapper.form_errors.append(_("Please correct the marked fields."))
    cls = current_host().integration(supplier.integration_key)
    return render_template(
        "suppliers/integration.html",
        supplier=supplier,
        wrapper=wrapper,
        config=config,
        integration=cls,
        integration_label=_integration_label(supplier.integration_key),
    )


@bp.route("/<uuid:supplier_id>/integration/test", methods=["POST"])
@admin_only
def test_connection(supplier_id: uuid.UUID):
    supplier = get_or_404(Supplier, supplier_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    cls = current_host().integration(supplier.integration_key)
    if cls is None:
        flash(
            _(
                "The integration %(name)s is not enabled, so its connection cannot be tested.",
                name=_integration_label(supplier.integration_key),
            ),
            "error",
        )
        return redirect(url_for("suppliers.integration", supplier_id=supplier.id))
    try:
        cls(supplier.integration_config or {}, supplier.integration_secrets or {}).test_connection()
    except IntegrationError as error:
        flash(_("The connection test failed: %(error)s", error=str(error)), "error")
    except Exception as error:
        # A plugin's bug must not take the page down; the details go to the log.
        log.exception("integration %r failed its connection test", supplier.integration_key)
        flash(
            _(
                "The connection test failed because of an error in the integration (%(error)s). Please tell the integration's author.",
                error=type(error).__name__,
            ),
            "error",
        )
    else:
        flash(
            _("The connection to %(name)s works.", name=supplier.name),
            "success",
        )
    return redirect(url_for("suppliers.integration", supplier_id=supplier.id))


# --- rule sets ---------------------------------------------------------------------------


@bp.route("/<uuid:supplier_id>/rule-sets", methods=["GET", "POST"])
@admin_only
def rule_sets(supplier_id: uuid.UUID):
    supplier = get_or_404(Supplier, supplier_id)
    wrapper = PluginSettingsForm()
    posted = request.method == "POST"
    choices = plugin_settings.rule_set_forms(supplier, request.form if posted else None)
    if wrapper.validate_on_submit():
        chosen = set(request.form.getlist(plugin_settings.RULE_SETS_FIELD))
        try:
            changes = plugin_settings.save_rule_sets(supplier, choices, chosen)
        except DomainError as error:
            db.session.rollback()
            wrapper.form_errors.append(str(error.message))
        else:
            if changes is not None:
                db.session.commit()
                if changes:
                    flash(_("The rule sets of %(name)s were saved.", name=supplier.name), "success")
                else:
                    flash(_("Nothing was changed."), "info")
                return redirect(url_for("suppliers.rule_sets", supplier_id=supplier.id))
            wrapper.form_errors.append(_("Please correct the marked fields."))
    return render_template(
        "suppliers/rule_sets.html",
        supplier=supplier,
        wrapper=wrapper,
        choices=choices,
        field_name=plugin_settings.RULE_SETS_FIELD,
    )


# --- stores (clients) ------------------------------------------------------------------


def _link_values(form: LinkForm) -> dict:
    return {
        "customer_number": form.customer_number.data or "",
        "contact_name": form.contact_name.data or "",
        "contact_phone": form.contact_phone.data or "",
        "contact_email": form.contact_email.data or "",
    }


@bp.route("/<uuid:supplier_id>/stores", methods=["POST"])
@staff_only
def add_link(supplier_id: uuid.UUID):
    supplier = get_or_404(Supplier, supplier_id)
    form = _link_form(supplier, request.form)
    if form.validate_on_submit():
        try:
            client_id = uuid.UUID(form.client_id.data) if form.client_id.data else None
        except ValueError:
            client_id = None
        try:
            link = services.link_client(supplier, client_id, **_link_values(form))
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "%(client)s is now linked to %(supplier)s.",
                    client=link.client.name,
                    supplier=supplier.name,
                ),
                "success",
            )
            return redirect(url_for("suppliers.edit", supplier_id=supplier.id))
    return _render_supplier(supplier, _supplier_form_readonly(supplier), link=form)


def _supplier_form_readonly(supplier: Supplier) -> SupplierForm:
    """The supplier's settings form as stored (shown beside another form that failed)."""
    form = SupplierForm(formdata=None, obj=supplier)
    if is_admin():
        form.integration_key.choices = _integration_choices(supplier.integration_key)
    else:
        del form.integration_key
    return form


def _load_link(supplier_id: uuid.UUID, link_id: uuid.UUID) -> SupplierClient:
    link = db.session.scalar(
        select(SupplierClient).where(
            SupplierClient.id == link_id, SupplierClient.supplier_id == supplier_id
        )
    )
    if link is None:
        abort(404)
    return link


@bp.route("/<uuid:supplier_id>/stores/<uuid:link_id>", methods=["GET", "POST"])
@staff_only
def edit_link(supplier_id: uuid.UUID, link_id: uuid.UUID):
    link = _load_link(supplier_id, link_id)
    form = LinkForm(formdata=None, obj=link) if request.method == "GET" else LinkForm()
    del form.client_id
    if form.validate_on_submit():
        try:
            changes = services.update_link(link, **_link_values(form))
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            if changes:
                flash(
                    _("The details of %(client)s were saved.", client=link.client.name), "success"
                )
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("suppliers.edit", supplier_id=link.supplier_id))
    return render_template(
        "suppliers/link.html",
        link=link,
        supplier=link.supplier,
        form=form,
    )


@bp.route("/<uuid:supplier_id>/stores/<uuid:link_id>/remove", methods=["POST"])
@staff_only
def remove_link(supplier_id: uuid.UUID, link_id: uuid.UUID):
    link = _load_link(supplier_id, link_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    client_name, supplier_name = link.client.name, link.supplier.name
    services.unlink_client(link)
    db.session.commit()
    flash(
        _(
            "%(client)s is no longer linked to %(supplier)s.",
            client=client_name,
            supplier=supplier_name,
        ),
        "success",
    )
    return redirect(url_for("suppliers.edit", supplier_id=supplier_id))


# --- users -------------------------------------------------------------------------------


@bp.route("/<uuid:supplier_id>/users", methods=["POST"])
@staff_only
@once_per_submission
def invite(supplier_id: uuid.UUID):
    supplier = get_or_404(Supplier, supplier_id)
    form = _invite_form(request.form)
    if form.validate_on_submit():
        outcome = attempt(
            form,
            lambda: services.invite_supplier_user(
                supplier, form.email.data, form.name.data or "", form.locale.data or None
            ),
        )
        if outcome.ok:
            return invited(outcome.result, url_for("suppliers.edit", supplier_id=supplier.id))
    return _render_supplier(supplier, _supplier_form_readonly(supplier), invite=form)
