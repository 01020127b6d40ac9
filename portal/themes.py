"""Themes: folders in ``themes/`` that a tenant picks; each overrides templates and adds CSS.

A theme is ``themes/<name>/`` with a ``theme.toml`` manifest, optional ``templates/`` (any
template of the base layout, by the same name) and ``static/``. A template the theme does
not override comes from the base. The theme of a request is the tenant's choice; the Jinja
environment keeps one template cache per theme, so two tenants on different themes never
see each other's layout.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, abort, g, has_app_context, send_from_directory
from flask.templating import Environment
from jinja2 import ChoiceLoader, FileSystemLoader, Template

from portal.resources import bundled_folder

THEMES_DIR = bundled_folder("themes")
DEFAULT_THEME = "harbour"


@dataclass(frozen=True)
class Theme:
    """A bundled theme as described by its manifest."""

    name: str
    label: str
    description: str
    layout: str
    scheme: str
    path: Path
    stylesheet: str | None
    default_colours: dict[str, str] = field(default_factory=dict)

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
            label=data["label"],
            description=data.get("description", ""),
            layout=data.get("layout", "top"),
            scheme=data.get("scheme", "light"),
            path=folder,
            stylesheet=stylesheet,
            default_colours=data.get("colours", {}),
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


class ThemedEnvironment(Environment):
    """Flask's Jinja environment, looking first in the active theme's templates."""

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
