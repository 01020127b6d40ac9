"""Read the portal's settings from environment variables, with embedded defaults.

Every setting is named ``PORTAL_<NAME>`` in the environment. A value that cannot be used stops
start-up with a :class:`ConfigError` that names the variable, so an operator never has to guess
which of the settings is wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "PORTAL_"
ENVIRONMENTS = ("production", "development")
WORKERS = ("embedded", "celery")
# How the connection to the SMTP server is secured: not at all, STARTTLS after connecting,
# or TLS from the first byte (SMTPS, usually port 465).
MAIL_SECURITY = ("none", "starttls", "tls")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class ConfigError(Exception):
    """A setting from the environment cannot be used; the message names the variable."""


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ConfigError(
            f"{PREFIX}{name} must be a whole number from {low} to {high}, got {raw!r}"
        )
    return value


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def _choice(
    env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None
) -> str | None:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{PREFIX}{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _database_url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(PREFIX + name) or default
    if raw is None:
        return None
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"{PREFIX}{name} is not a database URL: {raw!r}") from None
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"{PREFIX}{name} must point at SQLite or PostgreSQL, got {url.get_backend_name()!r}"
        )
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain "postgresql://" would ask for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername == "postgresql+psycopg":
        try:
            import psycopg  # noqa: F401  (the driver of the "postgres" extra)
        except ImportError:
            raise ConfigError(
                f"{PREFIX}{name} points at PostgreSQL, which needs the driver: "
                "pip install 'supplyport[postgres]'"
            ) from None
    return url.render_as_string(hide_password=False)


def _secret_key(env: Mapping[str, str], instance_path: Path) -> str:
    raw = env.get(PREFIX + "SECRET_KEY")
    if raw:
        if len(raw) < 32:
            raise ConfigError(f"{PREFIX}SECRET_KEY must be at least 32 characters long")
        return raw
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        _publish_secret_key(key_file)
    key = key_file.read_text().strip()
    if len(key) < 32:
        raise ConfigError(
            f"The secret key file {key_file} is empty or too short: delete it to have a new "
            f"key generated, or set {PREFIX}SECRET_KEY"
        )
    return key


def _publish_secret_key(key_file: Path) -> None:
    # Several processes may boot on a fresh instance folder at once. Each writes a complete
    # key to a file of its own (mkstemp: owner-only permissions, as the key signs every
    # session cookie) and links it to the final name; link() never replaces an existing
    # file, so exactly one key is published, and no process can read a half-written one.
    # The others' keys are thrown away and they read the winner's.
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=".secret_key-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, key_file)
    finally:
        os.unlink(temporary)


def _redis_prefix(env: Mapping[str, str], database_url: str) -> str:
    raw = env.get(PREFIX + "REDIS_PREFIX")
    if raw is not None and raw != "":
        if raw != raw.strip() or any(character.isspace() for character in raw):
            raise ConfigError(f"{PREFIX}REDIS_PREFIX must not contain spaces, got {raw!r}")
        return raw
    # One Redis database may serve several installations: the default prefix names the
    # database an installation uses (without the role and password, which differ between
    # the owner and the application role of the same installation).
    url = make_url(database_url)
    place = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    return f"portal:{hashlib.sha256(place.encode()).hexdigest()[:12]}:"


def _mail_security(env: Mapping[str, str]) -> str:
    security = _choice(env, "MAIL_SECURITY", MAIL_SECURITY, None)
    # PORTAL_MAIL_USE_TLS=true is the older spelling of PORTAL_MAIL_SECURITY=starttls.
    use_tls = _boolean(env, "MAIL_USE_TLS", False)
    if security is None:
        return "starttls" if use_tls else "none"
    if use_tls and security == "none":
        raise ConfigError(
            f"{PREFIX}MAIL_USE_TLS=true contradicts {PREFIX}MAIL_SECURITY=none; "
            f"drop {PREFIX}MAIL_USE_TLS, {PREFIX}MAIL_SECURITY replaces it"
        )
    return security


def _existing_file(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(PREFIX + name) or None
    if raw is not None and not Path(raw).is_file():
        raise ConfigError(f"{PREFIX}{name} must name a readable file, got {raw!r}")
    return raw


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(PREFIX + name) or "").strip() or default
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"{PREFIX}{name} must be a rate limit such as '5 per hour' or '10/15 minutes', "
            f"got {raw!r}"
        ) from None
    return raw


def _http_url(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(PREFIX + name) or "").strip()
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{PREFIX}{name} must be an http:// or https:// address, got {raw!r}")
    return raw if raw.endswith("/") else raw + "/"


def _nameservers(env: Mapping[str, str], name: str) -> list[tuple[str, int]]:
    """Parse ``"192.0.2.53, 127.0.0.1:5353, [2001:db8::53]:53"`` into (address, port) pairs."""
    import ipaddress

    raw = (env.get(PREFIX + name) or "").strip()
    servers = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        address, port = item, "53"
        if item.startswith("["):
            address, _sep, rest = item[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else "53"
        elif item.count(":") == 1:
            address, port = item.split(":")
        try:
            ipaddress.ip_address(address)
            number = int(port)
        except ValueError:
            number = 0
        if not 1 <= number <= 65535:
            raise ConfigError(
                f"{PREFIX}{name} must list IP addresses with optional ports "
                f"(192.0.2.53, 127.0.0.1:5353), got {item!r}"
            )
        servers.append((address, number))
    return servers


def _schemes(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = (env.get(PREFIX + name) or "").strip().lower()
    if not raw:
        return default
    schemes = tuple(filter(None, (part.strip() for part in raw.split(","))))
    if not schemes or any(scheme not in ("http", "https") for scheme in schemes):
        raise ConfigError(f"{PREFIX}{name} must list http and/or https, got {raw!r}")
    return schemes


def load_settings(instance_path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the Flask configuration built from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    environment = env.get(PREFIX + "ENV", "production")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"{PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
        )
    base_domain = env.get(PREFIX + "BASE_DOMAIN", "localhost").strip().lower()
    if not _HOSTNAME.match(base_domain):
        raise ConfigError(f"{PREFIX}BASE_DOMAIN is not a host name: {base_domain!r}")
    database_url = _database_url(
        env, "DATABASE_URL", f"sqlite:///{(instance_path / 'portal.db').as_posix()}"
    )
    redis_url = env.get(PREFIX + "REDIS_URL") or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{PREFIX}REDIS_URL must be a redis:// URL, got {redis_url!r}")
    mail_sender = env.get(PREFIX + "MAIL_SENDER") or f"portal@{base_domain}"
    if "@" not in mail_sender:
        raise ConfigError(f"{PREFIX}MAIL_SENDER is not an e-mail address: {mail_sender!r}")
    development = environment == "development"
    mail_security = _mail_security(env)
    return {
        "PORTAL_ENV": environment,
        "SECRET_KEY": _secret_key(env, instance_path),
        # Encrypts plugin secrets at rest; the secret key when unset.
        "ENCRYPTION_KEY": env.get(PREFIX + "ENCRYPTION_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PORTAL_DATABASE_ADMIN_URL": _database_url(env, "DATABASE_ADMIN_URL", None),
        "PORTAL_BASE_DOMAIN": base_domain,
        "PORTAL_REDIS_URL": redis_url,
        "PORTAL_REDIS_PREFIX": _redis_prefix(env, database_url),
        "PORTAL_PROXY_COUNT": _integer(env, "PROXY_COUNT", 0, 0, 10),
        # Unset means: Celery when PORTAL_REDIS_URL is set, the embedded worker otherwise.
        "PORTAL_WORKER": _choice(env, "WORKER", WORKERS, None),
        # Seconds between a worker's heartbeats and its sweeps for lost deliveries and dead jobs.
        "PORTAL_WORKER_INTERVAL": _integer(env, "WORKER_INTERVAL", 10, 1, 300),
        "PORTAL_WORKER_CONCURRENCY": _integer(env, "WORKER_CONCURRENCY", 2, 1, 64),
        "PORTAL_SESSION_IDLE_MINUTES": _integer(env, "SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
        "PORTAL_SESSION_MAX_HOURS": _integer(env, "SESSION_MAX_HOURS", 12, 1, 24 * 30),
        "PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT": _integer(
            env, "LOGIN_ATTEMPTS_PER_ACCOUNT", 5, 1, 1000
        ),
        "PORTAL_LOGIN_ATTEMPTS_PER_ADDRESS": _integer(
            env, "LOGIN_ATTEMPTS_PER_ADDRESS", 20, 1, 10000
        ),
        "PORTAL_LOGIN_WINDOW_MINUTES": _integer(env, "LOGIN_WINDOW_MINUTES", 15, 1, 24 * 60),
        # The wait after the first refused attempt beyond the free ones; it doubles with
        # every further failure, up to the window.
        "PORTAL_LOGIN_DELAY_SECONDS": _integer(env, "LOGIN_DELAY_SECONDS", 30, 1, 3600),
        # How long a browser that logged in stays a known device of that user.
        "PORTAL_KNOWN_DEVICE_DAYS": _integer(env, "KNOWN_DEVICE_DAYS", 180, 1, 3650),
        # Rate limits (Flask-Limiter notation), each per tenant and per client address unless
        # named otherwise; see docs/operations.md.
        "PORTAL_RATE_LIMIT_LOGIN": _rate_limit(env, "RATE_LIMIT_LOGIN", "40 per 15 minutes"),
        "PORTAL_RATE_LIMIT_PASSWORD_RESET": _rate_limit(
            env, "RATE_LIMIT_PASSWORD_RESET", "10 per hour"
        ),
        "PORTAL_RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT": _rate_limit(
            env, "RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT", "3 per hour"
        ),
        "PORTAL_RATE_LIMIT_INVITATIONS": _rate_limit(env, "RATE_LIMIT_INVITATIONS", "30 per hour"),
        "PORTAL_RATE_LIMIT_UPLOADS": _rate_limit(env, "RATE_LIMIT_UPLOADS", "30 per hour"),
        # Codes tried at the second step of a login, per account.
        "PORTAL_RATE_LIMIT_SECOND_FACTOR": _rate_limit(
            env, "RATE_LIMIT_SECOND_FACTOR", "5 per 5 minutes"
        ),
        # The address of links in e-mails: <scheme>://<slug>.<base domain>[:<port>]/...
        "PORTAL_PUBLIC_SCHEME": _choice(
            env, "PUBLIC_SCHEME", ("http", "https"), "http" if development else "https"
        ),
        "PORTAL_PUBLIC_PORT": _integer(env, "PUBLIC_PORT", 0, 0, 65535) or None,
        "PORTAL_PASSWORD_RESET_HOURS": _integer(env, "PASSWORD_RESET_HOURS", 2, 1, 72),
        # Off unless set: the range address of a breached-password service (k-anonymity:
        # only the first five hex digits of a new password's SHA-1 leave the machine), for
        # example https://api.pwnedpasswords.com/range/
        "PORTAL_BREACHED_PASSWORDS_URL": _http_url(env, "BREACHED_PASSWORDS_URL"),
        "PORTAL_BREACHED_PASSWORDS_TIMEOUT": _integer(env, "BREACHED_PASSWORDS_TIMEOUT", 3, 1, 30),
        # Proof of ownership of custom domains (portal.tenants.domains, docs/operations.md):
        # the nameservers asked for the TXT record (the system's when empty), how the
        # well-known file is fetched, and for how many days a pending domain is checked.
        "PORTAL_DNS_NAMESERVERS": _nameservers(env, "DNS_NAMESERVERS"),
        "PORTAL_DOMAIN_CHECK_HTTP_SCHEMES": _schemes(
            env, "DOMAIN_CHECK_HTTP_SCHEMES", ("https", "http")
        ),
        "PORTAL_DOMAIN_CHECK_HTTP_PORT": _integer(env, "DOMAIN_CHECK_HTTP_PORT", 0, 0, 65535)
        or None,
        "PORTAL_DOMAIN_CHECK_TIMEOUT": _integer(env, "DOMAIN_CHECK_TIMEOUT", 5, 1, 30),
        "PORTAL_DOMAIN_CHECK_DAYS": _integer(env, "DOMAIN_CHECK_DAYS", 7, 1, 90),
        # Off: a domain that points to a private or local address is not fetched from.
        "PORTAL_DOMAIN_CHECK_PRIVATE_ADDRESSES": _boolean(
            env, "DOMAIN_CHECK_PRIVATE_ADDRESSES", False
        ),
        "MAIL_SERVER": env.get(PREFIX + "MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": _integer(env, "MAIL_PORT", 465 if mail_security == "tls" else 25, 1, 65535),
        "MAIL_SECURITY": mail_security,
        # Certificates (PEM) to trust instead of the system's, for a server with a private CA.
        "MAIL_CA_FILE": _existing_file(env, "MAIL_CA_FILE"),
        "MAIL_USERNAME": env.get(PREFIX + "MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get(PREFIX + "MAIL_PASSWORD") or None,
        "MAIL_SENDER": mail_sender,
        "MAIL_TIMEOUT": _integer(env, "MAIL_TIMEOUT", 20, 1, 600),
        "SESSION_COOKIE_SECURE": not development,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Host-only cookies: a session of acme.example.com is never sent to nordic.example.com.
        "SESSION_COOKIE_DOMAIN": None,
        "REMEMBER_COOKIE_DURATION": 0,
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
    }
