"""E-mails to people about their company's orders, in each person's own language.

Only users who chose to receive them (``User.email_notifications``) get them; every e-mail
goes through the outbox in the transaction of the change it reports.
"""

from __future__ import annotations

from flask import g, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.links import public_url
from portal.accounts.models import Role, User
from portal.core.orders.carriers import carrier_label, tracking_url
from portal.db import db
from portal.mail import queue_email


def _recipients(client_id) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.role == Role.CLIENT,
                User.client_id == client_id,
                User.active.is_(True),
                User.email_notifications.is_(True),
            )
            .order_by(User.email)
        )
    )


def notify_order_shipped(order, shipment) -> int:
    """Queue a shipment e-mail to each client user who wants one; return how many."""
    recipients = _recipients(order.client_id)
    for user in recipients:
        with force_locale(user.locale or str(g.tenant.default_locale)):
            context = {
                "user": user,
                "tenant": g.tenant,
                "order": order,
                "shipment": shipment,
                "carrier": carrier_label(shipment.carrier),
                "tracking": tracking_url(shipment.carrier, shipment.tracking_code),
                "link": public_url("orders.detail", order_id=order.id),
            }
            queue_email(
                user.email,
                _("Order %(number)s has been shipped", number=order.number),
                render_template("email/order_shipped.txt", **context),
                render_template("email/order_shipped.html", **context),
                sender_name=g.tenant.name,
                key=f"order-shipped:{shipment.id}:{user.id}",
            )
    return len(recipients)
