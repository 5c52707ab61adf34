"""Refresh tokens: an active person stays signed in past the 15-minute access token.

Each refresh token is used once and replaced by the next of its family (one sign-in); the
family ends at its fixed expiry, on sign-out (revocation), when a used token is presented again
after the grace (a stolen copy: the whole family is revoked) and when its user is disabled or
their roles, staff id or password change (the user's token version moved on).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_gateway import repository
from riskwatch_gateway.models import RefreshToken, User

PREFIX = "rt_"


def token_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class Refreshed:
    user: User
    refresh_token: str
    family_id: uuid.UUID


async def start_family(
    session: AsyncSession,
    *,
    user: User,
    method: str,
    ttl_seconds: int,
    nonce: str | None = None,
) -> str:
    """The first refresh token of a sign-in (the user's ended sign-ins are forgotten)."""
    now = datetime.now(UTC)
    await repository.delete_ended_refresh_tokens(session, user.id, now)
    return await _issue(
        session,
        user=user,
        family_id=uuid.uuid4(),
        token_version=user.token_version,
        method=method,
        expires_at=now + timedelta(seconds=ttl_seconds),
        nonce_hash=token_hash(nonce) if nonce is not None else None,
    )


async def _issue(
    session: AsyncSession,
    *,
    user: User,
    family_id: uuid.UUID,
    token_version: int,
    method: str,
    expires_at: datetime,
    nonce_hash: bytes | None = None,
) -> str:
    secret = PREFIX + secrets.token_urlsafe(32)
    record = RefreshToken(
        token_hash=token_hash(secret),
        family_id=family_id,
        user_id=user.id,
        token_version=token_version,
        method=method,
        nonce_hash=nonce_hash,
        created_at=datetime.now(UTC),
        expires_at=expires_at,
    )
    await repository.add(session, record)
    return secret


@dataclass(frozen=True)
class Refusal:
    """Why a refresh was refused; when `revoked`, the sign-in was ended (to be committed)."""

    reason: str
    revoked: bool = False


async def rotate(
    session: AsyncSession, *, presented: str, grace_seconds: float
) -> Refreshed | Refusal:
    """The next refresh token of the family for the presented one, and its user; or why not."""
    now = datetime.now(UTC)
    record = await repository.get_refresh_token(session, token_hash(presented))
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return Refusal("unknown, revoked or expired refresh token")
    if record.used_at is not None and now - record.used_at > timedelta(seconds=grace_seconds):
        # Presented twice: one of the two holders is not the person. End the sign-in.
        await repository.revoke_refresh_family(session, record.family_id, now)
        return Refusal("refresh token already used: the sign-in is ended", revoked=True)
    user = await repository.get_user(session, record.user_id)
    if user is None or not user.active or user.token_version != record.token_version:
        await repository.revoke_refresh_family(session, record.family_id, now)
        return Refusal("the user is disabled or changed: sign in again", revoked=True)
    record.used_at = record.used_at or now
    secret = await _issue(
        session,
        user=user,
        family_id=record.family_id,
        token_version=record.token_version,
        method=record.method,
        expires_at=record.expires_at,
    )
    return Refreshed(user, secret, record.family_id)


async def revoke(session: AsyncSession, *, presented: str) -> bool:
    """End the sign-in the refresh token belongs to (sign-out); False when it is unknown."""
    record = await repository.get_refresh_token(session, token_hash(presented))
    if record is None:
        return False
    await repository.revoke_refresh_family(session, record.family_id, datetime.now(UTC))
    return True
