"""Tenant admin: the installed plugins, which of them are enabled, and those that failed.

A plugin is enabled per tenant (a :class:`~portal.plugins.models.PluginActivation` row);
without a row, plugins marked ``PORTAL_ENABLED_BY_DEFAULT`` (the manual integration) are on
and all others off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField
from wtforms.validators import DataRequired

from portal.accounts.login import role_required
from portal.accounts.models import Role
from portal.core.suppliers import services as supplier_services
from portal.db import db
from portal.plugins.host import PluginInfo, current_host
from portal.plugins.models import PluginActivation
from portal.plugins.services import set_plugin_enabled
from portal.web.navigation import NavItem, add_nav_item

bp = Blueprint("admin_plugins", __name__, url_prefix="/admin/plugins")
add_nav_item(
    NavItem("admin_plugins.index", _l("Plugins"), frozenset({Role.ADMIN}), 85, "admin_plugins.")
)


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


class SwitchForm(FlaskForm):
    """Enable or disable one plugin (the button's form)."""

    name = HiddenField(validators=[DataRequired()])


@dataclass
class Offer:
    """An integration or rule set a plugin offers, and how many suppliers use it."""

    key: str
    label: str
    description: str
    suppliers: int = 0


def plugin_label(info: PluginInfo) -> str:
    """Return the name people read for a plugin, in the request's language.

    A plugin module may set ``PORTAL_LABEL`` (a lazy string of its own catalog); a plugin
    that offers a single integration or rule set is called by that offer's label; else its
    code.
    """
    label = getattr(info.module, "PORTAL_LABEL", None)
    if label:
        return str(label)
    offers = [*info.integrations, *info.rule_sets]
    if len(offers) == 1 and offers[0].label:
        return str(offers[0].label)
    return info.name


def plugin_description(info: PluginInfo) -> str:
    """Return what the plugin is for, in the request's language where it can say it.

    ``PORTAL_DESCRIPTION`` of the module (a lazy string) first. The module's docstring is
    written for developers, in English: it is shown only when no offer of the plugin
    describes itself (translated) on the page.
    """
    description = getattr(info.module, "PORTAL_DESCRIPTION", None)
    if description:
        return str(description)
    if any(offer.description for offer in [*info.integrations, *info.rule_sets]):
        return ""
    return info.description


@dataclass
class PluginRow:
    info: PluginInfo
    enabled: bool
    switched: bool  # the tenant switched it explicitly (else: the default applies)
    integrations: list[Offer] = field(default_factory=list)
    rule_sets: list[Offer] = field(default_factory=list)

    @property
    def label(self) -> str:
        return plugin_label(self.info)

    @property
    def description(self) -> str:
        return plugin_description(self.info)


def _rows() -> list[PluginRow]:
    host = current_host()
    enabled = host.enabled_names()
    switched = set(db.session.scalars(select(PluginActivation.name)))
    integration_use, rule_set_use = supplier_services.usage_counts()
    rows = []
    for name, info in sorted(host.plugins.items()):
        rows.append(
            PluginRow(
                info=info,
                enabled=name in enabled,
                switched=name in switched,
                integrations=[
                    Offer(
                        cls.key,
                        str(cls.label),
                        str(cls.description or ""),
                        integration_use.get(cls.key, 0),
                    )
                    for cls in info.integrations
                ],
                rule_sets=[
                    Offer(
                        cls.key,
                        str(cls.label),
                        str(cls.description or ""),
                        rule_set_use.get(cls.key, 0),
                    )
                    for cls in info.rule_sets
                ],
            )
        )
    return rows


@bp.route("/")
@role_required(Role.ADMIN)
def index():
    return render_template(
        "admin/plugins.html",
        plugins=_rows(),
        failures=sorted(current_host().failures.items()),
    )


def _switch(enabled: bool):
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    name = form.name.data
    info = current_host().plugins.get(name)
    if info is None:
        abort(404)
    changed = set_plugin_enabled(name, enabled)
    db.session.commit()
    if not changed:
        flash(_("Nothing was changed."), "info")
    elif enabled:
        flash(_("The plugin %(name)s is enabled.", name=plugin_label(info)), "success")
    else:
        flash(_("The plugin %(name)s is disabled.", name=plugin_label(info)), "success")
        _warn_about_suppliers(info)
    return redirect(url_for("admin_plugins.index"))


def _warn_about_suppliers(info: PluginInfo) -> None:
    """Name the suppliers that can no longer be sent purchase orders until fixed."""
    names = ", ".join(
        supplier.name
        for supplier in supplier_services.suppliers_using_integrations(
            [cls.key for cls in info.integrations]
        )
    )
    if names:
        flash(
            _(
                "These suppliers use an integration of %(plugin)s and cannot be sent purchase orders until you enable it again or choose another integration for them: %(suppliers)s",
                plugin=plugin_label(info),
                suppliers=names,
            ),
            "error",
        )
    names = ", ".join(
        supplier.name
        for supplier in supplier_services.suppliers_using_rule_sets(
            [cls.key for cls in info.rule_sets]
        )
    )
    if names:
        flash(
            _(
                "These suppliers have a rule set of %(plugin)s and cannot be sent purchase orders until you enable it again or take the rule set off: %(suppliers)s",
                plugin=plugin_label(info),
                suppliers=names,
            ),
            "error",
        )


@bp.route("/enable", methods=["POST"])
@role_required(Role.ADMIN)
def enable():
    return _switch(True)


@bp.route("/disable", methods=["POST"])
@role_required(Role.ADMIN)
def disable():
    return _switch(False)
