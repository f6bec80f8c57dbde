"""Local portal users: argon2-hashed passwords, roles, enabling and disabling, and the audit
log every sign-in and change is written to."""

from __future__ import annotations

import contextlib
import hashlib
import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pm4ml.ops.schema import ROLES, AuditEntry, OpsUser

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")
PASSWORD_CHARS_MIN = 12
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the answer time the same, so
# timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("pm4ml-no-such-user")


class UserError(ValueError):
    """A user cannot be created or changed; the message says why."""


def check_password(password: str) -> None:
    if len(password) < PASSWORD_CHARS_MIN:
        raise UserError(f"password must have at least {PASSWORD_CHARS_MIN} characters")


async def find_user(session: AsyncSession, username: str) -> OpsUser | None:
    query = select(OpsUser).where(OpsUser.username == username)
    return (await session.execute(query)).scalar_one_or_none()


async def add_user(session: AsyncSession, username: str, password: str, role: str) -> OpsUser:
    """Create an active user; raises :class:`UserError` on a bad name, role or password."""
    if not USERNAME_PATTERN.match(username):
        raise UserError("username: 1-64 letters, digits, '_', '.', '@' or '-'")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    check_password(password)
    if await find_user(session, username) is not None:
        raise UserError(f"user {username!r} already exists")
    user = OpsUser(username=username, password_hash=_hasher.hash(password), role=role, active=True)
    session.add(user)
    await session.flush()
    return user


#: The password hash of users who sign in with the OpenID Connect provider: not an argon2
#: hash, so no password ever matches it.
NO_PASSWORD = "!oidc"  # noqa: S105 (a marker, not a password)
OIDC_PREFIX = "oidc:"


async def oidc_user(
    session: AsyncSession, issuer: str, subject: str, name: str, role: str
) -> OpsUser:
    """The user the provider identified as ``subject``, recorded at the first sign-in, with
    the role the provider gives them now. Their username is ``oidc:<name>``: local usernames
    cannot contain ``:``, so a provider user never takes over a local account, and a second
    subject with the same name gets a suffix from its subject."""
    query = select(OpsUser).where(OpsUser.issuer == issuer, OpsUser.subject == subject)
    user = (await session.execute(query)).scalar_one_or_none()
    if user is not None:
        user.role = role
        return user
    username = OIDC_PREFIX + name[:48]
    if await find_user(session, username) is not None:
        suffix = hashlib.sha256(f"{issuer} {subject}".encode()).hexdigest()[:10]
        username = f"{OIDC_PREFIX}{name[:40]}-{suffix}"
    user = OpsUser(
        username=username,
        password_hash=NO_PASSWORD,
        role=role,
        active=True,
        issuer=issuer,
        subject=subject,
    )
    session.add(user)
    await session.flush()
    return user


async def list_users(session: AsyncSession) -> list[OpsUser]:
    return list((await session.execute(select(OpsUser).order_by(OpsUser.username))).scalars())


async def existing_user(session: AsyncSession, username: str) -> OpsUser:
    user = await find_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


async def set_active(session: AsyncSession, username: str, active: bool) -> OpsUser:
    user = await existing_user(session, username)
    user.active = active
    return user


async def reset_password(session: AsyncSession, username: str, password: str) -> OpsUser:
    check_password(password)
    user = await existing_user(session, username)
    user.password_hash = _hasher.hash(password)
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> OpsUser | None:
    """The active user with this password, or None. Rehashes when argon2's parameters moved."""
    user = await find_user(session, username)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


async def audit(
    session: AsyncSession,
    actor: str,
    action: str,
    target: str | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    source_ip: str | None = None,
) -> None:
    """Append one entry to the audit log, in the caller's transaction."""
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            target=target,
            before=before,
            after=after,
            source_ip=source_ip,
        )
    )


async def audit_entries(session: AsyncSession, limit: int = 500) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
