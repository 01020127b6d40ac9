"""What the start page shows each kind of user (the view is web.views.dashboard)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import g, url_for
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from werkzeug.routing import BuildError

from portal.accounts.models import Role
from portal.accounts.services import previous_login
from portal.branding.services import welcome_text
from portal.core.dashboard import dashboard_figures
from portal.i18n import start_of_day
from portal.web.access import STAFF_ROLES


def today_in_utc() -> tuple[datetime, datetime]:
    """Return the start and end of today in the viewer's time zone, as UTC datetimes."""
    start = start_of_day(datetime.now(get_timezone()).date())
    return start, start + timedelta(days=1)


def link(endpoint: str, **values) -> str | None:
    """Return the URL of a page, or None when that page does not exist (yet)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _supplier_counts() -> dict[str, int]:
    """How many of the supplier's purchase orders wait for its answer, and for dispatch."""
    from sqlalchemy import func, select

    from portal.core.purchasing.models import PurchaseOrder
    from portal.core.purchasing.models import PurchaseOrderStatus as Status
    from portal.db import db

    groups = {
        "to_answer": (Status.SENT, Status.TRANSFERRED, Status.ACKNOWLEDGED),
        "to_dispatch": (Status.CONFIRMED, Status.IN_PRODUCTION, Status.PARTIALLY_DISPATCHED),
    }
    rows = dict(
        db.session.execute(
            select(PurchaseOrder.status, func.count())
            .where(
                PurchaseOrder.supplier_id == current_user.supplier_id,
                PurchaseOrder.sent_at.is_not(None),
            )
            .group_by(PurchaseOrder.status)
        ).all()
    )
    return {name: sum(rows.get(s, 0) for s in states) for name, states in groups.items()}


def _welcome() -> str | None:
    """Return the tenant's welcome text for the current user's audience, in their language."""
    if current_user.role in STAFF_ROLES:
        audience = "staff"
    elif current_user.role == Role.CLIENT:
        audience = "clients"
    else:
        audience = "suppliers"
    return welcome_text(g.tenant, audience, str(get_locale()))


def dashboard_context() -> dict:
    """Return what web/dashboard.html needs for the current user.

    ``view`` is "staff" (the tenant's figures), "client" (the client's own), "no_access"
    (a client user whose company has no portal access) or "supplier".
    """
    context = {
        "link": link,
        "figures": None,
        "welcome": _welcome(),
        "previous_login": previous_login(current_user),
    }
    if current_user.role in STAFF_ROLES:
        view, client_id = "staff", None
    elif current_user.role == Role.CLIENT:
        client = current_user.client
        if client is None or not client.portal_access:
            return {**context, "view": "no_access"}
        view, client_id = "client", client.id
    else:
        return {**context, "view": "supplier", "supplier_counts": _supplier_counts()}
    start, end = today_in_utc()
    if view == "staff":
        from portal.worker.services import tenant_health

        context["workers"] = tenant_health()
    return {**context, "view": view, "figures": dashboard_figures(client_id, start, end)}
