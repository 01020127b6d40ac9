"""The branding page in a real browser: a new logo and German text reach every client at
once in the right language, the live preview, inert tenant text, a screenshot per theme."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from portal.themes import available_themes

pytestmark = pytest.mark.browser

PAGE = "/admin/branding"


def logo_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 40), (180, 40, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def loaded(image) -> bool:
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_a_new_logo_and_german_text_reach_each_client_in_their_language(
    page: Page,
    new_context,
    create_branded_tenant,
    create_site_user,
    log_in_as,
    visit,
    submit,
    screenshot_dir,
):
    tenant = create_branded_tenant("nordic")
    english_text = tenant.theme_settings["texts"]["en"]["welcome"]
    admin = create_site_user(tenant, "admin")
    readers = {
        "de": create_site_user(tenant, "client", locale="de"),
        "en": create_site_user(tenant, "client", locale="en"),
    }
    clients = {}
    for language, user in readers.items():
        clients[language] = new_context().new_page()
        log_in_as(clients[language], user)
    expect(clients["de"].locator("main .welcome")).to_have_text(
        tenant.theme_settings["texts"]["de"]["welcome"]
    )

    log_in_as(page, admin)
    visit(page, tenant.url(PAGE))
    form = page.locator("form#branding-form")
    form.locator("input[name=logo]").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": logo_png()}]
    )
    form.locator("textarea[name='texts_de-welcome']").fill(
        "Neu: **alle** Lieferungen auf einen Blick."
    )
    submit(page, form.locator("button[type=submit]"))
    expect(page.locator(".flash-success")).to_have_text("The branding was saved.")
    logo = page.locator("img.brand-logo")
    expect(logo).to_have_attribute("src", re.compile(r"^/branding/logo\?v=[0-9a-f-]{36}$"))
    page.screenshot(path=screenshot_dir / "branding-page.png", full_page=True)

    for language, reader in clients.items():
        visit(reader, tenant.url("/dashboard"))
        welcome = reader.locator("main .welcome")
        if language == "de":
            expect(welcome).to_have_text("Neu: alle Lieferungen auf einen Blick.")
            expect(welcome.locator("strong")).to_have_text("alle")
        else:
            expect(welcome).to_have_text(english_text)
        reader_logo = reader.locator("img.brand-logo")
        expect(reader_logo).to_have_attribute("src", logo.get_attribute("src"))
        assert loaded(reader_logo), f"the new logo did not load for the {language} client"


def test_the_preview_follows_the_colours_and_theme_as_they_are_typed(
    page: Page, create_site_tenant, create_site_user, log_in_as, visit
):
    tenant = create_site_tenant(enabled_locales=["en", "de"])
    log_in_as(page, create_site_user(tenant, "admin"))
    visit(page, tenant.url(PAGE))
    preview = page.locator("#branding-preview")
    header = preview.locator(".preview-header")
    expect(header).to_have_css("background-color", "rgb(31, 78, 121)")  # the saved colour

    page.locator("input#primary").fill("#aa1100")
    expect(header).to_have_css("background-color", "rgb(170, 17, 0)")
    expect(preview.locator(".preview-button")).to_have_css("background-color", "rgb(170, 17, 0)")
    expect(page.locator("input#primary-picker")).to_have_value("#aa1100")
    page.locator("input#accent").fill("#fafa00")
    expect(preview.locator(".preview-card")).to_have_css("background-color", "rgb(250, 250, 0)")

    page.locator("label[for=theme-2]").click()  # the third theme in the list
    third = list(available_themes().values())[2]
    expect(preview.locator("[data-preview-theme]")).to_have_text(str(third.label))
    page.locator("input#primary").fill("")  # empty: the theme's own colour
    expect(page.locator("input#primary")).to_have_attribute(
        "placeholder", third.default_colours["primary"]
    )
    page.locator("input#title").fill("Preview Portal")
    expect(preview.locator("[data-preview-title]")).to_have_text("Preview Portal")
    # Nothing was saved: the page itself still wears the saved colours.
    expect(page.locator("header.site-header")).to_have_css("background-color", "rgb(31, 78, 121)")


def test_hostile_tenant_text_opens_no_dialog(
    page: Page, new_context, create_site_tenant, create_site_user, log_in_as, visit, submit
):
    dialogs = []

    def watch(target: Page) -> Page:
        target.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        return target

    watch(page)
    tenant = create_site_tenant(enabled_locales=["en"])
    log_in_as(page, create_site_user(tenant, "admin"))
    visit(page, tenant.url(PAGE))
    hostile = (
        "<script>alert('script')</script> <img src=x onerror=\"alert('onerror')\"> "
        "[click me](javascript:alert('link')) <svg onload=\"alert('svg')\"></svg>"
    )
    form = page.locator("form#branding-form")
    for name in ("welcome", "login", "footer"):
        form.locator(f"textarea[name='texts_en-{name}']").fill(hostile)
    submit(page, form.locator("button[type=submit]"))
    expect(page.locator(".flash-success")).to_be_visible()

    visit(page, tenant.url("/dashboard"))
    welcome = page.locator("main .welcome")
    expect(welcome).to_contain_text("<script>alert('script')</script>")  # shown as text
    expect(welcome.locator("a, img, svg, script")).to_have_count(0)
    welcome.get_by_text("click me", exact=False).click()
    page.locator(".site-footer").click()

    visitor = watch(new_context().new_page())
    visit(visitor, tenant.url("/login"))
    expect(visitor.locator("main .intro")).to_contain_text("onerror")
    for target in (page, visitor):
        target.wait_for_timeout(300)  # time for any handler that would have run
    assert dialogs == []


@pytest.mark.parametrize("theme", sorted(available_themes()))
def test_screenshot_of_each_themes_dashboard_and_its_branding_page(
    theme, page: Page, create_site_tenant, create_site_user, log_in_as, visit, screenshot_dir
):
    tenant = create_site_tenant(
        theme_settings={
            "theme": theme,
            "texts": {"en": {"welcome": f"Welcome to the **{theme}** theme.", "footer": "Footer"}},
        }
    )
    log_in_as(page, create_site_user(tenant, "admin", name="Ada Admin"))
    expect(page.locator("body")).to_have_class(re.compile(rf"\btheme-{theme}\b"))
    page.screenshot(path=screenshot_dir / f"theme-{theme}.png", full_page=True)
    visit(page, tenant.url(PAGE))  # axe-core checks the branding page in this theme too
    page.screenshot(path=screenshot_dir / f"branding-{theme}.png", full_page=True)


def test_saved_colours_show_on_the_next_page_load(
    page: Page, create_site_tenant, create_site_user, log_in_as, visit, submit
):
    """/theme.css is addressed by the hash of its content: no five minutes of old colours."""
    tenant = create_site_tenant()
    log_in_as(page, create_site_user(tenant, "admin"))
    visit(page, tenant.url("/dashboard"))  # the old stylesheet is now in the browser's cache
    header = page.locator("header.site-header")
    expect(header).to_have_css("background-color", "rgb(31, 78, 121)")

    visit(page, tenant.url(PAGE))
    page.locator("input#primary").fill("#14532d")
    submit(page, page.locator("#branding-form button[type=submit]"))
    expect(page.locator(".flash-success")).to_contain_text("The branding was saved.")
    expect(header).to_have_css("background-color", "rgb(20, 83, 45)")
    visit(page, tenant.url("/dashboard"))
    expect(header).to_have_css("background-color", "rgb(20, 83, 45)")


def test_the_preview_names_the_pairs_that_saving_would_refuse(
    page: Page, create_site_tenant, create_site_user, log_in_as, visit
):
    tenant = create_site_tenant()
    log_in_as(page, create_site_user(tenant, "admin"))
    visit(page, tenant.url(PAGE))
    warnings = page.locator("#branding-preview [data-preview-contrast]")
    expect(warnings.locator("li")).to_have_count(0)
    page.locator("label[for=theme-2]").click()  # night: dark surfaces
    expect(warnings.locator("li")).to_have_count(0)  # its own colours are readable
    page.locator("input#accent").fill("#e8f0f8")  # a pale accent under light text
    page.locator("input#primary").fill("#1f4e79")  # dark links on navy
    expect(warnings).to_contain_text("Body text on accent colour: contrast")
    expect(warnings).to_contain_text("Links (primary colour) on the page background")
    page.locator("label[for=theme-1]").click()  # harbour shows the same colours readably
    expect(warnings.locator("li")).to_have_count(0)
