"""Hash, verify and judge passwords (argon2id, at least m=19 MiB, t=2, p=1)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

MIN_LENGTH = 8
MAX_LENGTH = 256
MIN_TIME_COST = 2
MIN_MEMORY_KIB = 19 * 1024
MIN_PARALLELISM = 1


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    """Return the argon2id hasher for the configured parameters."""
    config = current_app.config
    return _hasher(
        max(config.get("PORTAL_ARGON2_TIME_COST", MIN_TIME_COST), MIN_TIME_COST),
        max(config.get("PORTAL_ARGON2_MEMORY_KIB", MIN_MEMORY_KIB), MIN_MEMORY_KIB),
        max(config.get("PORTAL_ARGON2_PARALLELISM", MIN_PARALLELISM), MIN_PARALLELISM),
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash was made with weaker parameters than the configured ones."""
    return hasher().check_needs_rehash(password_hash)


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("portal.accounts").joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, email: str | None = None) -> str | None:
    """Return why ``password`` is not acceptable (translated), or None."""
    if len(password) < MIN_LENGTH:
        return lazy_ngettext(
            "The password must be at least %(num)d character long.",
            "The password must be at least %(num)d characters long.",
            MIN_LENGTH,
        )
    if len(password) > MAX_LENGTH:
        return lazy_ngettext(
            "The password must be at most %(num)d character long.",
            "The password must be at most %(num)d characters long.",
            MAX_LENGTH,
        )
    lowered = password.lower()
    if lowered in common_passwords():
        return _l("This password is too common. Please choose another one.")
    if email and lowered in {email.lower(), email.lower().split("@")[0]}:
        return _l("The password must not be your e-mail address.")
    return None
