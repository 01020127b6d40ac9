"""Branding: the tenant's theme, colours, texts per language, logo, favicon and domains.

Everything a tenant admin sets lives in ``Tenant.theme_settings``::

    {"theme": "harbour", "title": "...",
     "colours": {"primary": "#rrggbb", "primary_text": "#rrggbb", "accent": "#rrggbb"},
     "texts": {"<locale>": {"welcome", "welcome_clients", "welcome_suppliers",
                            "welcome_staff", "login", "footer", "help_url", "help_label"}},
     "assets": {"logo": "<BrandingAsset id>", "favicon": "<BrandingAsset id>"}}

The demo's static logos (``"logo": "img/demo/acme.svg"``) are still honoured. Tenant texts
are Markdown, rendered through an HTML sanitiser (:func:`render_markdown`). No request code
here: views pass the tenant row and plain values.
"""

from __future__ import annotations

import copy
import hashlib
import io
import math
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import nh3
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import delete, select

from portal.audit.services import diff, record
from portal.branding.models import AssetKind, BrandingAsset
from portal.core.errors import DomainError, too_long
from portal.db import db, utcnow
from portal.tenants.models import DomainStatus, Tenant, TenantDomain
from portal.tenants.services import DOMAIN as DOMAIN_NAME
from portal.tenants.services import TenantError, add_domain, normalise_domain
from portal.themes import DEFAULT_THEME, ContrastPair, Theme, available_themes

# --- colours ---------------------------------------------------------------------------------

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
COLOUR_KEYS = ("primary", "primary_text", "accent")
DEFAULT_COLOURS = {"primary": "#1f4e79", "primary_text": "#ffffff", "accent": "#e8f0f8"}
MINIMUM_CONTRAST = 4.5  # WCAG 2.x AA for normal text


def effective_colours(settings: dict[str, Any] | None, theme: Theme | None) -> dict[str, str]:
    """Return the colours a page shows: the tenant's own over the theme's over the portal's."""
    colours = {**DEFAULT_COLOURS, **(theme.default_colours if theme else {})}
    for key, value in ((settings or {}).get("colours") or {}).items():
        if key in colours and isinstance(value, str) and COLOUR.match(value):
            colours[key] = value.lower()
    return colours


def theme_stylesheet(colours: dict[str, str]) -> str:
    """Return the tenant's colours as CSS custom properties (the body of ``/theme.css``)."""
    return (
        ":root {\n"
        + "".join(f"  --{key.replace('_', '-')}: {value};\n" for key, value in colours.items())
        + "}\n"
    )


@lru_cache(maxsize=1024)
def stylesheet_version(css: str) -> str:
    """Return a short hash of ``css``: the version in ``/theme.css?v=...``, new on every change."""
    return hashlib.sha256(css.encode()).hexdigest()[:16]


def relative_luminance(colour: str) -> float:
    """Return the WCAG 2.x relative luminance of ``#rrggbb`` (0 for black, 1 for white)."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG 2.x contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class ContrastWarning:
    """Two colours that the theme shows together with too little contrast."""

    pair: ContrastPair
    ratio: float

    @property
    def label(self) -> Any:
        """Return the lazy, translated label naming both colours."""
        return self.pair.label

    @property
    def field(self) -> str:
        """Return the tenant colour to change: the text's, else the surface's."""
        if self.pair.foreground in COLOUR_KEYS:
            return self.pair.foreground
        return self.pair.background

    @property
    def shown_ratio(self) -> float:
        """Return the ratio cut (not rounded) to two decimals: 4.478 must not read 4.5."""
        return math.floor(self.ratio * 100) / 100

    def message(self) -> Any:
        """Return the lazy, translated sentence that names the pair and both ratios."""
        return _l(
            "%(pair)s: contrast %(ratio)s:1, below %(minimum)s:1",
            pair=self.label,
            ratio=format_decimal(self.shown_ratio),
            minimum=format_decimal(MINIMUM_CONTRAST),
        )


class ContrastRefused(DomainError):
    """The colours are hard to read in the chosen theme; ``warnings`` names every pair."""

    def __init__(self, warnings: list[ContrastWarning]) -> None:
        super().__init__(warnings[0].message(), warnings[0].field)
        self.warnings = warnings


def contrast_warnings(colours: dict[str, str], theme: Theme) -> list[ContrastWarning]:
    """Return a warning for each pair the theme shows below :data:`MINIMUM_CONTRAST`."""
    warnings = []
    for pair in theme.contrast:
        ratio = contrast_ratio(*pair.colours(colours))
        if ratio < MINIMUM_CONTRAST:
            warnings.append(ContrastWarning(pair, ratio))
    return warnings


# --- Markdown --------------------------------------------------------------------------------

MARKDOWN_TAGS = frozenset({"p", "br", "strong", "em", "a", "ul", "ol", "li", "h2", "h3", "code"})
LINK_SCHEMES = ("http:", "https:", "mailto:")
# Raw HTML in the Markdown is shown as text, not passed on; the sanitiser is the second wall.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def _only_absolute_links(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value if value.strip().lower().startswith(LINK_SCHEMES) else None
    return value


_SANITISER = nh3.Cleaner(
    tags=set(MARKDOWN_TAGS),
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}},
    attribute_filter=_only_absolute_links,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
    strip_comments=True,
)


@lru_cache(maxsize=1024)
def _markdown_html(text: str) -> str:
    env: dict[str, Any] = {}
    tokens = _MARKDOWN.parse(text, env)
    for token in tokens:
        # The page has its own h1; a tenant's headings start one level below.
        if token.type in ("heading_open", "heading_close"):
            token.tag = "h2" if token.tag in ("h1", "h2") else "h3"
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, env)
    return _SANITISER.clean(html).strip()


def render_markdown(text: str | None) -> Markup:
    """Return tenant-written Markdown as sanitised HTML, safe to put into any page or e-mail.

    Only paragraphs, line breaks, emphasis, lists, ``h2``/``h3``, inline code and links to
    http, https and mailto addresses survive; links get ``rel="noopener noreferrer"``.
    """
    if not text:
        return Markup("")
    return Markup(_markdown_html(str(text)))  # noqa: S704 - sanitised by nh3 just above


# --- uploaded logo and favicon ---------------------------------------------------------------

MAX_UPLOAD_BYTES = 1024 * 1024
MAX_SIDE = 4000
FAVICON_SIZE = 64
LOGO_MAX_SIDE = 1000  # shown 40 pixels high; larger files only cost bandwidth
RASTER_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
SVG_CONTENT_TYPE = "image/svg+xml"
PNG_CONTENT_TYPE = "image/png"
ASSET_LABELS = {AssetKind.LOGO: _l("Logo"), AssetKind.FAVICON: _l("Favicon")}

_SCRIPT_ELEMENTS = frozenset({"script", "handler", "listener"})
_EMBEDDING_ELEMENTS = frozenset({"foreignobject", "iframe", "embed", "object"})
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


def _local_name(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _svg_refusal(kind: AssetKind, part: str, *, script: bool) -> DomainError:
    label = ASSET_LABELS[kind]
    if script:
        message = _l(
            "%(field)s: the SVG image contains a script (%(part)s) and was refused.",
            field=label,
            part=part,
        )
    else:
        message = _l(
            "%(field)s: the SVG image refers to other content (%(part)s) and was refused.",
            field=label,
            part=part,
        )
    return DomainError(message, kind.value)


def check_svg(kind: AssetKind, data: bytes) -> None:
    """Refuse an SVG file unless it is plain drawing: no script, no event attribute, no
    ``foreignObject``, no link outside the file, no style that loads anything."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise DomainError(
            _l(
                "%(field)s: the file is not an SVG image that can be read.",
                field=ASSET_LABELS[kind],
            ),
            kind.value,
        ) from None
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise DomainError(
            _l(
                "%(field)s: the file is not an SVG image that can be read.",
                field=ASSET_LABELS[kind],
            ),
            kind.value,
        )
    for element in root.iter():
        name = _local_name(element.tag)
        if name.lower() in _SCRIPT_ELEMENTS:
            raise _svg_refusal(kind, f"<{name}>", script=True)
        if name.lower() in _EMBEDDING_ELEMENTS:
            raise _svg_refusal(kind, f"<{name}>", script=False)
        if name.lower() == "style" and (
            "url(" in (element.text or "").lower() or "@import" in (element.text or "").lower()
        ):
            raise _svg_refusal(kind, "<style>", script=False)
        for attribute, value in element.attrib.items():
            attribute_name = _local_name(attribute).lower()
            lowered = value.strip().lower()
            if attribute_name.startswith("on"):
                raise _svg_refusal(kind, _local_name(attribute), script=True)
            if "javascript:" in re.sub(r"\s", "", lowered):
                raise _svg_refusal(kind, _local_name(attribute), script=True)
            if attribute_name == "href" and not lowered.startswith("#"):
                raise _svg_refusal(kind, _local_name(attribute), script=False)
            if attribute_name == "attributename" and lowered.rsplit(":", 1)[-1] == "href":
                # <set>/<animate> could give a link a new target after the check.
                raise _svg_refusal(kind, f"<{name}>", script=False)
            if _EXTERNAL_URL.search(value) or "@import" in lowered:
                raise _svg_refusal(kind, _local_name(attribute), script=False)


def _reencoded_raster(kind: AssetKind, data: bytes) -> bytes:
    from PIL import Image, ImageOps, UnidentifiedImageError

    label = ASSET_LABELS[kind]
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in RASTER_FORMATS:
                raise DomainError(
                    _l(
                        "%(field)s: please upload a PNG, JPEG, WebP or SVG image.",
                        field=label,
                    ),
                    kind.value,
                )
            width, height = probe.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise DomainError(
                    _l(
                        "%(field)s: the image is more than %(max)d pixels wide or high.",
                        field=label,
                        max=MAX_SIDE,
                    ),
                    kind.value,
                )
            probe.load()
            image = ImageOps.exif_transpose(probe).convert("RGBA")
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise DomainError(
            _l(
                "%(field)s: the file is not an image that can be read. Please upload a PNG, JPEG, WebP or SVG image.",
                field=label,
            ),
            kind.value,
        ) from None
    if kind == AssetKind.FAVICON:
        image = ImageOps.pad(image, (FAVICON_SIZE, FAVICON_SIZE), color=(0, 0, 0, 0))
    else:
        image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
    output = io.BytesIO()
    # Re-encoding drops whatever else the file carried (metadata, trailing data, scripts).
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def checked_upload(kind: AssetKind, data: bytes) -> tuple[str, bytes]:
    """Return ``(content_type, data)`` to store for an uploaded logo or favicon.

    PNG, JPEG and WebP are decoded and re-encoded as PNG (the favicon as a square of 64 pixels);
    SVG is kept as it is when :func:`check_svg` finds nothing but drawing. Anything else is
    refused with a :class:`DomainError` naming the field.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(
            _l(
                "%(field)s: the file is larger than %(mb)d MB.",
                field=ASSET_LABELS[kind],
                mb=MAX_UPLOAD_BYTES // 1024 // 1024,
            ),
            kind.value,
        )
    if not data:
        raise DomainError(_l("%(field)s: the file is empty.", field=ASSET_LABELS[kind]), kind.value)
    if _looks_like_xml(data):
        check_svg(kind, data)
        return SVG_CONTENT_TYPE, data
    return PNG_CONTENT_TYPE, _reencoded_raster(kind, data)


def find_asset(kind: AssetKind, asset_id: uuid.UUID) -> BrandingAsset | None:
    """Return the current tenant's asset of ``kind`` with ``asset_id`` (tenant-scoped)."""
    return db.session.scalar(
        select(BrandingAsset).where(BrandingAsset.id == asset_id, BrandingAsset.kind == kind)
    )


def asset_id(settings: dict[str, Any] | None, kind: AssetKind) -> str | None:
    """Return the id of the tenant's uploaded ``kind`` file, if there is one."""
    found = ((settings or {}).get("assets") or {}).get(kind.value)
    return found if isinstance(found, str) and found else None


# --- saving ----------------------------------------------------------------------------------

# The welcome text of the dashboard: a general one, and one per audience that replaces it.
AUDIENCES = ("clients", "suppliers", "staff")
WELCOME_KEYS = tuple(f"welcome_{audience}" for audience in AUDIENCES)
TEXT_KEYS = ("welcome", *WELCOME_KEYS, "login", "footer", "help_url", "help_label")
MAX_TEXT = 4000
MAX_TITLE = 100


def valid_link(url: str) -> bool:
    """Tell whether ``url`` is an absolute http or https address."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass
class BrandingChoices:
    """What the admin chose on the branding page. Empty colours mean the theme's own."""

    theme: str
    title: str = ""
    colours: dict[str, str] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    uploads: dict[AssetKind, bytes] = field(default_factory=dict)
    removals: frozenset[AssetKind] = frozenset()


def _flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def settings_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Return ``{"colours.primary": [old, new], ...}`` for every setting that differs."""
    before, after = _flat(old), _flat(new)
    return diff(before, {**dict.fromkeys(before), **after})


def _check(choices: BrandingChoices) -> None:
    if choices.theme not in available_themes():
        raise DomainError(_l("Please choose one of the themes."), "theme")
    if len(choices.title) > MAX_TITLE:
        raise DomainError(too_long(MAX_TITLE), "title")
    for key, value in choices.colours.items():
        if key not in COLOUR_KEYS:
            raise ValueError(f"unknown colour {key!r}")
        if value and not COLOUR.match(value):
            raise DomainError(_l("Please enter a colour as #rrggbb, for example #1f4e79."), key)
    for locale, texts in choices.texts.items():
        for key, value in texts.items():
            if key not in TEXT_KEYS:
                raise ValueError(f"unknown text {key!r}")
            if len(value) > MAX_TEXT:
                raise DomainError(
                    too_long(MAX_TEXT),
                    f"texts_{locale}-{key}",
                )
        if (texts.get("help_url") or "").strip() and not valid_link(texts["help_url"].strip()):
            raise DomainError(
                _l("Please enter an address that starts with https:// or http://."),
                f"texts_{locale}-help_url",
            )


def save_branding(tenant: Tenant, choices: BrandingChoices) -> dict[str, list[Any]]:
    """Store the admin's choices in ``tenant.theme_settings`` with an audit entry.

    Texts of languages the page did not offer (no longer enabled) are kept. Uploaded files
    are checked and stored first; a replaced or removed file is deleted. Returns the changes
    (empty when nothing changed). The caller commits, which also drops the tenant cache.
    """
    _check(choices)
    old = copy.deepcopy(tenant.theme_settings or {})
    new = copy.deepcopy(old)
    new["theme"] = choices.theme
    _set_or_drop(new, "title", choices.title.strip())
    colours = {key: value.lower() for key, value in choices.colours.items() if value}
    _set_or_drop(new, "colours", colours)
    theme = available_themes()[choices.theme]
    # Refused, not only warned about: every page of the portal shows these pairs.
    warnings = contrast_warnings(effective_colours(new, theme), theme)
    if warnings:
        raise ContrastRefused(warnings)
    texts = dict(new.get("texts") or {})
    for locale, values in choices.texts.items():
        kept = {key: value.strip() for key, value in values.items() if value and value.strip()}
        _set_or_drop(texts, locale, kept)
    _set_or_drop(new, "texts", texts)

    assets = dict(new.get("assets") or {})
    replaced = []
    for kind in AssetKind:
        if kind in choices.uploads:
            content_type, data = checked_upload(kind, choices.uploads[kind])
            asset = BrandingAsset(kind=kind, content_type=content_type, data=data)
            db.session.add(asset)
            replaced.append(assets.get(kind.value))
            assets[kind.value] = str(asset.id)
            if kind == AssetKind.LOGO:
                new.pop("logo", None)  # an upload replaces a bundled (demo) logo
        elif kind in choices.removals:
            replaced.append(assets.pop(kind.value, None))
            if kind == AssetKind.LOGO:
                new.pop("logo", None)
    _set_or_drop(new, "assets", assets)
    _delete_assets([found for found in replaced if found])

    changes = settings_changes(old, new)
    if changes:
        tenant.theme_settings = new  # a new dict: JSON columns notice replacement only
        record("branding.updated", tenant, changes=changes)
    return changes


def _set_or_drop(container: dict[str, Any], key: str, value: Any) -> None:
    if value:
        container[key] = value
    else:
        container.pop(key, None)


def _delete_assets(ids: list[str]) -> None:
    wanted = []
    for value in ids:
        try:
            wanted.append(uuid.UUID(value))
        except ValueError:
            continue
    if wanted:
        db.session.execute(delete(BrandingAsset).where(BrandingAsset.id.in_(wanted)))


def reset_branding(tenant: Tenant) -> dict[str, list[Any]]:
    """Forget every branding setting and uploaded file of ``tenant``; the theme's defaults
    apply again. Writes an audit entry with the old values; the caller commits."""
    old = copy.deepcopy(tenant.theme_settings or {})
    db.session.execute(delete(BrandingAsset))  # scoped to the current tenant
    tenant.theme_settings = {}
    changes = settings_changes(old, {})
    record("branding.reset", tenant, changes=changes)
    return changes


def welcome_text(tenant: Tenant, audience: str, locale: str) -> str | None:
    """Return the dashboard's welcome text for ``audience`` ("clients", "suppliers" or
    "staff") in ``locale``.

    The audience's own text comes first (in ``locale``, else the tenant's default language);
    without one, the general welcome text, so a supplier never sees a text written for
    clients only because it exists in a language the other does not.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    return tenant.theme_text(f"welcome_{audience}", locale) or tenant.theme_text("welcome", locale)


def initial_choices(settings: dict[str, Any] | None, locales: list[str]) -> dict[str, Any]:
    """Return the branding page's form data for the saved ``settings``."""
    settings = settings or {}
    theme = settings.get("theme")
    colours = settings.get("colours") or {}
    texts = settings.get("texts") or {}
    data: dict[str, Any] = {
        "theme": theme if theme in available_themes() else DEFAULT_THEME,
        "title": settings.get("title") or "",
    }
    for key in COLOUR_KEYS:
        value = colours.get(key)
        data[key] = value if isinstance(value, str) and COLOUR.match(value) else ""
    for locale in locales:
        saved = texts.get(locale) or {}
        data[f"texts_{locale}"] = {key: saved.get(key) or "" for key in TEXT_KEYS}
    return data


# --- custom domains --------------------------------------------------------------------------


def add_custom_domain(tenant: Tenant, domain: str) -> TenantDomain:
    """Register ``domain`` for ``tenant``, pending until its ownership is proved, with an
    audit entry; refusals name the field."""
    try:
        entry = add_domain(tenant, domain)
    except TenantError as error:
        raise DomainError(error.args[0], "domain") from None
    record(
        "tenant.domain_added",
        tenant,
        changes={"domain": [None, entry.domain]},
        details={"status": entry.status.value},
    )
    return entry


def _own_domain(tenant: Tenant, domain: str) -> TenantDomain:
    """Return ``tenant``'s domain ``domain``; another tenant's is refused as unknown."""
    name = normalise_domain(domain)
    # What is no domain name is nobody's domain, and is never sent to the database.
    entry = db.session.get(TenantDomain, name) if DOMAIN_NAME.match(name) else None
    if entry is None or entry.tenant_id != tenant.id:
        raise DomainError(_l("%(domain)s is not a domain of this portal.", domain=name), "domain")
    return entry


def check_custom_domain(tenant: Tenant, domain: str) -> TenantDomain:
    """Have ``tenant``'s pending or failed ``domain`` checked as soon as the worker can; a
    failed one starts a new checking period. The caller commits, then queues the check
    (:func:`portal.tenants.domains.queue_domain_checks`)."""
    entry = _own_domain(tenant, domain)
    if entry.status == DomainStatus.VERIFIED:
        raise DomainError(_l("%(domain)s is verified already.", domain=entry.domain), "domain")
    now = utcnow()
    if entry.status == DomainStatus.FAILED:
        entry.status = DomainStatus.PENDING
        entry.pending_since = now
        entry.check_count = 0
        record(
            "tenant.domain_check_restarted",
            tenant,
            changes={"status": ["failed", "pending"]},
            details={"domain": entry.domain},
        )
    entry.next_check_at = now
    return entry


def remove_custom_domain(tenant: Tenant, domain: str, *, in_use: str | None = None) -> str:
    """Stop serving ``tenant``'s portal under ``domain``, with an audit entry; return the
    domain as stored.

    ``in_use`` is the host the admin is working on: removing it would lock them out.
    """
    entry = _own_domain(tenant, domain)
    name = entry.domain
    if in_use is not None and normalise_domain(in_use) == name:
        raise DomainError(
            _l("You are using %(domain)s right now, so it cannot be removed here.", domain=name),
            "domain",
        )
    status = entry.status.value
    tenant.domains.remove(entry)  # delete-orphan: the row goes at the next flush
    record(
        "tenant.domain_removed",
        tenant,
        changes={"domain": [name, None]},
        details={"status": status},
    )
    return name
