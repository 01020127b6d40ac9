"""Plugin secrets at rest: a JSON object encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

The key is ``PORTAL_ENCRYPTION_KEY`` when set, else the application's secret key. Changing it
makes stored secrets unreadable: they read as empty and must be entered again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator
from sqlalchemy_utils import StringEncryptedType
from sqlalchemy_utils.types.encrypted.encrypted_type import FernetEngine

log = logging.getLogger(__name__)

MASK = "\u2022" * 8


def encryption_key() -> str:
    return current_app.config.get("ENCRYPTION_KEY") or current_app.secret_key


class EncryptedJSON(TypeDecorator):
    """A dict of strings stored encrypted; ``None`` and ``{}`` are stored as NULL."""

    impl = StringEncryptedType(Text, encryption_key, FernetEngine)
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect) -> str | None:
        if not value:
            return None
        return json.dumps(value, sort_keys=True)

    def process_result_value(self, value: str | None, dialect) -> dict[str, Any] | None:
        if not value:
            return None
        return json.loads(value)

    def result_processor(self, dialect, coltype):
        inner = super().result_processor(dialect, coltype)

        def process(value):
            try:
                return inner(value) if inner else value
            except InvalidToken:
                log.error("stored plugin secrets cannot be decrypted: was the key changed?")
                return None

        return process


def masked(secret: str) -> str:
    """Show a secret as dots and, when it is long enough, its last four characters."""
    if not secret:
        return ""
    return MASK + (secret[-4:] if len(secret) >= 12 else "")
