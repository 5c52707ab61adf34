"""All SQL of the gateway: users and API keys."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_gateway.models import ApiKey, AuditEntry, User
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


async def total_audit(session: AsyncSession, *, action: str | None) -> Total:
    query = select(AuditEntry)
    return await total_of(
        session, query if action is None else query.where(AuditEntry.action == action)
    )


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


async def list_audit(session: AsyncSession, *, action: str | None, limit: int) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
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


async def add(session: AsyncSession, record: User | ApiKey) -> None:
    session.add(record)
    await session.flush()


async def delete_user(session: AsyncSession, user: User) -> None:
    await session.delete(user)
    await session.flush()
