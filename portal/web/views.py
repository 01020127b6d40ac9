"""The start pages: the platform's own page on the base domain, each tenant's dashboard."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal.audit.services import record
from portal.branding.services import effective_colours, stylesheet_version, theme_stylesheet
from portal.branding.views import asset_url
from portal.db import db
from portal.i18n import SESSION_KEY, enabled_locales
from portal.web.helpers import safe_next
from portal.web.navigation import EVERYONE, NavItem, add_nav_item

bp = Blueprint("web", __name__)

add_nav_item(NavItem("web.dashboard", _l("Dashboard"), EVERYONE, 0, section="web.index"))


@bp.route("/")
def index():
    if g.get("tenant") is None:
        return render_template("platform/index.html")
    return dashboard()


@login_required
def dashboard():
    """Show the figures at a glance: the client's own for client users, the tenant's for
    staff, a note for suppliers (their purchase orders come with the supplier portal)."""
    from portal.web.dashboard import dashboard_context

    return render_template("web/dashboard.html", **dashboard_context())


bp.add_url_rule("/dashboard", "dashboard", dashboard)


@bp.route("/language", methods=["POST"])
def set_language():
    code = request.form.get("locale", "")
    if code not in enabled_locales():
        abort(400)
    session[SESSION_KEY] = code
    if (
        g.get("tenant") is not None
        and current_user.is_authenticated
        and current_user.locale != code
    ):
        record("account.updated", current_user, changes={"locale": [current_user.locale, code]})
        current_user.locale = code
        db.session.commit()
    return redirect(safe_next("web.index"))


@bp.route("/theme.css")
def theme_css():
    """Serve the tenant's colours as CSS custom properties (no inline styles under our CSP)."""
    settings = (g.tenant.theme_settings or {}) if g.get("tenant") is not None else {}
    body = theme_stylesheet(effective_colours(settings, g.get("theme")))
    version = stylesheet_version(body)
    response = Response(body, mimetype="text/css")
    if request.args.get("v") == version:
        # Pages link /theme.css?v=<hash of the content>: a save gives a new address.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.set_etag(version)
    return response.make_conditional(request)


#: The icon browsers get when the tenant has uploaded none (and on the platform's pages).
DEFAULT_FAVICON = "img/favicon.svg"


@bp.route("/favicon.ico")
def favicon():
    """Send a browser that asks for /favicon.ico to the tenant's favicon or the bundled one.

    Browsers ask for it on their own, also where no page links an icon; without this route
    every such request was a 404 in the log.
    """
    response = redirect(asset_url("favicon") or url_for("static", filename=DEFAULT_FAVICON))
    # Per tenant host, and short: a new upload should show within the hour.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.app_context_processor
def _branding():
    tenant = g.get("tenant")
    if tenant is None:
        return {
            "portal_title": _("Supplier and fulfilment portal"),
            "logo_url": None,
            "favicon_url": None,
        }
    settings = tenant.theme_settings or {}
    return {
        "portal_title": settings.get("title") or tenant.name,
        "logo_url": asset_url("logo"),
        "favicon_url": asset_url("favicon"),
    }
