"""Branding services without a request: contrast, Markdown, image and SVG checks."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from portal.branding.models import AssetKind
from portal.branding.services import (
    MARKDOWN_TAGS,
    MAX_SIDE,
    MAX_UPLOAD_BYTES,
    checked_upload,
    contrast_ratio,
    contrast_warnings,
    effective_colours,
    relative_luminance,
    render_markdown,
    settings_changes,
    stylesheet_version,
    theme_stylesheet,
)
from portal.core.errors import DomainError
from portal.themes import available_themes

# --- contrast --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#000000", 21.0),
        ("#777777", "#ffffff", 4.48),
        ("#1f4e79", "#ffffff", 8.66),
        ("#ff0000", "#ffffff", 4.0),
        ("#123456", "#123456", 1.0),
    ],
)
def test_contrast_ratio_matches_wcag(first, second, expected):
    assert contrast_ratio(first, second) == pytest.approx(expected, abs=0.01)


def test_relative_luminance_of_black_white_and_grey():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#FFFFFF") == pytest.approx(1)
    assert relative_luminance("#777777") == pytest.approx(0.1845, abs=0.0001)


def test_contrast_warnings_name_the_pair_and_the_ratio():
    harbour, night = available_themes()["harbour"], available_themes()["night"]
    good = {"primary": "#1f4e79", "primary_text": "#ffffff", "accent": "#e8f0f8"}
    assert contrast_warnings(good, harbour) == []
    warnings = contrast_warnings({**good, "primary": "#777777", "accent": "#333333"}, harbour)
    assert [(str(w.label), w.field) for w in warnings] == [
        ("Text colour on primary colour", "primary_text"),
        ("Body text on accent colour", "accent"),
        ("Links (primary colour) on accent colour", "primary"),
        ("Links (primary colour) on the page background", "primary"),
        ("Links (primary colour) on cards", "primary"),
    ]
    assert warnings[0].shown_ratio == 4.47  # cut, not rounded up to the limit
    # On a dark theme the body text is light, so a dark accent is right.
    assert contrast_warnings({**night.default_colours, "accent": "#1e293b"}, night) == []


def test_every_theme_checks_its_tenant_colours_and_passes_with_its_own():
    for theme in available_themes().values():
        named = {key for pair in theme.contrast for key in (pair.foreground, pair.background)}
        assert {"primary", "primary_text", "accent"} <= named, theme.name
        colours = effective_colours({}, theme)
        assert contrast_warnings(colours, theme) == [], theme.name


def test_the_stylesheet_version_follows_its_content():
    first = theme_stylesheet({"primary": "#1f4e79"})
    assert first == ":root {\n  --primary: #1f4e79;\n}\n"
    assert stylesheet_version(first) == stylesheet_version(theme_stylesheet({"primary": "#1f4e79"}))
    assert stylesheet_version(first) != stylesheet_version(theme_stylesheet({"primary": "#1f4e7a"}))


def test_effective_colours_put_the_tenants_over_the_themes():
    night = available_themes()["night"]
    assert effective_colours({}, night)["primary"] == "#5eead4"
    chosen = effective_colours({"colours": {"primary": "#FF8800", "accent": "red"}}, night)
    assert chosen["primary"] == "#ff8800"
    assert chosen["accent"] == night.default_colours["accent"]


def test_settings_changes_list_every_changed_leaf():
    old = {"theme": "harbour", "colours": {"primary": "#111111"}, "texts": {"en": {"login": "a"}}}
    new = {"theme": "night", "colours": {"primary": "#111111"}, "texts": {"de": {"login": "b"}}}
    assert settings_changes(old, new) == {
        "theme": ["harbour", "night"],
        "texts.en.login": ["a", None],
        "texts.de.login": [None, "b"],
    }


# --- Markdown --------------------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.found.append((tag, dict(attrs)))


def elements_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Return every element of ``html`` with its attributes, as a browser would parse it."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def test_markdown_renders_the_allowed_formatting():
    html = str(
        render_markdown(
            "# Title\n\n**bold** *italic* `code`\n\n- one\n- two\n\n"
            "[site](https://example.com) [mail](mailto:a@example.com)"
        )
    )
    assert "<h2>Title</h2>" in html
    assert "<strong>bold</strong> <em>italic</em> <code>code</code>" in html
    assert "<ul>\n<li>one</li>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer">site</a>' in html
    assert '<a href="mailto:a@example.com" rel="noopener noreferrer">mail</a>' in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
        "[click](JaVaScRiPt:alert(1))",
        '<svg onload="alert(1)"></svg>',
        "<iframe src='https://evil.example'></iframe>",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![img](https://example.com/x.png)",
    ],
)
def test_markdown_makes_html_and_script_links_inert(text):
    elements = elements_of(str(render_markdown(text)))
    assert {tag for tag, _ in elements} <= MARKDOWN_TAGS
    for tag, attributes in elements:
        assert set(attributes) <= ({"href", "rel"} if tag == "a" else set())
        href = attributes.get("href") or ""
        assert href == "" or href.startswith(("https:", "http:", "mailto:")), href


def test_markdown_of_nothing_is_empty():
    assert render_markdown(None) == ""
    assert render_markdown("") == ""


# --- images ----------------------------------------------------------------------------------


def test_a_jpeg_logo_is_reencoded_as_png(make_image):
    content_type, data = checked_upload(AssetKind.LOGO, make_image(image_format="JPEG"))
    assert content_type == "image/png"
    assert data.startswith(b"\x89PNG")


def test_a_favicon_becomes_a_64_pixel_square(make_image):
    from io import BytesIO

    from PIL import Image

    _, data = checked_upload(AssetKind.FAVICON, make_image((300, 100), image_format="WEBP"))
    with Image.open(BytesIO(data)) as image:
        assert (image.format, image.size) == ("PNG", (64, 64))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda _: b"this is not an image", "Logo: the file is not an image that can be read"),
        (lambda _: b"", "Logo: the file is empty"),
        (lambda _: b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "Logo: the file is not an image"),
        (lambda image: image((MAX_SIDE + 1, 2)), "Logo: the image is more than 4000 pixels"),
        (lambda image: image(image_format="GIF"), "Logo: please upload a PNG, JPEG, WebP or SVG"),
        (lambda _: b"\0" * (MAX_UPLOAD_BYTES + 1), "Logo: the file is larger than 1 MB"),
    ],
)
def test_files_that_are_not_acceptable_images_are_refused(make_image, data, message):
    with pytest.raises(DomainError) as refused:
        checked_upload(AssetKind.LOGO, data(make_image))
    assert str(refused.value).startswith(message)
    assert refused.value.field == "logo"


# --- SVG -------------------------------------------------------------------------------------

CLEAN_SVG = (
    b'<?xml version="1.0"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
    b' viewBox="0 0 10 10"><defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/>'
    b'</linearGradient><path id="p" d="M0 0h5v5z"/></defs>'
    b"<style>rect { fill: #123456; }</style>"
    b'<rect width="10" height="10" fill="url(#g)"/><use xlink:href="#p"/></svg>'
)


def svg(body: str, attributes: str = "") -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        f' viewBox="0 0 10 10"{attributes}>{body}</svg>'
    ).encode()


def test_a_clean_svg_is_kept_as_it_is():
    assert checked_upload(AssetKind.LOGO, CLEAN_SVG) == ("image/svg+xml", CLEAN_SVG)


@pytest.mark.parametrize(
    ("data", "part"),
    [
        (svg("<script>alert(1)</script>"), "contains a script (<script>)"),
        (svg("<rect/>", ' onload="alert(1)"'), "contains a script (onload)"),
        (svg('<rect width="1" ONCLICK="alert(1)"/>'), "contains a script (ONCLICK)"),
        (svg('<a href="javascript:alert(1)"><rect/></a>'), "contains a script (href)"),
        (svg("<foreignObject><div/></foreignObject>"), "refers to other content (<foreignObject>)"),
        (svg('<image href="https://evil.example/x.png"/>'), "refers to other content (href)"),
        (svg('<use xlink:href="other.svg#p"/>'), "refers to other content (href)"),
        (svg("<style>@import url(https://x.example/a.css);</style>"), "(<style>)"),
        (svg("<style>rect { fill: url(https://x.example/a) }</style>"), "(<style>)"),
        (svg('<rect style="fill: url(https://x.example/a)"/>'), "refers to other content (style)"),
        (svg('<a><set attributeName="href" to="https://x.example"/></a>'), "(<set>)"),
    ],
)
def test_svg_with_script_or_outside_content_is_refused(data, part):
    with pytest.raises(DomainError) as refused:
        checked_upload(AssetKind.FAVICON, data)
    assert str(refused.value).startswith("Favicon: the SVG image ")
    assert part in str(refused.value)
    assert refused.value.field == "favicon"


@pytest.mark.parametrize(
    "data",
    [
        b"<svg xmlns='http://www.w3.org/2000/svg'><unclosed></svg>",
        b"<html><body>not svg</body></html>",
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "boom">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
        b"<svg>no namespace</svg>",
    ],
)
def test_broken_or_foreign_xml_is_not_an_svg(data):
    with pytest.raises(DomainError, match="Logo: the file is not an SVG image that can be read"):
        checked_upload(AssetKind.LOGO, data)
