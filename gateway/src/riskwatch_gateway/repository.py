"""All SQL of the gateway: users and API keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_gateway.models import ApiKey, AuditEntry, RefreshToken, User
from riskwatch_shared.db.totals import Total, total_of


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email.lower()))
    return result.scalar_one_or_none()


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def user_token_state(session: AsyncSession, user_id: uuid.UUID) -> tuple[bool, int] | None:
    """(active, token_version) of a user, None when there is no such user."""
    query = select(User.active, User.token_version).where(User.id == user_id)
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (bool(row[0]), int(row[1]))


async def list_users(session: AsyncSession, *, limit: int, after: uuid.UUID | None) -> list[User]:
    query = select(User).order_by(User.id).limit(limit)
    if after is not None:
        query = query.where(User.id > after)
    return list((await session.execute(query)).scalars())


async def total_users(session: AsyncSession) -> Total:
    return await total_of(session, select(User))


async def total_api_keys(session: AsyncSession) -> Total:
    return await total_of(session, select(ApiKey))


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries: an action (`sign_in.failed`) or a family of them (`api_key.*`),
    who did it, the path it was about (a prefix), and when (from inclusive, until exclusive)."""

    action: str | None = None
    subject: str | None = None
    path: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def applied(self, query: Select[Any]) -> Select[Any]:
        if self.action is not None and self.action.endswith(".*"):
            family = self.action.removesuffix("*")
            query = query.where(AuditEntry.action.startswith(family, autoescape=True))
        elif self.action is not None:
            query = query.where(AuditEntry.action == self.action)
        if self.subject is not None:
            query = query.where(AuditEntry.subject == self.subject)
        if self.path is not None:
            query = query.where(AuditEntry.path.startswith(self.path, autoescape=True))
        if self.since is not None:
            query = query.where(AuditEntry.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(AuditEntry.occurred_at < self.until)
        return query


async def total_audit(session: AsyncSession, *, where: AuditFilter) -> Total:
    return await total_of(session, where.applied(select(AuditEntry)))


async def count_admins(session: AsyncSession) -> int:
    query = select(func.count()).select_from(User).where(User.roles.contains(["admin"]))
    return int((await session.execute(query)).scalar_one())


async def get_api_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def list_api_keys(session: AsyncSession, *, limit: int, after: str | None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id).limit(limit)
    if after is not None:
        query = query.where(ApiKey.id > after)
    return list((await session.execute(query)).scalars())


async def list_audit(
    session: AsyncSession, *, where: AuditFilter, limit: int, before: int | None = None
) -> list[AuditEntry]:
    """Newest first; `before` is the cursor (the last id of the page before)."""
    query = where.applied(select(AuditEntry)).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list((await session.execute(query)).scalars())


async def count_active_admins(session: AsyncSession, *, excluding: uuid.UUID | None = None) -> int:
    query = (
        select(func.count())
        .select_from(User)
        .where(User.roles.contains(["admin"]), User.active.is_(True))
    )
    if excluding is not None:
        query = query.where(User.id != excluding)
    return int((await session.execute(query)).scalar_one())


async def add(session: AsyncSession, record: User | ApiKey | RefreshToken) -> None:
    session.add(record)
    await session.flush()


async def delete_user(session: AsyncSession, user: User) -> None:
    await session.delete(user)
    await session.flush()


async def get_refresh_token(session: AsyncSession, token_hash: bytes) -> RefreshToken | None:
    """The refresh token with this hash, locked until the transaction ends: two refreshes
    with one token are decided one after the other."""
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def nonce_used(session: AsyncSession, nonce_hash: bytes) -> bool:
    query = select(RefreshToken.id).where(RefreshToken.nonce_hash == nonce_hash)
    return (await session.execute(query)).first() is not None


async def delete_ended_refresh_tokens(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> None:
    """A user's refresh tokens past their sign-in's end: nothing can use them any more."""
    await session.execute(
        delete(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.expires_at < now)
    )


async def revoke_refresh_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def get_user_by_staff_id(session: AsyncSession, staff_id: str) -> User | None:
    """The user with this staff id (None when there is none, or more than one)."""
    query = select(User).where(User.staff_id == staff_id).limit(2)
    users = list((await session.execute(query)).scalars())
    return users[0] if len(users) == 1 else None
