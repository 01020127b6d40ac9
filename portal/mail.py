"""Send e-mail over SMTP, always through the outbox (kind ``email``)."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

from flask import current_app

from portal.outbox.services import enqueue, handler


def queue_email(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    *,
    sender_name: str | None = None,
    key: str | None = None,
) -> None:
    """Queue an e-mail in the current transaction; the worker sends it after commit."""
    enqueue(
        "email",
        {"to": to, "subject": subject, "text": text, "html": html, "sender_name": sender_name},
        key=key,
    )


@handler("email")
def send_email(payload: dict[str, Any], idempotency_key: str) -> None:
    """Deliver one queued e-mail to the configured SMTP server."""
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = payload["subject"]
    message["From"] = formataddr((payload.get("sender_name") or "", config["MAIL_SENDER"]))
    message["To"] = payload["to"]
    # The same key gives the same Message-ID, so a repeated delivery is recognisable as one.
    domain = config["MAIL_SENDER"].rsplit("@", 1)[1]
    message["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9._-]', '.', idempotency_key)}@{domain}>"
    message.set_content(payload["text"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    with _connect(config) as smtp:
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


def _connect(config) -> smtplib.SMTP:
    """Open the connection to the SMTP server, secured as ``MAIL_SECURITY`` says.

    With ``starttls`` and ``tls`` the server's certificate and host name are verified against
    the system's certificate authorities, or against ``MAIL_CA_FILE`` when it is set; a
    server that cannot prove who it is gets neither the password nor the message.
    """
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    security = config["MAIL_SECURITY"]
    if security == "none":
        return smtplib.SMTP(host, port, timeout=timeout)
    context = ssl.create_default_context(cafile=config["MAIL_CA_FILE"])
    if security == "tls":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        smtp.starttls(context=context)
    except BaseException:
        smtp.close()
        raise
    return smtp
