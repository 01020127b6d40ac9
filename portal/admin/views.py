"""Tenant administration: users and the audit log."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import second_factor, services
from portal.accounts.forms import PasswordConfirmForm, SecondFactorPolicyForm, UserForm
from portal.accounts.login import role_required
from portal.accounts.models import Role, User
from portal.accounts.views import send_password_link
from portal.audit import presenting
from portal.audit import queries as audit_queries
from portal.db import db
from portal.tenants.models import SecondFactorPolicy, Tenant
from portal.web.helpers import form_errors_to_fields, get_or_404
from portal.web.navigation import NavItem, add_nav_item
from portal.web.submissions import SubmissionTokenMixin, once_per_submission, record_outcome

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50
ADMIN = frozenset({Role.ADMIN})
add_nav_item(NavItem("admin.users", _l("Users"), ADMIN, 80))
add_nav_item(NavItem("admin.audit_log", _l("Audit log"), ADMIN, 90))
STAFF_ROLES = (Role.ADMIN, Role.STAFF)


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


def _role_choices():
    return [(Role.ADMIN.value, _("Administrator")), (Role.STAFF.value, _("Staff"))]


@bp.route("/users")
@role_required(Role.ADMIN)
def users():
    query = select(User).order_by(User.email)
    search = request.args.get("q", "").strip()
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(User.email.like(pattern) | User.name.ilike(pattern))
    return render_template("admin/users.html", users=db.session.scalars(query).all(), search=search)


class NewUserForm(SubmissionTokenMixin, UserForm):
    """A new user's form, with the token that makes sending it twice harmless."""


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@once_per_submission
def new_user():
    form = NewUserForm()
    form.role.choices = _role_choices()
    if form.validate_on_submit():
        try:
            user = services.invite_user(
                form.email.data, Role(form.role.data), name=form.name.data or ""
            )
            user.active = form.active.data
        except services.AccountError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            if user.active:
                send_password_link(user, "invitation")
                message = _("%(email)s was added and invited by e-mail.", email=user.email)
            else:
                # An invitation to an account that may not log in would only lead to a refusal.
                message = _(
                    "%(email)s was added without access; no invitation was sent.", email=user.email
                )
            record_outcome(url_for("admin.users"))
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<uuid:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_user(user_id: uuid.UUID):
    user = get_or_404(User, user_id)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.role.choices = (
        _role_choices()
        if user.role in STAFF_ROLES
        else [(user.role.value, _("Client") if user.role == Role.CLIENT else _("Supplier"))]
    )
    form.email.render_kw = {"readonly": True}
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        try:
            if user.id == current_user.id and (
                not form.active.data or form.role.data != Role.ADMIN.value
            ):
                raise services.AccountError(
                    _("You cannot take away your own administrator access."), "role"
                )
            services.update_user(
                user, name=form.name.data or "", role=Role(form.role.data), active=form.active.data
            )
        except services.AccountError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            flash(_("The user was saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        has_second_factor=second_factor.has_second_factor(user),
        reset_form=PasswordConfirmForm(),
    )


@bp.route("/users/<uuid:user_id>/second-factor/reset", methods=["POST"])
@role_required(Role.ADMIN)
def reset_second_factor(user_id: uuid.UUID):
    """Remove a user's second factors (they lost their phone or key), after the admin
    re-entered their own password."""
    user = get_or_404(User, user_id)
    form = PasswordConfirmForm()
    if not form.validate_on_submit():
        flash(_("Enter your own password to reset the second factor."), "error")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    try:
        second_factor.reset_second_factors(current_user, form.password.data, user)
    except services.AccountError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    db.session.commit()
    flash(
        _(
            "The second factor of %(email)s was reset; they set up a new one at their next login.",
            email=user.email,
        ),
        "success",
    )
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/login-security", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def login_security():
    """Choose who in the tenant's portal must log in with a second factor."""
    tenant = db.session.get(Tenant, g.tenant.id)
    form = SecondFactorPolicyForm(data={"policy": str(tenant.second_factor_policy)})
    if form.validate_on_submit():
        second_factor.set_policy(tenant, SecondFactorPolicy(form.policy.data))
        db.session.commit()
        flash(_("The login security setting was saved."), "success")
        return redirect(url_for("admin.login_security"))
    return render_template("admin/login_security.html", form=form)


# Every page that shows an entry's changes does so through the one presenter
# (templates/audit/_changes.html).
bp.add_app_template_global(presenting.changes_of, "audit_changes_of")
bp.add_app_template_global(presenting.notes_of, "audit_notes_of")
bp.add_app_template_global(presenting.secret_notes_of, "audit_secret_notes_of")
bp.add_app_template_global(presenting.action_label, "audit_action_label")


@bp.route("/audit")
@role_required(Role.ADMIN)
def audit_log():
    """Show the tenant's audit log, newest first, with its filters; keyset by id."""
    filters = audit_queries.filter_from_args(request.args)
    before = None
    if request.args.get("before"):
        try:
            before = uuid.UUID(request.args["before"])
        except ValueError:
            abort(400)
    entries, next_before = audit_queries.page_of_entries(filters, before, PAGE_SIZE)
    return render_template(
        "admin/audit.html",
        rows=presenting.present(entries),
        filters=filters,
        filter_args=filters.args(),
        who_choices=_audit_who_choices(),
        action_groups=presenting.grouped_actions(),
        type_choices=presenting.object_type_choices(),
        next_before=next_before,
        first_page=before is None,
        tenant_timezone=str(g.tenant.timezone or "UTC"),
    )


def _audit_who_choices() -> list[tuple[str, str]]:
    """Return the "who" filter's choices: the tenant's users, its API tokens, the system."""
    from portal.api.models import ApiToken

    users = db.session.scalars(select(User).order_by(User.name, User.email)).all()
    tokens = db.session.scalars(select(ApiToken).order_by(ApiToken.name)).all()
    return [
        ("system", _("System (no user)")),
        *((f"user:{user.id}", user.display_name) for user in users),
        *((f"token:{token.id}", _("API token %(name)s", name=token.name)) for token in tokens),
    ]


def _audit_table():
    from portal.web.exports import Column, Kind, Table

    def changes(row) -> str:
        return "; ".join(f"{c.label}: {c.old} → {c.new}" for c in row.changes)

    columns = [
        Column(_l("When"), lambda row: row.when, Kind.DATETIME, width=20),
        Column(_l("Who"), lambda row: row.who, width=24),
        Column(_l("API token"), lambda row: row.token, width=18),
        Column(_l("Action"), lambda row: row.action, width=32),
        Column(_l("Object type"), lambda row: row.object_type, width=16),
        Column(_l("Object"), lambda row: row.object_name, width=24),
        Column(_l("Changes"), changes, width=48),
        Column(_l("Notes"), lambda row: "; ".join(row.notes), width=32),
        Column(_l("IP address"), lambda row: row.ip_address, width=16),
    ]
    statement = audit_queries.audit_statement(audit_queries.filter_from_args(request.args))
    return Table(
        _("Audit log"),
        columns,
        statement,
        audit_queries.ORDER,
        prepare=lambda rows: presenting.present_stream(row.AuditEntry for row in rows),
    )


@bp.route("/audit.<any(csv, xlsx):fmt>")
@role_required(Role.ADMIN)
def audit_export(fmt: str):
    """Export the audit log's entries that pass the filters, as CSV or Excel."""
    from portal.web.exports import export_response

    return export_response("audit-log", fmt, _audit_table(), "admin.audit_log")
