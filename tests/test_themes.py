"""Bundled themes: each tenant's pages come in its own theme; missing overrides fall back."""

import re

import pytest

from portal.db import db
from portal.tenants.models import Tenant
from portal.themes import DEFAULT_THEME, available_themes


def body_class(response) -> str:
    return re.search(r'<body class="([^"]*)"', response.get_data(as_text=True)).group(1)


@pytest.fixture
def themed(app, create_tenant):
    def make(theme):
        tenant = create_tenant(theme_settings={"theme": theme} if theme else {})
        return tenant

    return make


def test_at_least_three_themes_that_differ_in_layout_and_look():
    themes = available_themes()
    assert len(themes) >= 3
    assert {"top", "sidebar"} <= {theme.layout for theme in themes.values()}
    assert {"light", "dark"} <= {theme.scheme for theme in themes.values()}
    assert all(theme.stylesheet for theme in themes.values())


def test_each_tenant_gets_its_own_layout_in_one_process(themed, client_for, create_user, login_as):
    sidebar, top = themed("atelier"), themed("harbour")
    for _ in range(2):  # the template cache must keep the two apart, also on the second visit
        assert "layout-sidebar" in body_class(client_for(sidebar).get("/login"))
        assert "layout-top" in body_class(client_for(top).get("/login"))
    page = login_as(create_user(sidebar, "admin"), sidebar).get("/dashboard")
    html = page.get_data(as_text=True)
    assert 'class="sidebar"' in html
    assert "/themes/atelier/atelier.css" in html


def test_templates_a_theme_does_not_override_come_from_the_base(themed, client_for):
    page = client_for(themed("atelier")).get("/login").get_data(as_text=True)
    assert 'name="password"' in page  # accounts/login.html, not overridden by the theme


def test_an_unknown_or_missing_theme_falls_back_to_the_default(themed, client_for):
    for tenant in (themed("no-such-theme"), themed(None)):
        page = client_for(tenant).get("/login")
        assert f"theme-{DEFAULT_THEME}" in body_class(page)


def test_the_dark_theme_links_its_stylesheet(themed, client_for):
    page = client_for(themed("night")).get("/login").get_data(as_text=True)
    assert "/themes/night/night.css" in page
    assert "theme-night" in page


def test_theme_colours_are_the_defaults_under_the_tenants_own(app, themed, client_for):
    tenant = themed("night")
    css = client_for(tenant).get("/theme.css").get_data(as_text=True)
    assert "--primary: #5eead4;" in css
    with app.app_context():
        db.session.get(Tenant, tenant.id).theme_settings = {
            "theme": "night",
            "colours": {"primary": "#ff8800", "accent": "not a colour"},
        }
        db.session.commit()
    css = client_for(tenant).get("/theme.css").get_data(as_text=True)
    assert "--primary: #ff8800;" in css
    assert "not a colour" not in css


def test_theme_static_files(client_for, themed):
    browser = client_for(themed("harbour"))
    with browser.get("/themes/atelier/atelier.css") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"
        assert b".sidebar" in response.get_data()
    assert browser.get("/themes/unknown/x.css").status_code == 404
    assert browser.get("/themes/atelier/../theme.toml").status_code == 404
    assert browser.get("/themes/atelier/%2e%2e/theme.toml").status_code == 404
