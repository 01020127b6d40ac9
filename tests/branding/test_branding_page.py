"""The branding page: who may use it, what it saves, how it refuses, contrast, reset."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.themes import available_themes

PAGE = "/admin/branding"
ROUTES = [
    ("GET", PAGE),
    ("POST", PAGE),
    ("POST", "/admin/branding/domains"),
    ("POST", "/admin/branding/domains/remove"),
    ("POST", "/admin/branding/domains/check"),
    ("POST", "/admin/branding/reset"),
]


def audit_entries(in_tenant, tenant, action: str) -> list[AuditEntry]:
    with in_tenant(tenant) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


# --- who may enter ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login(client_for, tenant):
    response = client_for(tenant).get(PAGE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["staff", "client", "supplier"])
def test_only_admins_may_use_the_branding_page(create_user, login_as, tenant, role):
    client = login_as(create_user(tenant, role), tenant)
    token = client.csrf_token("/account")
    for method, path in ROUTES:
        data = {"csrf_token": token, "theme": "night", "confirm": "y"} if method == "POST" else None
        assert client.open(path, method=method, data=data).status_code == 403, (method, path)
    assert "/admin/branding" not in client.get("/dashboard").get_data(as_text=True)


def test_the_page_is_not_on_the_platform_host(client_for):
    assert client_for("localhost").get(PAGE).status_code == 404


def test_admins_find_the_page_in_the_menu(branding):
    page = branding.client.get("/dashboard").get_data(as_text=True)
    assert f'href="{PAGE}"' in page
    assert ">Branding</a>" in page


def test_the_page_offers_every_theme_and_a_text_section_per_enabled_language(
    create_tenant, create_user, login_as
):
    tenant = create_tenant(enabled_locales=["en", "de", "nl"], default_locale="en")
    client = login_as(create_user(tenant, "admin"), tenant)
    page = client.get(PAGE).get_data(as_text=True)
    for theme in available_themes().values():
        assert f'value="{theme.name}"' in page
        assert str(theme.label) in page
        assert str(theme.description) in page
    for code, name in (("en", "English"), ("de", "Deutsch"), ("nl", "Nederlands")):
        for key in ("welcome", "welcome_clients", "welcome_suppliers", "welcome_staff"):
            assert f'name="texts_{code}-{key}"' in page
        assert f"<legend>{name}</legend>" in page
    assert 'name="texts_fr-welcome"' not in page
    assert 'type="color"' in page
    assert 'id="branding-preview"' in page
    assert "/static/js/branding.js" in page
    assert "style=" not in page  # the CSP allows no style attributes
    assert "<script>" not in page


# --- saving ----------------------------------------------------------------------------------


def test_saving_stores_every_field_and_the_next_request_shows_it(
    branding, client_for, tenant, saved_settings, in_tenant
):
    visitor = client_for(tenant)
    assert tenant.name in visitor.get("/login").get_data(as_text=True)  # now in the cache
    response = branding.save(
        theme="night",
        title="Harbour Portal",
        primary="#7DD3FC",
        primary_text="#0b1220",
        accent="#1e293b",
        **{
            "texts_en-welcome": "Welcome **everyone**",
            "texts_en-login": "Log in with your work address.",
            "texts_en-footer": "Harbour Ltd · Dock 4",
            "texts_en-help_url": "https://help.example.com/en",
            "texts_en-help_label": "Help centre",
            "texts_de-welcome": "Willkommen",
            "texts_de-login": "",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == PAGE
    assert saved_settings(tenant) == {
        "theme": "night",
        "title": "Harbour Portal",
        "colours": {"primary": "#7dd3fc", "primary_text": "#0b1220", "accent": "#1e293b"},
        "texts": {
            "en": {
                "welcome": "Welcome **everyone**",
                "login": "Log in with your work address.",
                "footer": "Harbour Ltd · Dock 4",
                "help_url": "https://help.example.com/en",
                "help_label": "Help centre",
            },
            "de": {"welcome": "Willkommen"},
        },
    }
    page = branding.get().get_data(as_text=True)
    assert "The branding was saved." in page
    assert 'value="#7dd3fc"' in page

    login = visitor.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<title>Log in · Harbour Portal</title>" in login
    assert "theme-night" in login
    assert "<p>Log in with your work address.</p>" in login
    assert "<p>Harbour Ltd · Dock 4</p>" in login
    assert 'href="https://help.example.com/en" class="help-link">Help centre</a>' in login
    assert "--primary: #7dd3fc;" in visitor.get("/theme.css").get_data(as_text=True)
    dashboard = branding.client.get("/dashboard", headers={"Accept-Language": "en"})
    assert "<p>Welcome <strong>everyone</strong></p>" in dashboard.get_data(as_text=True)

    [entry] = audit_entries(in_tenant, tenant, "branding.updated")
    assert entry.object_type == "Tenant"
    assert entry.changes["theme"] == [None, "night"]
    assert entry.changes["colours.primary"] == [None, "#7dd3fc"]
    assert entry.changes["texts.de.welcome"] == [None, "Willkommen"]


def test_a_second_save_records_old_and_new_values(branding, tenant, in_tenant, saved_settings):
    branding.save(title="First", primary="#111111")
    branding.save(title="Second", theme="atelier")
    assert saved_settings(tenant) == {"theme": "atelier", "title": "Second"}
    last = audit_entries(in_tenant, tenant, "branding.updated")[-1]
    assert last.changes == {
        "theme": ["harbour", "atelier"],
        "title": ["First", "Second"],
        "colours.primary": ["#111111", None],
    }


def test_saving_without_a_change_writes_no_audit_entry(branding, tenant, in_tenant):
    branding.save(title="Same")
    response = branding.save(title="Same")
    assert response.status_code == 302
    assert "Nothing was changed." in branding.get().get_data(as_text=True)
    assert len(audit_entries(in_tenant, tenant, "branding.updated")) == 1


def test_texts_of_languages_no_longer_enabled_are_kept(
    create_tenant, create_user, login_as, saved_settings
):
    tenant = create_tenant(
        enabled_locales=["en"],
        theme_settings={"texts": {"fr": {"welcome": "Bienvenue"}}},
    )
    client = login_as(create_user(tenant, "admin"), tenant)
    client.post(
        PAGE,
        data={
            "csrf_token": client.csrf_token(PAGE),
            "theme": "harbour",
            "texts_en-welcome": "Welcome",
        },
    )
    assert saved_settings(tenant)["texts"] == {
        "fr": {"welcome": "Bienvenue"},
        "en": {"welcome": "Welcome"},
    }


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"primary": "#12345"}, "primary", "Please enter a colour as #rrggbb"),
        ({"accent": "blue"}, "accent", "Please enter a colour as #rrggbb"),
        ({"primary_text": "#ggghhh"}, "primary_text", "Please enter a colour as #rrggbb"),
        ({"theme": "no-such-theme"}, "theme", "Not a valid choice"),
        ({"title": "x" * 101}, "title", "Field cannot be longer than 100 characters."),
        (
            {"texts_en-help_url": "javascript:alert(1)", "texts_en-help_label": "Help"},
            "texts_en-help_url",
            "Please enter an address that starts with https:// or http://.",
        ),
        (
            {"texts_de-help_url": "ftp://files.example.com", "texts_de-help_label": "Hilfe"},
            "texts_de-help_url",
            "Please enter an address that starts with https:// or http://.",
        ),
        (
            {"texts_en-help_url": "https://help.example.com"},
            "texts_en-help_label",
            "Please enter a label for the help link.",
        ),
    ],
)
def test_wrong_values_are_refused_on_their_field(
    branding, tenant, saved_settings, in_tenant, fields, field_id, message
):
    response = branding.save(**fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = page.split(f'id="{field_id}-errors"', 1)
    assert len(errors) == 2, f"no errors shown at {field_id}"
    assert message in errors[1].split("</ul>", 1)[0]
    assert saved_settings(tenant) == {}
    assert audit_entries(in_tenant, tenant, "branding.updated") == []


def test_a_post_without_the_csrf_token_is_refused(branding, tenant, saved_settings):
    response = branding.client.post(PAGE, data={"theme": "night"})
    assert response.status_code == 400
    assert saved_settings(tenant) == {}


# --- contrast --------------------------------------------------------------------------------


def contrast_errors(page: str, field_id: str) -> str:
    parts = page.split(f'id="{field_id}-errors"', 1)
    assert len(parts) == 2, f"no errors shown at {field_id}"
    return parts[1].split("</ul>", 1)[0]


def test_low_contrast_is_refused_naming_the_pair_at_its_field(branding, tenant, saved_settings):
    response = branding.save(primary="#777777", primary_text="#ffffff", accent="#e8f0f8")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = contrast_errors(page, "primary_text")
    assert "Text colour on primary colour: contrast 4.47:1, below 4.5:1" in errors
    # The same grey as links on the theme's light surfaces is too pale as well.
    assert "Links (primary colour) on cards: contrast 4.47:1" in contrast_errors(page, "primary")
    assert 'id="accent-errors"' not in page
    assert saved_settings(tenant) == {}

    response = branding.save(accent="#333333")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Body text on accent colour: contrast 1.31:1, below 4.5:1" in contrast_errors(
        page, "accent"
    )
    assert saved_settings(tenant) == {}


def test_the_check_is_for_the_theme_the_colours_are_shown_in(branding, tenant, saved_settings):
    """Night with a pale accent and a dark primary: light text on a pale box, dark links on
    navy. Harbour shows the same colours readably."""
    colours = {"primary": "#1f4e79", "primary_text": "#ffffff", "accent": "#e8f0f8"}
    response = branding.save(theme="night", **colours)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Body text on accent colour" in contrast_errors(page, "accent")
    links = contrast_errors(page, "primary")
    assert "Links (primary colour) on the page background" in links
    assert "Current menu item (primary colour) in the header" in links
    assert saved_settings(tenant) == {}
    assert branding.save(theme="harbour", **colours).status_code == 302


def test_colours_saved_before_the_check_are_still_warned_about(
    branding, tenant, in_tenant, saved_settings
):
    from portal.tenants.models import Tenant

    with in_tenant(tenant) as session:
        session.get(Tenant, tenant.id).theme_settings = {
            "theme": "harbour",
            "colours": {"primary": "#777777"},
        }
        session.commit()
    page = branding.get().get_data(as_text=True)
    assert "Text colour on primary colour: contrast 4.47:1, below 4.5:1" in page
    assert "contrast-warnings" in page


def test_the_refusal_is_in_the_admins_language(create_user, branding_of, tenant):
    german = branding_of(create_user(tenant, "admin", locale="de"))
    page = german.save(primary="#ff0000", primary_text="#ffffff").get_data(as_text=True)
    assert "Kontrast 3,99:1, unter 4,5:1" in page


def test_the_preview_gets_each_themes_pairs_in_the_admins_language(create_user, login_as, tenant):
    import html
    import json
    import re

    german = login_as(create_user(tenant, "admin", locale="de"), tenant)
    page = german.get(PAGE).get_data(as_text=True)
    found = {
        name: json.loads(html.unescape(pairs))
        for name, pairs in re.findall(r'value="(\w+)"[^>]*data-contrast="([^"]*)"', page)
        + [
            (name, pairs)
            for pairs, name in re.findall(r'data-contrast="([^"]*)"[^>]*value="(\w+)"', page)
        ]
    }
    assert set(found) == set(available_themes())
    for name, theme in available_themes().items():
        assert [pair[1:] for pair in found[name]] == [
            [pair.foreground, pair.background] for pair in theme.contrast
        ]
    assert ["Textfarbe auf der Hauptfarbe", "primary_text", "primary"] in found["harbour"]


def test_the_theme_defaults_raise_no_warning(branding):
    for theme in available_themes():
        branding.save(theme=theme)
        assert "contrast-warnings" not in branding.get().get_data(as_text=True), theme


# --- reset -----------------------------------------------------------------------------------


def test_reset_needs_the_confirmation(branding, tenant, saved_settings):
    branding.save(title="Keep me")
    response = branding.post("/admin/branding/reset")
    assert response.status_code == 422
    assert "Please tick the box to confirm the reset." in response.get_data(as_text=True)
    assert saved_settings(tenant)["title"] == "Keep me"


def test_reset_clears_everything_with_an_audit_entry(
    branding, tenant, saved_settings, in_tenant, client_for, make_image
):
    import io

    branding.save(
        theme="night",
        title="Gone soon",
        primary="#fde68a",
        logo=(io.BytesIO(make_image()), "logo.png"),
        **{"texts_en-welcome": "Hello"},
    )
    logo = saved_settings(tenant)["assets"]["logo"]
    response = branding.post("/admin/branding/reset", confirm="y")
    assert response.status_code == 302
    assert saved_settings(tenant) == {}
    [entry] = audit_entries(in_tenant, tenant, "branding.reset")
    assert entry.changes["title"] == ["Gone soon", None]
    assert entry.changes["assets.logo"] == [logo, None]
    visitor = client_for(tenant)
    assert visitor.get(f"/branding/logo?v={logo}").status_code == 404
    assert "theme-harbour" in visitor.get("/login").get_data(as_text=True)
    assert "The branding was reset to the defaults." in branding.get().get_data(as_text=True)


# --- tenant texts are Markdown, sanitised ----------------------------------------------------

HOSTILE = (
    "Hi <script>alert('x')</script> <img src=x onerror=\"alert('y')\"> "
    "[click](javascript:alert('z'))"
)


def test_hostile_tenant_text_renders_inert_everywhere(branding, tenant, client_for):
    branding.save(
        **{
            "texts_en-welcome": HOSTILE,
            "texts_en-login": HOSTILE,
            "texts_en-footer": HOSTILE,
        }
    )
    pages = [
        client_for(tenant).get("/login", headers={"Accept-Language": "en"}),
        branding.client.get("/dashboard", headers={"Accept-Language": "en"}),
    ]
    for response in pages:
        page = response.get_data(as_text=True)
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert 'href="javascript:' not in page
        assert "&lt;script&gt;alert" in page  # shown as text


# --- the versioned stylesheet ----------------------------------------------------------------


def test_pages_link_a_versioned_stylesheet_that_changes_on_save(branding, client_for, tenant):
    import re

    visitor = client_for(tenant)

    def stylesheet() -> str:
        page = visitor.get("/login").get_data(as_text=True)
        [href] = re.findall(r'href="(/theme\.css\?v=[0-9a-f]+)"', page)
        return href

    before = stylesheet()
    response = visitor.get(before)
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert branding.save(primary="#14532d").status_code == 302
    after = stylesheet()
    assert after != before
    assert "--primary: #14532d;" in visitor.get(after).get_data(as_text=True)
    # An old address (a page still open) gets today's colours, not to be kept.
    old = visitor.get(before)
    assert "--primary: #14532d;" in old.get_data(as_text=True)
    assert old.headers["Cache-Control"] == "no-cache"
    assert visitor.get("/theme.css").headers["Cache-Control"] == "no-cache"


# --- a welcome text per audience -------------------------------------------------------------


def test_each_audience_sees_its_own_welcome_text_or_the_general_one(
    branding, create_user, login_as, tenant, saved_settings
):
    response = branding.save(
        **{
            "texts_en-welcome": "Hello everyone",
            "texts_en-welcome_suppliers": "Hello **suppliers**",
            "texts_en-welcome_staff": "Hello team",
        }
    )
    assert response.status_code == 302
    assert saved_settings(tenant)["texts"]["en"] == {
        "welcome": "Hello everyone",
        "welcome_suppliers": "Hello **suppliers**",
        "welcome_staff": "Hello team",
    }
    seen = {}
    for role in ("client", "supplier", "staff", "admin"):
        browser = login_as(create_user(tenant, role), tenant)
        page = browser.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
        seen[role] = page.split('class="welcome tenant-text">', 1)[1].split("</div>", 1)[0]
    assert seen == {
        "client": "<p>Hello everyone</p>",
        "supplier": "<p>Hello <strong>suppliers</strong></p>",
        "staff": "<p>Hello team</p>",
        "admin": "<p>Hello team</p>",
    }


def test_an_audience_text_in_the_default_language_beats_the_general_one():
    from portal.branding.services import welcome_text
    from portal.tenants.models import Tenant

    row = Tenant(
        slug="x",
        name="X",
        default_locale="en",
        theme_settings={
            "texts": {
                "en": {"welcome": "For clients", "welcome_suppliers": "For suppliers"},
                "de": {"welcome": "Für Kunden"},
            }
        },
    )
    assert welcome_text(row, "suppliers", "de") == "For suppliers"
    assert welcome_text(row, "clients", "de") == "Für Kunden"
    assert welcome_text(row, "staff", "en") == "For clients"
    with pytest.raises(ValueError, match="audience"):
        welcome_text(row, "visitors", "en")
