"""Plugin forms on the portal's pages: a supplier's integration settings and its rule sets.

Shared by the tenant's supplier pages and the supplier's own portal. Plugins provide plain
:class:`wtforms.Form` classes; the page wraps them in its own form (with the CSRF token)
and renders them with the macro ``plugin_form`` of ``suppliers/_plugin_form.html``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from wtforms import Form

from portal.core.suppliers import services
from portal.core.suppliers.models import Supplier
from portal.plugins.forms import load_config_form, merge_secrets, split_config
from portal.plugins.host import current_host

#: The checkboxes "applies to this supplier", one per rule set key.
RULE_SETS_FIELD = "rule_sets"
#: Prefix of the integration's settings fields.
INTEGRATION_PREFIX = "config"


def rule_set_prefix(key: str) -> str:
    """The field-name prefix of a rule set's settings (keys are unique among plugins)."""
    return f"rule_set_{key}"


@dataclass
class RuleSetChoice:
    """A rule set as the supplier's page shows it: may it apply, does it, with which settings.

    ``available`` is False for a rule set stored for the supplier whose plugin is disabled or
    gone: it is shown as "not available" and kept as it is.
    """

    key: str
    label: str
    description: str
    available: bool
    chosen: bool
    form: Form | None = None


def rule_set_forms(supplier: Supplier, formdata=None) -> list[RuleSetChoice]:
    """Return the enabled rule sets (by label) and then the unavailable stored ones.

    ``formdata`` (the request's form on POST, else None) fills the checkboxes and the
    settings forms; without it they show what is stored.
    """
    available = current_host().enabled_rule_sets()
    stored = {choice.rule_set_key: choice for choice in supplier.rule_sets}
    chosen = set(formdata.getlist(RULE_SETS_FIELD)) if formdata is not None else set(stored)
    choices = []
    for key, cls in sorted(available.items(), key=lambda item: str(item[1].label).lower()):
        form = None
        if cls.settings_form is not None:
            settings = stored[key].settings if key in stored else None
            form = load_config_form(
                cls.settings_form, settings, None, formdata, prefix=rule_set_prefix(key)
            )
        choices.append(
            RuleSetChoice(
                key=key,
                label=str(cls.label),
                description=str(cls.description or ""),
                available=True,
                chosen=key in chosen,
                form=form,
            )
        )
    for key in sorted(set(stored) - set(available)):
        choices.append(
            RuleSetChoice(key=key, label=key, description="", available=False, chosen=True)
        )
    return choices


def save_rule_sets(
    supplier: Supplier, forms: Sequence[RuleSetChoice], chosen_keys: Collection[str]
) -> dict[str, list[Any]] | None:
    """Validate the settings of the chosen rule sets and store them.

    Returns the changes, or None when a settings form has errors (shown on its fields);
    nothing is stored then. Unavailable rule sets stay as they are.
    """
    chosen: dict[str, dict[str, Any]] = {}
    valid = True
    for item in forms:
        if not item.available or item.key not in chosen_keys:
            continue
        settings: dict[str, Any] = {}
        if item.form is not None:
            if not item.form.validate():
                valid = False
                continue
            # Rule-set settings are not secret: secret fields have no place in them.
            settings, _secrets = split_config(item.form)
        chosen[item.key] = settings
    if not valid:
        return None
    keep = {item.key for item in forms if not item.available}
    return services.set_rule_sets(supplier, chosen, keep=keep)


def integration_form(supplier: Supplier, formdata=None) -> Form | None:
    """The supplier's integration's settings form, filled from ``formdata`` or the stored
    settings; None when the integration has no settings or is not enabled."""
    cls = current_host().integration(supplier.integration_key)
    if cls is None or cls.config_form is None:
        return None
    return load_config_form(
        cls.config_form,
        supplier.integration_config,
        supplier.integration_secrets,
        formdata,
        prefix=INTEGRATION_PREFIX,
    )


def save_integration_config(supplier: Supplier, form: Form) -> dict[str, Any] | None:
    """Validate ``form`` and store its settings and secrets; None when it has errors."""
    if not form.validate():
        return None
    plain, secrets = split_config(form)
    merged = merge_secrets(supplier.integration_secrets, secrets)
    return services.set_integration_config(supplier, plain, merged)
