"""Accounts: create users, log in and out, sessions, passwords and password resets.

Every change here writes an audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from portal.accounts.models import LoginAttempt, Role, User, UserSession
from portal.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from portal.audit.models import AuditEntry
from portal.audit.services import diff, record
from portal.core.clients.models import Client
from portal.core.suppliers.models import Supplier
from portal.db import db, utcnow
from portal.tenants.context import require_tenant

# Verified against when the e-mail is unknown, so a miss costs as long as a hit.
_DUMMY_HASH: str | None = None
SESSION_TOUCH_INTERVAL = timedelta(seconds=60)


class AccountError(ValueError):
    """An account change was refused; ``field`` names the form field it concerns."""

    def __init__(self, message, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class LoginRefused(AccountError):
    """A login was refused: wrong credentials, inactive account, or too many attempts."""


class LoginThrottled(LoginRefused):
    """A login was refused without checking the password: try again in ``retry_after``
    seconds. Raised inside a request (its message is translated at once)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            ngettext(
                "Too many failed attempts. Please try again in %(num)d second.",
                "Too many failed attempts. Please try again in %(num)d seconds.",
                retry_after,
            )
        )
        self.retry_after = retry_after


def normalise_email(email: str) -> str:
    """Return ``email`` checked for syntax and normalised; raise AccountError if invalid."""
    try:
        # test_environment admits the reserved .test domain (demo and test accounts).
        result = validate_email(email.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise AccountError(
            _l("%(email)s is not a valid e-mail address.", email=email.strip()), "email"
        ) from None
    return result.normalized.lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(
    email: str,
    password: str,
    role: Role | str,
    *,
    name: str = "",
    client: Client | None = None,
    supplier: Supplier | None = None,
    locale: str | None = None,
) -> User:
    """Create a user of the tenant in context; the caller commits."""
    role = Role(role)
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise AccountError(_l("A user with this e-mail address already exists."), "email")
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem, "password")
    if role == Role.CLIENT and client is None:
        raise AccountError(_l("A client user needs a client."), "client")
    if role == Role.SUPPLIER and supplier is None:
        raise AccountError(_l("A supplier user needs a supplier."), "supplier")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        client=client if role == Role.CLIENT else None,
        supplier=supplier if role == Role.SUPPLIER else None,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    record("user.created", user, changes={"email": [None, email], "role": [None, role.value]})
    return user


def invite_user(
    email: str,
    role: Role | str,
    *,
    name: str = "",
    client: Client | None = None,
    supplier: Supplier | None = None,
    locale: str | None = None,
) -> User:
    """Create a user who chooses a password through an e-mailed link (send_password_link).

    Until then no password works: the account gets a long random one nobody knows.
    """
    return create_user(
        email,
        secrets.token_urlsafe(32),
        role,
        name=name,
        client=client,
        supplier=supplier,
        locale=locale,
    )


def _serialise_attempts(email: str, ip_address: str | None) -> None:
    """Make this transaction the only one deciding about attempts on ``email`` and from
    ``ip_address`` until it ends: the count and the new attempt are then one step, so
    parallel guesses cannot all be let through on the same count.

    SQLite needs nothing: a request that writes holds the database's write lock from its
    first statement (BEGIN IMMEDIATE, see :mod:`portal.db`). PostgreSQL takes transaction
    advisory locks on the account and the address, in a fixed order (no deadlock).
    """
    if db.engine.dialect.name != "postgresql":
        return
    tenant = require_tenant().id
    keys = sorted(
        int.from_bytes(
            hashlib.sha256(f"login:{tenant}:{name}".encode()).digest()[:8], "big", signed=True
        )
        for name in {f"account:{email}", f"address:{ip_address or ''}"}
    )
    for key in keys:
        db.session.execute(select(func.pg_advisory_xact_lock(key)))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(math.ceil((moment - now).total_seconds()), 0)


def account_wait(email: str, now: datetime) -> int:
    """Return the seconds before the next password may be checked for ``email``: 0 for
    the first few failures, then a delay that doubles with every further one.

    Failures count since the last successful login, within the window. The address need
    not have an account: unknown addresses are throttled the same way, so the answers do
    not tell which exist.
    """
    config = current_app.config
    failures, latest = _account_failures(email, now)
    free = config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    if failures < free:
        return 0
    doublings = min(failures - free, 30)
    window = timedelta(minutes=config["PORTAL_LOGIN_WINDOW_MINUTES"])
    delay = min(timedelta(seconds=config["PORTAL_LOGIN_DELAY_SECONDS"] * 2**doublings), window)
    return _seconds_until(latest + delay, now)


def address_wait(ip_address: str | None, now: datetime) -> int:
    """Return the seconds before another attempt from ``ip_address`` may be checked: once
    the address has as many failures in the window as allowed, until the oldest that
    counts leaves the window."""
    if ip_address is None:
        return 0
    config = current_app.config
    window = timedelta(minutes=config["PORTAL_LOGIN_WINDOW_MINUTES"])
    recent = (
        LoginAttempt.ip_address == ip_address,
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.created_at > now - window,
    )
    failures = db.session.scalar(select(func.count()).where(*recent))
    allowed = config["PORTAL_LOGIN_ATTEMPTS_PER_ADDRESS"]
    if failures < allowed:
        return 0
    # The failures beyond the allowed ones must leave the window first.
    oldest_that_counts = db.session.scalar(
        select(LoginAttempt.created_at)
        .where(*recent)
        .order_by(LoginAttempt.created_at)
        .offset(failures - allowed)
        .limit(1)
    )
    return max(_seconds_until(oldest_that_counts + window, now), 1)


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(uuid.uuid4().hex)
    return _DUMMY_HASH


def authenticate(
    email: str,
    password: str,
    ip_address: str | None,
    *,
    known_device: Callable[[User], str | None] | None = None,
) -> User:
    """Return the user for these credentials or raise :class:`LoginRefused`.

    Only users of the tenant in context can log in: the lookup is tenant-scoped, so an
    account of another tenant is as unknown here as a made-up address.

    Guessing is slowed down per account and per address (:func:`account_wait`,
    :func:`address_wait`): while a wait runs, the attempt is refused with
    :class:`LoginThrottled` and no password is checked. A browser that ``known_device``
    recognises as one the user logged in with before skips both waits (the owner is not
    locked out by someone else's guessing) and has a limit of its own.

    The attempt is committed as a failure before the password is checked, so parallel
    guesses count each other; the caller commits what follows, also after a refusal. The
    owner is e-mailed once per window when the failures reach the limit.
    """
    email = email.strip().lower()[:254]
    user = find_user_by_email(email)
    device = known_device(user) if known_device is not None and user is not None else None
    _serialise_attempts(email, ip_address)
    now = utcnow()
    if device is not None:
        from portal.web.limits import spend

        wait = spend("known-device", f"{user.id}:{device}", "PORTAL_RATE_LIMIT_LOGIN")
    else:
        wait = max(account_wait(email, now), address_wait(ip_address, now))
    if wait:
        record("login.throttled", details={"email": email, "seconds": wait})
        raise LoginThrottled(wait)
    failures_before = _account_failures(email, now)[0]
    attempt = LoginAttempt(email=email, ip_address=ip_address, succeeded=False, created_at=now)
    db.session.add(attempt)
    # Counted from here on, before the slow check: the lock ends with this commit.
    db.session.commit()
    valid = verify_password(user.password_hash if user else _dummy_hash(), password)
    if not (user and valid and user.active):
        record(
            "login.failed",
            user if user else None,
            details={"email": email, "reason": "inactive" if user and valid else "credentials"},
        )
        if (
            user is not None
            and user.active
            and failures_before + 1 == current_app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
        ):
            _report_failures(user, failures_before + 1)
        raise LoginRefused(_l("The e-mail address or password is not correct."))
    if device is not None:
        # A known browser's success is neither a failure nor the success that would give a
        # guesser elsewhere fresh free attempts (failures count since the last success).
        db.session.delete(attempt)
    else:
        attempt.succeeded = True
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def _account_failures(email: str, now: datetime) -> tuple[int, datetime | None]:
    """Return how many failures ``email`` had since its last success within the window,
    and when the latest was."""
    window = timedelta(minutes=current_app.config["PORTAL_LOGIN_WINDOW_MINUTES"])
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)
        )
    )
    since = max(now - window, last_success) if last_success else now - window
    count, latest = db.session.execute(
        select(func.count(), func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at > since,
        )
    ).one()
    return count, latest


def _report_failures(user: User, failures: int) -> None:
    """E-mail ``user`` about failed attempts on their account, at most once per window."""
    window = timedelta(minutes=current_app.config["PORTAL_LOGIN_WINDOW_MINUTES"])
    already = db.session.scalar(
        select(func.count()).where(
            AuditEntry.action == "login.failures_reported",
            AuditEntry.object_id == str(user.id),
            AuditEntry.created_at > utcnow() - window,
        )
    )
    if already:
        return
    from portal.accounts.mails import send_failed_logins_notice

    send_failed_logins_notice(user, failures)
    record("login.failures_reported", user, details={"failures": failures})


def start_session(user: User, ip_address: str | None, user_agent: str | None) -> UserSession:
    """Open a new login session for ``user`` and record the login."""
    login = UserSession(
        user_id=user.id, ip_address=ip_address, user_agent=(user_agent or "")[:300] or None
    )
    db.session.add(login)
    user.session_id = login.id
    record("login.succeeded", user, actor_id=user.id, details={"session": str(login.id)})
    return login


def previous_login(user: User) -> UserSession | None:
    """Return the user's login before the current one (when, from where), or None.

    ``user.last_login_at`` is the current login itself once the user is in, so pages that
    tell users when they last logged in (to spot a login that was not theirs) ask here.
    """
    query = select(UserSession).where(UserSession.user_id == user.id)
    if user.session_id:
        query = query.where(UserSession.id != user.session_id)
    return db.session.scalar(query.order_by(UserSession.created_at.desc()).limit(1))


def load_session_user(session_id: str) -> User | None:
    """Return the user of a live session, or None when it ended or timed out."""
    try:
        sid = uuid.UUID(session_id)
    except (TypeError, ValueError):
        return None
    login = db.session.scalar(
        select(UserSession).where(UserSession.id == sid, UserSession.ended_at.is_(None))
    )
    if login is None:
        return None
    config = current_app.config
    now = utcnow()
    idle = timedelta(minutes=config["PORTAL_SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=config["PORTAL_SESSION_MAX_HOURS"])
    if now - login.last_seen_at > idle or now - login.created_at > absolute:
        login.ended_at = now
        record("session.expired", login.user, actor_id=login.user_id)
        db.session.commit()
        return None
    user = login.user
    if not user.active:
        return None
    if now - login.last_seen_at > SESSION_TOUCH_INTERVAL:
        login.last_seen_at = now
        db.session.commit()
    user.session_id = login.id
    return user


def end_session(user: User) -> None:
    """End the user's current session (logout)."""
    if user.session_id is None:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == user.session_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    record("logout", user)


def end_other_sessions(user: User) -> int:
    """End every session of ``user`` but the current one; return how many were ended."""
    statement = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if user.session_id is not None:
        statement = statement.where(UserSession.id != user.session_id)
    return db.session.execute(statement.values(ended_at=utcnow())).rowcount


def set_password(user: User, new_password: str, *, action: str) -> None:
    """Give ``user`` a new password and end their other sessions."""
    problem = password_problem(new_password, user.email)
    if problem:
        raise AccountError(problem, "new_password")
    user.password_hash = hash_password(new_password)
    ended = end_other_sessions(user)
    record(action, user, changes={"password": ["***", "***"]}, details={"sessions_ended": ended})


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one."""
    if not verify_password(user.password_hash, current_password):
        raise AccountError(_l("The current password is not correct."), "current_password")
    set_password(user, new_password, action="password.changed")


def update_account(
    user: User,
    *,
    name: str,
    email: str,
    locale: str | None,
    current_password: str | None,
    email_notifications: bool | None = None,
) -> dict[str, list]:
    """Change a user's own name, e-mail, language and notification choice; a new e-mail
    needs the password."""
    email = normalise_email(email)
    if email != user.email:
        if not current_password or not verify_password(user.password_hash, current_password):
            raise AccountError(
                _l("Enter your current password to change your e-mail address."),
                "current_password",
            )
        other = find_user_by_email(email)
        if other is not None and other.id != user.id:
            raise AccountError(_l("A user with this e-mail address already exists."), "email")
    fields = ("name", "email", "locale", "email_notifications")
    before = {field: getattr(user, field) for field in fields}
    user.name = name.strip()
    user.email = email
    user.locale = locale or None
    if email_notifications is not None:
        user.email_notifications = email_notifications
    changes = diff(before, {field: getattr(user, field) for field in fields})
    if changes:
        record("account.updated", user, changes=changes)
    return changes


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="portal.password-reset")


def _fingerprint(user: User) -> str:
    # Binds the token to the current password: once used (or the password changed
    # otherwise), the token is void.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def password_reset_token(user: User) -> str:
    tenant = require_tenant()
    return _serializer().dumps({"u": str(user.id), "t": str(tenant.id), "f": _fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """Return the user a valid, unused reset token belongs to, or None."""
    max_age = current_app.config["PORTAL_PASSWORD_RESET_HOURS"] * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or data.get("t") != str(require_tenant().id):
        return None
    try:
        user_id = uuid.UUID(data.get("u", ""))
    except ValueError:
        return None
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user


def update_user(user: User, *, name: str, role: Role, active: bool) -> dict[str, list]:
    """Change a user's name, role and whether they may log in (tenant admin's work)."""
    before = {"name": user.name, "role": user.role.value, "active": user.active}
    if role in (Role.CLIENT, Role.SUPPLIER) and user.role != role:
        raise AccountError(
            _l(
                "Client and supplier users are created for their company; the role cannot be switched to it."
            ),
            "role",
        )
    if user.role in (Role.CLIENT, Role.SUPPLIER) and role != user.role:
        raise AccountError(_l("The role of a client or supplier user cannot be changed."), "role")
    user.name = name.strip()
    user.role = role
    user.active = active
    if not active:
        end_other_sessions(user)
    changes = diff(before, {"name": user.name, "role": user.role.value, "active": user.active})
    if changes:
        record("user.updated", user, changes=changes)
    return changes
