"""Discover, check and register plugins; tell which are enabled for a tenant.

At start-up :func:`init_app` loads every entry point of the group ``portal.plugins``, registers
it with pluggy, rejects hook implementations without a specification (as pluggy's
``check_pending`` does, but per plugin), and collects the integration and rule-set classes the
plugin offers, checking each against the contract. A plugin that fails any of this is reported
(logged at start-up, listed by ``portal plugins list`` and on the admin page) with its name and
the reason; the portal starts without it.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from flask import Blueprint, Flask, current_app
from sqlalchemy import select
from wtforms import Form

from portal.plugins import hookspecs
from portal.plugins.contracts import RuleSet, SupplierIntegration

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "portal.plugins"
KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
REGISTRATION_HOOKS = ("portal_supplier_integrations", "portal_mandatory_data_rule_sets")


class ContractError(Exception):
    """A plugin offers something that breaks the contract; the message says what."""


@dataclass
class PluginInfo:
    """One loaded plugin and what it offers."""

    name: str
    module: Any
    distribution: str = ""
    version: str = ""
    integrations: list[type[SupplierIntegration]] = field(default_factory=list)
    rule_sets: list[type[RuleSet]] = field(default_factory=list)
    translation_directories: list[str] = field(default_factory=list)
    template_directories: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        doc = inspect.getdoc(self.module) or ""
        return doc.split("\n\n", 1)[0].replace("\n", " ")

    @property
    def default_enabled(self) -> bool:
        """Plugins that every tenant needs (the manual integration) are on unless switched off."""
        return bool(getattr(self.module, "PORTAL_ENABLED_BY_DEFAULT", False))


class PluginHost:
    """The application's pluggy manager and the plugins it accepted."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.failures: dict[str, str] = {}
        self.integrations: dict[str, tuple[str, type[SupplierIntegration]]] = {}
        self.rule_sets: dict[str, tuple[str, type[RuleSet]]] = {}

    # --- loading -----------------------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        for entry_point in sorted(
            importlib.metadata.entry_points(group=group), key=lambda ep: ep.name
        ):
            if entry_point.name in self.plugins or entry_point.name in self.failures:
                continue
            try:
                module = entry_point.load()
            except Exception as error:
                self._fail(entry_point.name, f"cannot be imported: {type(error).__name__}: {error}")
                continue
            dist = entry_point.dist
            self.register(
                entry_point.name,
                module,
                distribution=dist.name if dist else "",
                version=dist.version if dist else "",
            )

    def register(
        self, name: str, module: Any, *, distribution: str = "", version: str = ""
    ) -> PluginInfo | None:
        """Register ``module`` as plugin ``name``; return its info, or None when refused."""
        try:
            self.manager.register(module, name=name)
        except Exception as error:
            self._fail(name, f"refused by pluggy: {error}")
            return None
        info = PluginInfo(name, module, distribution, version)
        try:
            self._check_hooks(name, module)
            for hook_name in REGISTRATION_HOOKS:
                for cls in self._call(name, hook_name):
                    self._accept(info, hook_name, cls)
            info.translation_directories = self._directories(name, "portal_translation_directories")
            info.template_directories = self._directories(name, "portal_template_directories")
        except Exception as error:
            self.manager.unregister(name=name)
            self._forget(name)
            reason = (
                str(error)
                if isinstance(error, ContractError)
                else (f"{type(error).__name__}: {error}")
            )
            self._fail(name, reason)
            return None
        self.plugins[name] = info
        return info

    def unregister(self, name: str) -> None:
        """Remove plugin ``name`` (loaded or failed) and everything it offered."""
        if self.manager.get_plugin(name) is not None:
            self.manager.unregister(name=name)
        self.plugins.pop(name, None)
        self.failures.pop(name, None)
        self._forget(name)

    def _fail(self, name: str, reason: str) -> None:
        self.failures[name] = reason
        log.error("plugin %r was not loaded: %s", name, reason)

    def _forget(self, name: str) -> None:
        for registry in (self.integrations, self.rule_sets):
            for key in [key for key, (owner, _) in registry.items() if owner == name]:
                del registry[key]

    def _check_hooks(self, name: str, module: Any) -> None:
        """Refuse hook implementations that no specification knows (a typo in a hook name)."""
        plugin = self.manager.get_plugin(name)
        for caller in self.manager.get_hookcallers(plugin) or ():
            if caller.spec is None:
                raise ContractError(f"implements {caller.name!r}, which is not a portal hook")

    def _call(self, name: str, hook_name: str) -> list[Any]:
        """Call ``hook_name`` of plugin ``name`` only; return the list it gave (or [])."""
        results = []
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            if impl.plugin_name != name:
                continue
            value = impl.function()
            if value is None:
                continue
            if not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
                raise ContractError(f"{hook_name}() must return a list, got {type(value).__name__}")
            results.extend(value)
        return results

    def _directories(self, name: str, hook_name: str) -> list[str]:
        directories = []
        for value in self._call(name, hook_name):
            path = Path(value)
            if not path.is_dir():
                raise ContractError(f"{hook_name}() names {str(path)!r}, which is not a directory")
            directories.append(str(path))
        return directories

    def _accept(self, info: PluginInfo, hook_name: str, cls: Any) -> None:
        if hook_name == "portal_supplier_integrations":
            base, registry, target, methods, form_attr = (
                SupplierIntegration,
                self.integrations,
                info.integrations,
                ("prepare", "transmit"),
                "config_form",
            )
        else:
            base, registry, target, methods, form_attr = (
                RuleSet,
                self.rule_sets,
                info.rule_sets,
                ("check",),
                "settings_form",
            )
        if not (inspect.isclass(cls) and issubclass(cls, base)):
            raise ContractError(f"{hook_name}() returned {cls!r}, not a {base.__name__} subclass")
        key = getattr(cls, "key", "")
        if not isinstance(key, str) or not KEY.match(key):
            raise ContractError(
                f"{cls.__name__}.key must be lower-case letters, digits, '_', '.' or '-', got {key!r}"
            )
        if key in registry:
            raise ContractError(f"the key {key!r} is already used by plugin {registry[key][0]!r}")
        if not str(cls.label):
            raise ContractError(f"{cls.__name__} has no label")
        for method in methods:
            if getattr(cls, method) is getattr(base, method):
                raise ContractError(f"{cls.__name__} does not implement {method}()")
        form = getattr(cls, form_attr)
        if form is not None and not (inspect.isclass(form) and issubclass(form, Form)):
            raise ContractError(f"{cls.__name__}.{form_attr} must be a wtforms.Form subclass")
        registry[key] = (info.name, cls)
        target.append(cls)

    # --- questions ---------------------------------------------------------------------------

    def owner_of(self, key: str) -> str | None:
        for registry in (self.integrations, self.rule_sets):
            if key in registry:
                return registry[key][0]
        return None

    def translation_directories(self) -> list[str]:
        return [d for info in self.plugins.values() for d in info.translation_directories]

    def enabled_names(self) -> set[str]:
        """The plugins enabled for the current tenant."""
        from portal.plugins.models import PluginActivation

        stored = dict(
            db_session().execute(select(PluginActivation.name, PluginActivation.enabled)).all()
        )
        return {
            name for name, info in self.plugins.items() if stored.get(name, info.default_enabled)
        }

    def integration(self, key: str) -> type[SupplierIntegration] | None:
        """The integration class ``key`` when its plugin is enabled for the current tenant."""
        found = self.integrations.get(key)
        if found is None or found[0] not in self.enabled_names():
            return None
        return found[1]

    def enabled_integrations(self) -> dict[str, type[SupplierIntegration]]:
        enabled = self.enabled_names()
        return {key: cls for key, (owner, cls) in self.integrations.items() if owner in enabled}

    def enabled_rule_sets(self) -> dict[str, type[RuleSet]]:
        enabled = self.enabled_names()
        return {key: cls for key, (owner, cls) in self.rule_sets.items() if owner in enabled}

    def notify(self, hook_name: str, event: Any, enabled: set[str]) -> None:
        """Call observer hook ``hook_name`` of each enabled plugin; one's failure is logged and
        does not stop the others."""
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            if impl.plugin_name not in enabled:
                continue
            try:
                impl.function(event=event)
            except Exception:
                log.exception("plugin %r failed in %s", impl.plugin_name, hook_name)


def db_session():
    from portal.db import db

    return db.session


def current_host() -> PluginHost:
    return current_app.extensions["portal.plugins"]


def init_app(app: Flask, extra: dict[str, ModuleType] | None = None) -> PluginHost:
    """Load the plugins, then make their catalogs and templates known to the application.

    ``PORTAL_PLUGINS`` in the configuration may map further names to modules (tests use it to
    register a plugin without installing a package).
    """
    host = PluginHost()
    if app.config.get("PORTAL_LOAD_ENTRY_POINTS", True):
        host.load_entry_points()
    for name, module in {**app.config.get("PORTAL_PLUGINS", {}), **(extra or {})}.items():
        host.register(name, module)
    app.extensions["portal.plugins"] = host
    for info in host.plugins.values():
        for index, directory in enumerate(info.template_directories):
            # A blueprint's template folder is searched after the application's own.
            app.register_blueprint(
                Blueprint(
                    f"plugin_templates_{info.name}_{index}", __name__, template_folder=directory
                )
            )
    return host
