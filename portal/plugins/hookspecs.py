"""The hooks a plugin may implement: the public contract for plugin authors.

Every hook takes keyword arguments only and is documented here and in ``docs/plugins.md``
(a test fails when a hook lacks either). Implement a hook with ``@portal.plugins.hookimpl``
on a function of the module named by your package's ``portal.plugins`` entry point.
"""

from __future__ import annotations

import pluggy

PROJECT = "portal"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def portal_supplier_integrations():
    """Return the supplier integration classes this plugin offers.

    Called once at start-up. Return a list of :class:`portal.plugins.SupplierIntegration`
    subclasses; each needs a ``key`` that no other plugin uses. Not firstresult: the host
    collects the lists of all plugins. A class that breaks the contract is reported with the
    plugin's name and left out; the plugin's other classes still load.
    """


@hookspec
def portal_mandatory_data_rule_sets():
    """Return the mandatory-data rule set classes this plugin offers.

    Called once at start-up. Return a list of :class:`portal.plugins.RuleSet` subclasses
    with unique keys. Not firstresult; checked like ``portal_supplier_integrations``.
    """


@hookspec
def portal_translation_directories():
    """Return directories holding this plugin's gettext catalogs.

    Called once at start-up. Each directory has the layout
    ``<dir>/<locale>/LC_MESSAGES/messages.mo``. Its strings are merged into the portal's
    ``messages`` domain, so ``gettext`` / ``lazy_gettext`` from Flask-Babel translate them;
    the portal's own catalog wins where both translate a string. Not firstresult.
    """


@hookspec
def portal_template_directories():
    """Return directories holding this plugin's Jinja templates.

    Called once at start-up. They are searched after the theme and the portal's own
    templates, so a plugin cannot replace a portal page by accident; name your templates
    ``<plugin name>/...`` to avoid clashes. Not firstresult.
    """


@hookspec
def portal_purchase_order_event(event):
    """Observe a change of a purchase order.

    Called after the change is committed, for plugins enabled for the order's tenant, with
    ``event`` a :class:`portal.plugins.PurchaseOrderEvent` (tenant slug, order number, the
    action such as ``"sent"`` or ``"confirmed"``, old and new status, and the order as
    :class:`portal.plugins.PurchaseOrderData`). The return value is ignored; an exception is
    logged with the plugin's name and does not undo the change. Not firstresult.
    """


@hookspec
def portal_order_event(event):
    """Observe a change of a client's (outbound) order.

    Called after the change is committed, for plugins enabled for the order's tenant, with
    ``event`` a :class:`portal.plugins.OrderEvent` (tenant slug, order number, action, old and
    new status). The return value is ignored; exceptions are logged. Not firstresult.
    """
