"""Themes: folders in ``themes/`` that a tenant picks; each overrides templates and adds CSS.

A theme is ``themes/<name>/`` with a ``theme.toml`` manifest, optional ``templates/`` (any
template of the base layout, by the same name) and ``static/``. A template the theme does
not override comes from the base. The theme of a request is the tenant's choice; the Jinja
environment keeps one template cache per theme, so two tenants on different themes never
see each other's layout.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, g, has_app_context, send_from_directory
from flask.templating import Environment
from flask_babel import lazy_gettext as _l
from jinja2 import ChoiceLoader, FileSystemLoader, Template, nodes
from jinja2.compiler import CodeGenerator
from jinja2.optimizer import Optimizer
from jinja2.visitor import NodeTransformer

from portal.resources import bundled_folder

THEMES_DIR = bundled_folder("themes")
DEFAULT_THEME = "harbour"
TENANT_COLOURS = ("primary", "primary_text", "accent")
_FIXED_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

# What a theme may name in its ``[contrast]`` table: the places where it puts text on a
# tenant colour (or a tenant colour on its own surfaces). The branding page names the pair.
CONTRAST_PAIRS = {
    "text_on_primary": _l("Text colour on primary colour"),
    "body_on_accent": _l("Body text on accent colour"),
    "links_on_accent": _l("Links (primary colour) on accent colour"),
    "links_on_page": _l("Links (primary colour) on the page background"),
    "links_on_cards": _l("Links (primary colour) on cards"),
    "title_in_sidebar": _l("Portal title (primary colour) in the sidebar"),
    "menu_item_in_header": _l("Current menu item (primary colour) in the header"),
}


@dataclass(frozen=True)
class ContrastPair:
    """Two colours a theme shows together: each a tenant colour key or a fixed ``#rrggbb``."""

    name: str
    foreground: str
    background: str

    @property
    def label(self):
        return CONTRAST_PAIRS[self.name]

    def colours(self, tenant_colours: dict[str, str]) -> tuple[str, str]:
        """Return the two colours as ``#rrggbb`` with the tenant's colours filled in."""
        return (
            tenant_colours.get(self.foreground, self.foreground),
            tenant_colours.get(self.background, self.background),
        )


def _contrast_pairs(folder: Path, table: dict[str, Any]) -> tuple[ContrastPair, ...]:
    pairs = []
    for name, colours in table.items():
        if name not in CONTRAST_PAIRS:
            raise RuntimeError(f"theme {folder.name}: unknown contrast pair {name!r}")
        if not isinstance(colours, list) or len(colours) != 2:
            raise RuntimeError(f"theme {folder.name}: contrast {name} needs two colours")
        for colour in colours:
            if colour not in TENANT_COLOURS and not _FIXED_COLOUR.match(str(colour)):
                raise RuntimeError(f"theme {folder.name}: contrast {name}: bad colour {colour!r}")
        pairs.append(ContrastPair(name, colours[0].lower(), colours[1].lower()))
    if not any(set(TENANT_COLOURS) & {pair.foreground, pair.background} for pair in pairs):
        raise RuntimeError(f"theme {folder.name}: [contrast] names no tenant colour")
    return tuple(pairs)


@dataclass(frozen=True)
class Theme:
    """A bundled theme as described by its manifest."""

    name: str
    label: Any  # lazy: the manifest's text is a msgid (see extract_theme_manifests)
    description: Any
    layout: str
    scheme: str
    path: Path
    stylesheet: str | None
    default_colours: dict[str, str] = field(default_factory=dict)
    contrast: tuple[ContrastPair, ...] = ()

    @property
    def templates(self) -> Path:
        return self.path / "templates"


@cache
def available_themes() -> dict[str, Theme]:
    """Return the bundled themes by name, read once from ``themes/*/theme.toml``."""
    themes = {}
    for manifest in sorted(THEMES_DIR.glob("*/theme.toml")):
        data = tomllib.loads(manifest.read_text())
        folder = manifest.parent
        stylesheet = data.get("stylesheet")
        if stylesheet and not (folder / "static" / stylesheet).is_file():
            raise RuntimeError(f"theme {folder.name}: missing static/{stylesheet}")
        themes[folder.name] = Theme(
            name=folder.name,
            # Translated when shown: the manifest's English is the msgid.
            label=_l(data["label"]),
            description=_l(data["description"]) if data.get("description") else "",
            layout=data.get("layout", "top"),
            scheme=data.get("scheme", "light"),
            path=folder,
            stylesheet=stylesheet,
            default_colours=data.get("colours", {}),
            contrast=_contrast_pairs(folder, data.get("contrast") or {}),
        )
    if DEFAULT_THEME not in themes:
        raise RuntimeError(f"the default theme {DEFAULT_THEME!r} is missing from {THEMES_DIR}")
    return themes


def theme_for(tenant) -> Theme:
    """Return the theme the tenant chose, or the default one."""
    themes = available_themes()
    chosen = (tenant.theme_settings or {}).get("theme") if tenant is not None else None
    return themes.get(chosen) or themes[DEFAULT_THEME]


def active_theme() -> Theme | None:
    """Return the theme of the current request (None outside requests and tenants)."""
    if not has_app_context():
        return None
    return g.get("theme")


def extract_theme_manifests(
    fileobj, keywords, comment_tags, options
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Yield the label and description of a ``theme.toml`` as msgids, for Babel.

    babel.cfg maps ``themes/*/theme.toml`` to this function, so ``make messages`` and the
    catalog tests see the themes' texts like any ``_()`` in the code.
    """
    text = fileobj.read().decode("utf-8")
    data = tomllib.loads(text)
    for key in ("label", "description"):
        value = data.get(key)
        if value:
            lineno = next(
                (n for n, line in enumerate(text.splitlines(), 1) if line.startswith(key)), 1
            )
            yield lineno, "gettext", value, [f"theme.toml {key}"]


def _runs_filters(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Filter | nodes.Test) or (
        node.find(nodes.Filter) is not None or node.find(nodes.Test) is not None
    )


class _RenderTimeOptimizer(Optimizer):
    """Jinja's optimizer, leaving alone every expression that runs a filter or a test."""

    def generic_visit(self, node, *args, **kwargs):
        if isinstance(node, nodes.Expr) and _runs_filters(node):
            return NodeTransformer.generic_visit(self, node, *args, **kwargs)
        return super().generic_visit(node, *args, **kwargs)


class RenderTimeCodeGenerator(CodeGenerator):
    """Jinja's code generator with filters and tests always run when a page is rendered.

    Jinja folds a filter on a literal (``'draft'|purchase_order_status``) into a constant when
    it compiles the template, which would freeze the language of whichever request compiled it
    first. Many of our filters translate, so none is evaluated at compile time.
    """

    def __init__(self, environment, *args, **kwargs) -> None:
        super().__init__(environment, *args, **kwargs)
        if self.optimizer is not None:
            self.optimizer = _RenderTimeOptimizer(environment)

    def _output_child_to_const(self, node, frame, finalize):
        if _runs_filters(node):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)


class ThemedEnvironment(Environment):
    """Flask's Jinja environment, looking first in the active theme's templates."""

    code_generator_class = RenderTimeCodeGenerator

    def __init__(self, app, **options) -> None:
        super().__init__(app, **options)
        self._theme_loaders: dict[str, ChoiceLoader] = {}

    def _loader_for(self, theme: Theme) -> ChoiceLoader:
        loader = self._theme_loaders.get(theme.name)
        if loader is None:
            loader = ChoiceLoader([FileSystemLoader(theme.templates), self.loader])
            self._theme_loaders[theme.name] = loader
        return loader

    def _load_template(self, name, globals) -> Template:
        theme = active_theme()
        if theme is None or not theme.templates.is_dir():
            return super()._load_template(name, globals)
        # One cache entry per theme and name: the base cache key is the name alone.
        key = ("theme", theme.name, name)
        if self.cache is not None:
            template = self.cache.get(key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        template = self._loader_for(theme).load(self, name, self.make_globals(globals))
        if self.cache is not None:
            self.cache[key] = template
        return template


bp = Blueprint("themes", __name__, url_prefix="/themes")


@bp.route("/<theme>/<path:filename>", endpoint="static")
def theme_static(theme: str, filename: str):
    """Serve a bundled theme's static file."""
    found = available_themes().get(theme)
    if found is None:
        abort(404)
    response = send_from_directory(found.path / "static", filename, max_age=3600)
    return response


def init_app(app: Flask) -> None:
    available_themes()  # fail at start-up on a broken theme, not on the first page

    @app.before_request
    def _choose_theme() -> None:
        g.theme = theme_for(g.get("tenant")) if g.get("tenant") is not None else None

    @app.context_processor
    def _theme_context():
        return {"theme": g.get("theme")}
