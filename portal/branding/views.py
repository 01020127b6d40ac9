"""The tenant admin's branding page, the uploaded logo and favicon, and branding helpers
for templates (the ``markdown`` filter, asset addresses, e-mail branding)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.accounts.links import public_url
from portal.accounts.login import role_required
from portal.accounts.models import Role
from portal.branding.forms import (
    CheckDomainForm,
    DomainForm,
    RemoveDomainForm,
    ResetForm,
    branding_form,
)
from portal.branding.models import AssetKind
from portal.branding.services import (
    COLOUR_KEYS,
    MAX_UPLOAD_BYTES,
    MINIMUM_CONTRAST,
    SVG_CONTENT_TYPE,
    BrandingChoices,
    ContrastRefused,
    add_custom_domain,
    asset_id,
    check_custom_domain,
    contrast_warnings,
    effective_colours,
    find_asset,
    initial_choices,
    remove_custom_domain,
    render_markdown,
    reset_branding,
    save_branding,
    stylesheet_version,
    theme_stylesheet,
)
from portal.core.errors import DomainError
from portal.db import db
from portal.i18n import enabled_locales, html_lang
from portal.tenants import domains as domain_checks
from portal.tenants.models import Tenant
from portal.tenants.resolver import host_name
from portal.themes import available_themes, theme_for
from portal.web.helpers import form_errors_to_fields
from portal.web.navigation import NavItem, add_nav_item
from portal.web.submissions import once_per_submission, record_outcome

bp = Blueprint("branding", __name__)

add_nav_item(NavItem("branding.edit", _l("Branding"), frozenset({Role.ADMIN}), 85))

# An uploaded SVG is shown as an image; should someone open it directly, it may not run or
# load anything.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
ASSET_MAX_AGE = 365 * 24 * 3600


@bp.before_request
def _tenant_only():
    if g.get("tenant") is None:
        abort(404)


bp.add_app_template_filter(render_markdown, "markdown")


# --- helpers for every page and e-mail -------------------------------------------------------


def asset_url(kind: str, *, external: bool = False) -> str | None:
    """Return the address of the tenant's logo or favicon, or None when it has none.

    An uploaded file is addressed with its id (``/branding/logo?v=<id>``), so a new upload
    is a new address and browsers may keep each one for good. A bundled logo (the demo's)
    is a static file.
    """
    tenant = g.get("tenant")
    if tenant is None:
        return None

    def address(endpoint: str, **values) -> str:
        # For e-mails: the tenant's public address, never the request's host (which may be
        # anything the sender typed), and the same in a worker without a request.
        if external:
            return public_url(endpoint, tenant=tenant, **values)
        return url_for(endpoint, **values)

    settings = tenant.theme_settings or {}
    found = asset_id(settings, AssetKind(kind))
    if found:
        return address("branding.asset", kind=kind, v=found)
    if kind == AssetKind.LOGO and isinstance(settings.get("logo"), str) and settings["logo"]:
        return address("static", filename=settings["logo"])
    return None


@bp.app_template_global()
def theme_stylesheet_url() -> str:
    """Return the address of the tenant's ``/theme.css`` with the version of its content.

    A saved colour changes the address, so the next page loads the new colours; each address
    may be cached for good (see ``web.views.theme_css``).
    """
    css = theme_stylesheet(effective_colours(g.tenant.theme_settings, g.get("theme")))
    return url_for("web.theme_css", v=stylesheet_version(css))


@bp.app_template_global()
def email_branding() -> dict[str, Any]:
    """Return what the e-mail layout shows of the tenant: name, logo, colours, footer."""
    tenant = g.tenant
    return {
        "name": tenant.name,
        "logo_url": asset_url("logo", external=True),
        "colours": effective_colours(tenant.theme_settings, theme_for(tenant)),
        "footer": tenant.theme_text("footer", str(get_locale())),
    }


# --- the logo and favicon --------------------------------------------------------------------


@bp.route("/branding/<any(logo, favicon):kind>")
def asset(kind: str):
    """Serve the tenant's uploaded logo or favicon; public on the tenant's host."""
    wanted = request.args.get("v") or asset_id(g.tenant.theme_settings, AssetKind(kind))
    try:
        wanted_id = uuid.UUID(str(wanted)) if wanted else None
    except ValueError:
        wanted_id = None
    found = find_asset(AssetKind(kind), wanted_id) if wanted_id else None
    if found is None:
        abort(404)
    response = Response(found.data)
    # Set as it is: Werkzeug would add a charset to image/svg+xml.
    response.headers["Content-Type"] = found.content_type
    if request.args.get("v"):
        # The id is in the address and a file never changes under its id.
        response.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Disposition"] = "inline"
    if found.content_type == SVG_CONTENT_TYPE:
        response.headers["Content-Security-Policy"] = SVG_POLICY
    response.set_etag(str(found.id))
    return response.make_conditional(request)


# --- the branding page -----------------------------------------------------------------------


def _tenant() -> Tenant:
    return db.session.get(Tenant, g.tenant.id)


def _theme_choices() -> list[tuple[str, str]]:
    return [(name, theme.label) for name, theme in available_themes().items()]


def _new_branding_form(tenant: Tenant):
    form_class = branding_form(enabled_locales())
    if request.method == "POST" and request.endpoint == "branding.edit":
        form = form_class()
    else:
        form = form_class(data=initial_choices(tenant.theme_settings, enabled_locales()))
    form.theme.choices = _theme_choices()
    for locale, texts in form.text_forms():
        for text in texts:
            # The text is written in that language, whatever the language of the page.
            text.render_kw = {**(text.render_kw or {}), "lang": html_lang(locale)}
    return form


def _render_page(tenant: Tenant, *, form=None, domain_form=None, reset_form=None, status=200):
    theme = theme_for(tenant)
    colours = effective_colours(tenant.theme_settings, theme)
    return render_template(
        "branding/edit.html",
        form=form or _new_branding_form(tenant),
        domain_form=domain_form or DomainForm(formdata=None),
        reset_form=reset_form or ResetForm(formdata=None),
        tenant=tenant,
        themes=available_themes(),
        saved_theme=theme,
        saved_colours=colours,
        warnings=contrast_warnings(colours, theme),
        contrast_checks={
            name: _contrast_checks(found) for name, found in available_themes().items()
        },
        # A variable, not a literal: Jinja would format a literal once, in no one's locale.
        minimum_contrast=MINIMUM_CONTRAST,
        colour_keys=COLOUR_KEYS,
        current_host=host_name(request.host),
        domain_rows=_domain_rows(tenant),
    ), status


def _domain_rows(tenant: Tenant) -> list[dict[str, Any]]:
    """Return per custom domain what its row shows: the state, what was found at the last
    check, and what to publish to prove ownership."""
    return [
        {
            "entry": entry,
            "findings": [domain_checks.finding_message(found) for found in entry.findings or ()],
            "record_name": domain_checks.challenge_name(entry.domain),
            "record_value": domain_checks.challenge_value(entry.verification_token),
            "file_urls": domain_checks.well_known_urls(entry.domain, entry.verification_token),
            "token": entry.verification_token,
        }
        for entry in tenant.domains
    ]


def _contrast_checks(theme) -> str:
    """Return the theme's colour pairs as JSON for the live preview (branding.js)."""
    return json.dumps(
        [[str(pair.label), pair.foreground, pair.background] for pair in theme.contrast]
    )


def _upload(field) -> bytes | None:
    upload = field.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    # One byte more than allowed is enough to tell that a file is too large.
    return upload.read(MAX_UPLOAD_BYTES + 1)


def _choices(form) -> BrandingChoices:
    uploads = {}
    for kind in AssetKind:
        data = _upload(form[kind.value])
        if data is not None:
            uploads[kind] = data
    return BrandingChoices(
        theme=form.theme.data or "",
        title=form.title.data or "",
        colours={key: form[key].data or "" for key in COLOUR_KEYS},
        texts={
            locale: {key: value or "" for key, value in texts.data.items()}
            for locale, texts in form.text_forms()
        },
        uploads=uploads,
        removals=frozenset(kind for kind in AssetKind if form[f"remove_{kind.value}"].data),
    )


@bp.route("/admin/branding", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit():
    tenant = _tenant()
    form = _new_branding_form(tenant)
    if form.validate_on_submit():
        try:
            changes = save_branding(tenant, _choices(form))
        except ContrastRefused as refusal:
            db.session.rollback()
            for warning in refusal.warnings:
                form[warning.field].errors = [*form[warning.field].errors, str(warning.message())]
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        else:
            db.session.commit()
            if changes:
                flash(_("The branding was saved."), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("branding.edit"))
    return _render_page(tenant, form=form, status=422 if request.method == "POST" else 200)


@bp.route("/admin/branding/domains", methods=["POST"])
@role_required(Role.ADMIN)
@once_per_submission
def add_domain():
    tenant = _tenant()
    form = DomainForm()
    if form.validate_on_submit():
        try:
            entry = add_custom_domain(tenant, form.domain.data)
            name = entry.domain
            record_outcome(url_for("branding.edit", _anchor="domains"))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            form_errors_to_fields(form, error)
        except IntegrityError:
            # Someone added the same name at the same moment (another tenant, or this admin
            # in another tab): the primary key let one of the two in.
            db.session.rollback()
            form.domain.errors = [_("The domain %(domain)s is already in use.", domain=name)]
        else:
            flash(_("The domain %(domain)s was added.", domain=name), "success")
            return redirect(url_for("branding.edit", _anchor="domains"))
    return _render_page(tenant, domain_form=form, status=422)


@bp.route("/admin/branding/domains/remove", methods=["POST"])
@role_required(Role.ADMIN)
def remove_domain():
    tenant = _tenant()
    form = RemoveDomainForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        removed = remove_custom_domain(tenant, form.domain.data, in_use=host_name(request.host))
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("The domain %(domain)s was removed.", domain=removed), "success")
    return redirect(url_for("branding.edit", _anchor="domains"))


@bp.route("/admin/branding/domains/check", methods=["POST"])
@role_required(Role.ADMIN)
def check_domain():
    tenant = _tenant()
    form = CheckDomainForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        entry = check_custom_domain(tenant, form.domain.data)
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        name = entry.domain
        db.session.commit()
        domain_checks.queue_domain_checks(current_app._get_current_object())
        flash(_("The domain %(domain)s will be checked in a moment.", domain=name), "success")
    return redirect(url_for("branding.edit", _anchor="domains"))


@bp.route("/admin/branding/reset", methods=["POST"])
@role_required(Role.ADMIN)
def reset():
    tenant = _tenant()
    form = ResetForm()
    if form.validate_on_submit():
        reset_branding(tenant)
        db.session.commit()
        flash(_("The branding was reset to the defaults."), "success")
        return redirect(url_for("branding.edit"))
    return _render_page(tenant, reset_form=form, status=422)
