"""Switching plugins on and off for a tenant."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit.services import record
from portal.db import db
from portal.plugins.host import current_host
from portal.plugins.models import PluginActivation


def set_plugin_enabled(name: str, enabled: bool) -> bool:
    """Switch plugin ``name`` on or off for the tenant in context; True when it changed.

    The change is audited as ``plugin.enabled`` / ``plugin.disabled``; the caller commits.
    """
    info = current_host().plugins[name]
    activation = db.session.scalar(select(PluginActivation).where(PluginActivation.name == name))
    current = activation.enabled if activation is not None else info.default_enabled
    if current == enabled:
        return False
    if activation is None:
        activation = PluginActivation(name=name, enabled=enabled)
        db.session.add(activation)
    else:
        activation.enabled = enabled
    db.session.flush()
    record(
        "plugin.enabled" if enabled else "plugin.disabled",
        activation,
        changes={"enabled": [current, enabled]},
        details={"plugin": name},
    )
    return True
