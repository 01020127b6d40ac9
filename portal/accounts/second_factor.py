"""Second factors at login: one-time codes of an authenticator app (TOTP, RFC 6238),
passkeys and security keys (WebAuthn), and one-time recovery codes.

The password is the first step of a login; a user with a second factor (or one whom the
tenant requires to have one) then proves it on a second page before the session opens (see
:mod:`portal.accounts.second_factor_views`). Everything here writes its audit entry in the
caller's transaction; the caller commits.

- The authenticator app's secret is encrypted at rest like plugin secrets
  (:class:`portal.plugins.secrets.EncryptedJSON`). A code is accepted for its own 30-second
  step and one step either side (clocks drift), and never for a step at or before the last
  one accepted: a code cannot be used twice.
- Recovery codes are random (80 bits), shown once and stored as SHA-256 hashes; each works
  once.
- Codes tried at the second step are counted per account
  (``PORTAL_RATE_LIMIT_SECOND_FACTOR``, see :func:`portal.web.limits.spend`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

import pyotp
import segno
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from portal.accounts.models import (
    PasskeyCredential,
    RecoveryCode,
    Role,
    TotpAuthenticator,
    User,
)
from portal.accounts.passwords import verify_password
from portal.accounts.services import AccountError, end_other_sessions
from portal.audit.services import record
from portal.db import db, utcnow
from portal.tenants.models import SecondFactorPolicy

STEP_SECONDS = 30
# Steps either side of now whose codes are still accepted (clock drift, typing time).
TOLERATED_STEPS = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base32 characters
THROTTLE_SETTING = "PORTAL_RATE_LIMIT_SECOND_FACTOR"


class SecondFactorRefused(AccountError):
    """A code, recovery code or passkey was not accepted."""


class SecondFactorThrottled(SecondFactorRefused):
    """Too many codes were tried for the account: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            ngettext(
                "Too many codes were tried. Please try again in %(num)d second.",
                "Too many codes were tried. Please try again in %(num)d seconds.",
                retry_after,
            ),
            "code",
        )
        self.retry_after = retry_after


# --- what a user has, what the tenant asks for ------------------------------------------------


def authenticator_of(user: User) -> TotpAuthenticator | None:
    """Return the user's confirmed authenticator app, or None."""
    return db.session.scalar(
        select(TotpAuthenticator).where(
            TotpAuthenticator.user_id == user.id, TotpAuthenticator.confirmed_at.is_not(None)
        )
    )


def passkeys_of(user: User) -> list[PasskeyCredential]:
    return list(
        db.session.scalars(
            select(PasskeyCredential)
            .where(PasskeyCredential.user_id == user.id)
            .order_by(PasskeyCredential.created_at)
        )
    )


def unused_recovery_codes(user: User) -> int:
    return db.session.scalar(
        select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def has_second_factor(user: User) -> bool:
    """Whether the user has an authenticator app or a passkey (recovery codes alone do not
    count: they are the way back in when those are lost)."""
    app = select(TotpAuthenticator.id).where(
        TotpAuthenticator.user_id == user.id, TotpAuthenticator.confirmed_at.is_not(None)
    )
    key = select(PasskeyCredential.id).where(PasskeyCredential.user_id == user.id)
    return bool(db.session.scalar(select(or_(app.exists(), key.exists()))))


def required_for(user: User, policy: SecondFactorPolicy | str) -> bool:
    """Whether the tenant's ``policy`` requires ``user`` to log in with a second factor."""
    policy = SecondFactorPolicy(policy)
    if policy == SecondFactorPolicy.EVERYONE:
        return True
    return policy == SecondFactorPolicy.STAFF and user.role in (Role.ADMIN, Role.STAFF)


def set_policy(tenant, policy: SecondFactorPolicy) -> None:
    """Set who in ``tenant``'s portal must have a second factor (tenant admin's work)."""
    old = tenant.second_factor_policy
    if old == policy:
        return
    tenant.second_factor_policy = policy
    record(
        "tenant.second_factor_policy",
        tenant,
        changes={"second_factor_policy": [str(old), str(policy)]},
    )


# --- authenticator app (TOTP) -----------------------------------------------------------------


def start_authenticator(user: User) -> TotpAuthenticator:
    """Give ``user`` a new secret to scan; it counts once confirmed with a first code.

    A previous set-up that was never confirmed is replaced. A confirmed app stays in use
    until the new one is confirmed.
    """
    db.session.execute(
        delete(TotpAuthenticator).where(
            TotpAuthenticator.user_id == user.id, TotpAuthenticator.confirmed_at.is_(None)
        )
    )
    authenticator = TotpAuthenticator(user_id=user.id, secret={"base32": pyotp.random_base32()})
    db.session.add(authenticator)
    db.session.flush()
    return authenticator


def authenticator_being_set_up(user: User) -> TotpAuthenticator | None:
    return db.session.scalar(
        select(TotpAuthenticator).where(
            TotpAuthenticator.user_id == user.id, TotpAuthenticator.confirmed_at.is_(None)
        )
    )


def secret_of(authenticator: TotpAuthenticator) -> str | None:
    """Return the base32 secret, or None when it cannot be decrypted (key changed)."""
    return (authenticator.secret or {}).get("base32")


def provisioning_uri(authenticator: TotpAuthenticator, user: User, issuer: str) -> str:
    """Return the ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret_of(authenticator), interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=issuer
    )


def qr_code_svg(text: str, title: str) -> Markup:
    """Return ``text`` as a QR code in inline SVG (no script, no external image)."""
    svg = segno.make(text, error="m").svg_inline(scale=4, border=2, title=title, svgclass="qr")
    return Markup(svg)  # noqa: S704 - segno writes the markup; ``title`` is escaped by it


def grouped_secret(secret: str) -> str:
    """Return the secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _accepted_step(secret: str, code: str, after_step: int | None, now: float) -> int | None:
    """Return the time step whose code ``code`` is, if it is near ``now`` and later than
    ``after_step``; else None."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in range(current - TOLERATED_STEPS, current + TOLERATED_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalised_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _use_authenticator(authenticator: TotpAuthenticator, code: str, now: float) -> bool:
    """Accept ``code`` once: the step is stored by a conditional update, so two requests
    with the same code cannot both pass."""
    secret = secret_of(authenticator)
    if secret is None or not (len(code) == 6 and code.isdigit()):
        return False
    step = _accepted_step(secret, code, authenticator.last_used_step, now)
    if step is None:
        return False
    claimed = db.session.execute(
        update(TotpAuthenticator)
        .where(
            TotpAuthenticator.id == authenticator.id,
            or_(
                TotpAuthenticator.last_used_step.is_(None),
                TotpAuthenticator.last_used_step < step,
            ),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(authenticator)
    return claimed == 1


def confirm_authenticator(user: User, code: str, *, now: float | None = None) -> list[str]:
    """Confirm the app being set up with its first code; return new recovery codes."""
    authenticator = authenticator_being_set_up(user)
    if authenticator is None:
        raise SecondFactorRefused(_l("Start the set-up of the authenticator app again."), "code")
    if not _use_authenticator(authenticator, _normalised_code(code), now or time.time()):
        raise SecondFactorRefused(
            _l("This code is not correct. Enter the code your app shows now."), "code"
        )
    db.session.execute(
        delete(TotpAuthenticator).where(
            TotpAuthenticator.user_id == user.id,
            TotpAuthenticator.confirmed_at.is_not(None),
            TotpAuthenticator.id != authenticator.id,
        )
    )
    authenticator.confirmed_at = utcnow()
    record("second_factor.enrolled", user, details={"kind": "totp"})
    return issue_recovery_codes(user)


def remove_authenticator(user: User, password: str) -> None:
    """Remove the user's authenticator app after checking their password."""
    check_password(user, password)
    removed = db.session.execute(
        delete(TotpAuthenticator).where(TotpAuthenticator.user_id == user.id)
    ).rowcount
    if removed:
        record("second_factor.removed", user, details={"kind": "totp"})


# --- recovery codes ---------------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(_normalised_code(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with :data:`RECOVERY_CODE_COUNT` new ones and
    return them: this is the only time they are seen."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(code)) for code in codes)
    db.session.flush()
    record("second_factor.recovery_codes_issued", user, details={"count": len(codes)})
    return codes


def _use_recovery_code(user: User, code: str) -> bool:
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return used == 1


# --- the second step of a login ---------------------------------------------------------------


def _throttle(user: User) -> None:
    from portal.web.limits import spend

    wait = spend("second-factor", str(user.id), THROTTLE_SETTING)
    if wait:
        record("second_factor.throttled", user, actor_id=user.id, details={"seconds": wait})
        raise SecondFactorThrottled(wait)


def verify_code(user: User, code: str, *, now: float | None = None) -> str:
    """Check a code typed at the second step: the app's code or a recovery code.

    Return ``"totp"`` or ``"recovery_code"``; raise :class:`SecondFactorRefused` (or
    :class:`SecondFactorThrottled` without checking, when too many were tried).
    """
    _throttle(user)
    code = _normalised_code(code)
    authenticator = authenticator_of(user)
    if authenticator is not None and _use_authenticator(authenticator, code, now or time.time()):
        return "totp"
    if len(code) > 6 and _use_recovery_code(user, code):
        left = unused_recovery_codes(user)
        record("second_factor.recovery_code_used", user, actor_id=user.id, details={"left": left})
        return "recovery_code"
    record("second_factor.failed", user, actor_id=user.id, details={"kind": "code"})
    raise SecondFactorRefused(
        _l("This code is not correct, or it was already used. Please try again."), "code"
    )


def record_login(user: User, method: str) -> None:
    """Write the audit entry of a login completed with the second factor ``method``."""
    record("second_factor.used", user, actor_id=user.id, details={"method": method})


# --- passkeys (WebAuthn) ----------------------------------------------------------------------


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkey is for: the tenant's host (``id``) and the page's origin."""

    id: str
    name: str
    origin: str


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id))
        for passkey in passkeys_of(user)
    ]


def passkey_registration_options(user: User, party: RelyingParty) -> tuple[str, str]:
    """Return the options for ``navigator.credentials.create`` as JSON, and the challenge
    (base64url) to keep until the answer comes back."""
    options = generate_registration_options(
        rp_id=party.id,
        rp_name=party.name,
        user_id=user.id.bytes,
        user_name=user.email,
        user_display_name=user.display_name,
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def register_passkey(
    user: User, credential: str | dict, challenge: str, party: RelyingParty, name: str
) -> PasskeyCredential:
    """Check the authenticator's answer to the registration options and keep the key."""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=party.id,
            expected_origin=party.origin,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError):
        raise SecondFactorRefused(_l("The security key could not be registered.")) from None
    transports = []
    if isinstance(credential, dict):
        transports = [str(t) for t in credential.get("response", {}).get("transports", [])][:8]
    passkey = PasskeyCredential(
        user_id=user.id,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=(name or "").strip()[:100] or str(_l("Security key")),
        transports=transports,
    )
    db.session.add(passkey)
    db.session.flush()
    record("second_factor.enrolled", user, details={"kind": "passkey", "name": passkey.name})
    return passkey


def passkey_authentication_options(user: User, party: RelyingParty) -> tuple[str, str]:
    """Return the options for ``navigator.credentials.get`` as JSON, and the challenge."""
    options = generate_authentication_options(
        rp_id=party.id,
        allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def verify_passkey(
    user: User, credential: str | dict, challenge: str, party: RelyingParty
) -> PasskeyCredential:
    """Check the authenticator's signature over the challenge; raise SecondFactorRefused."""
    _throttle(user)
    raw_id = credential.get("rawId") if isinstance(credential, dict) else None
    passkey = None
    if isinstance(raw_id, str):
        passkey = db.session.scalar(
            select(PasskeyCredential).where(
                PasskeyCredential.user_id == user.id,
                PasskeyCredential.credential_id == raw_id[:1400],
            )
        )
    refused = SecondFactorRefused(_l("The security key was not accepted. Please try again."))
    if passkey is None:
        record("second_factor.failed", user, actor_id=user.id, details={"kind": "passkey"})
        raise refused
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=party.id,
            expected_origin=party.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
        record("second_factor.failed", user, actor_id=user.id, details={"kind": "passkey"})
        raise refused from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return passkey


def passkey_of(user: User, passkey_id: uuid.UUID) -> PasskeyCredential | None:
    """Return the user's passkey with ``passkey_id``, or None."""
    return db.session.scalar(
        select(PasskeyCredential).where(
            PasskeyCredential.id == passkey_id, PasskeyCredential.user_id == user.id
        )
    )


def remove_passkey(user: User, passkey_id: uuid.UUID, password: str) -> None:
    """Remove one of the user's passkeys after checking their password."""
    check_password(user, password)
    passkey = passkey_of(user, passkey_id)
    if passkey is None:
        return
    db.session.delete(passkey)
    record("second_factor.removed", user, details={"kind": "passkey", "name": passkey.name})


# --- an admin's reset -------------------------------------------------------------------------


def check_password(user: User, password: str, field: str = "password") -> None:
    """Raise AccountError unless ``password`` is the password of ``user``."""
    if not password or not verify_password(user.password_hash, password):
        raise AccountError(_l("The password is not correct."), field)


def reset_second_factors(admin: User, admin_password: str, user: User) -> None:
    """Remove every second factor and recovery code of ``user`` (who lost their device),
    after ``admin`` re-entered their own password; end the user's sessions."""
    check_password(admin, admin_password)
    kinds = []
    if db.session.execute(
        delete(TotpAuthenticator).where(TotpAuthenticator.user_id == user.id)
    ).rowcount:
        kinds.append("totp")
    passkeys = db.session.execute(
        delete(PasskeyCredential).where(PasskeyCredential.user_id == user.id)
    ).rowcount
    if passkeys:
        kinds.append("passkey")
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ended = end_other_sessions(user) if user.id != admin.id else 0
    record(
        "second_factor.reset",
        user,
        details={"removed": kinds, "passkeys": passkeys, "sessions_ended": ended},
    )
