"""Users and API keys: the first admin, sign-in, user and key management."""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_gateway import repository
from riskwatch_gateway.audit import audit_change
from riskwatch_gateway.credentials import (
    generate_password,
    hash_api_secret,
    hash_password,
    new_api_key,
    verify_password,
)
from riskwatch_gateway.errors import ApiKeyNotFound, EmailTaken, LastAdmin, UserNotFound
from riskwatch_gateway.models import ApiKey, User
from riskwatch_gateway.schemas import ApiKeyCreate, UserCreate, UserUpdate
from riskwatch_shared.logging import get_logger

log = get_logger(__name__)


async def ensure_first_admin(
    session: AsyncSession, *, email: str, password: str | None
) -> str | None:
    """Create the admin when there is none. Returns the password when it was generated."""
    if await repository.count_admins(session) > 0:
        return None
    generated = None if password else generate_password()
    user = User(
        email=email.lower(),
        name="Administrator",
        password_hash=await asyncio.to_thread(hash_password, password or str(generated)),
        roles=["admin"],
        active=True,
    )
    try:
        await repository.add(session, user)
        audit_change(session, "user.created", actor="system", user_id=str(user.id),
                     email=user.email, roles=list(user.roles), first_admin=True)  # fmt: skip
        await session.commit()
    except IntegrityError:  # another replica won the race
        await session.rollback()
        return None
    log.info("gateway.admin_created", email=user.email, generated_password=generated is not None)
    if generated is not None:
        # Printed once, on purpose: nobody else knows it and it is never stored in clear.
        print(f"RiskWatch admin created: {user.email} / password: {generated}", file=sys.stderr)
    return generated


async def sign_in(session: AsyncSession, *, email: str, password: str) -> User | None:
    user = await repository.get_user_by_email(session, email)
    stored = user.password_hash if user is not None and user.active else None
    if not await asyncio.to_thread(verify_password, stored, password):
        return None
    assert user is not None
    user.last_sign_in_at = datetime.now(UTC)
    await session.flush()
    return user


async def sso_user(session: AsyncSession, *, field: str, key: str) -> User | None:
    """The enabled user an OIDC identity names (by email or staff id), or None."""
    if field == "email":
        user = await repository.get_user_by_email(session, key)
    else:
        user = await repository.get_user_by_staff_id(session, key)
    if user is None or not user.active:
        return None
    user.last_sign_in_at = datetime.now(UTC)
    await session.flush()
    return user


async def create_user(
    session: AsyncSession, *, data: UserCreate, actor: str
) -> tuple[User, str | None]:
    generated = None if data.password else generate_password()
    password = data.password or str(generated)
    if await repository.get_user_by_email(session, data.email) is not None:
        raise EmailTaken(f"{data.email} already has an account")
    user = User(
        email=data.email.lower(),
        name=data.name,
        password_hash=await asyncio.to_thread(hash_password, password),
        roles=list(data.roles),
        staff_id=data.staff_id,
        active=True,
    )
    await repository.add(session, user)
    audit_change(session, "user.created", actor=actor, user_id=str(user.id), email=user.email,
                 roles=list(user.roles), staff_id=user.staff_id)  # fmt: skip
    return user, generated


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> User:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


async def update_user(
    session: AsyncSession, *, user_id: uuid.UUID, data: UserUpdate, actor: str
) -> User:
    user = await get_user(session, user_id=user_id)
    before = {"roles": list(user.roles), "active": user.active, "staff_id": user.staff_id}
    changes = data.model_dump(exclude_unset=True)
    losing_admin = ("roles" in changes and "admin" not in (changes["roles"] or ())) or (
        changes.get("active") is False
    )
    if losing_admin and "admin" in user.roles:
        await _keep_an_admin(session, user)
    revoke_tokens = False
    if data.password:
        user.password_hash = await asyncio.to_thread(hash_password, data.password)
        revoke_tokens = True
    if data.active is not None and data.active != user.active:
        revoke_tokens = True
    for field in ("name", "staff_id", "active"):
        if field in changes and (field != "active" or changes[field] is not None):
            setattr(user, field, changes[field])
    if data.roles and sorted(set(data.roles)) != sorted(user.roles):
        user.roles = sorted(set(data.roles))
        revoke_tokens = True
    if "staff_id" in changes:  # whose customers an RM sees is in the token
        revoke_tokens = True
    if revoke_tokens:
        # Every token issued before this change stops working at the next request.
        user.token_version += 1
    after = {"roles": list(user.roles), "active": user.active, "staff_id": user.staff_id}
    changed = sorted(changes.keys() - {"password"}) + (["password"] if data.password else [])
    action = "user.disabled" if before["active"] and not user.active else "user.updated"
    if before["roles"] != after["roles"]:
        action = "user.roles_changed" if action == "user.updated" else action
    audit_change(session, action, actor=actor, user_id=str(user.id), changed=changed,
                 before=before, after=after)  # fmt: skip
    await session.flush()
    return user


async def delete_user(session: AsyncSession, *, user_id: uuid.UUID, actor: str) -> None:
    user = await get_user(session, user_id=user_id)
    if "admin" in user.roles:
        await _keep_an_admin(session, user)
    audit_change(session, "user.deleted", actor=actor, user_id=str(user.id), email=user.email,
                 roles=list(user.roles))  # fmt: skip
    await repository.delete_user(session, user)


async def _keep_an_admin(session: AsyncSession, user: User) -> None:
    if await repository.count_active_admins(session, excluding=user.id) == 0:
        raise LastAdmin(f"{user.email} is the last active admin")


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    secret: str


async def create_api_key(
    session: AsyncSession, *, data: ApiKeyCreate, created_by: str
) -> IssuedKey:
    issued = new_api_key()
    record = ApiKey(
        id=issued.key_id,
        name=data.name,
        roles=list(data.roles),
        scopes=list(data.scopes),
        secret_hash=hash_api_secret(issued.secret),
        rate_limit_per_minute=data.rate_limit_per_minute,
        created_by=created_by,
    )
    await repository.add(session, record)
    audit_change(session, "api_key.created", actor=created_by, key_id=record.id, name=record.name,
                 roles=list(record.roles), scopes=list(record.scopes))  # fmt: skip
    return IssuedKey(record, issued.full)


async def get_api_key(session: AsyncSession, *, key_id: str) -> ApiKey:
    record = await repository.get_api_key(session, key_id)
    if record is None:
        raise ApiKeyNotFound(f"no API key {key_id}")
    return record


async def rotate_api_key(
    session: AsyncSession, *, key_id: str, grace_seconds: int, actor: str
) -> IssuedKey:
    """A new secret; the previous one keeps working for `grace_seconds`."""
    record = await get_api_key(session, key_id=key_id)
    if record.revoked_at is not None:
        raise ApiKeyNotFound(f"API key {key_id} is revoked")
    issued = new_api_key(record.id)
    now = datetime.now(UTC)
    record.previous_secret_hash = record.secret_hash
    record.previous_valid_until = now + timedelta(seconds=grace_seconds)
    record.secret_hash = hash_api_secret(issued.secret)
    record.rotated_at = now
    audit_change(session, "api_key.rotated", actor=actor, key_id=record.id,
                 previous_valid_seconds=grace_seconds)  # fmt: skip
    await session.flush()
    return IssuedKey(record, issued.full)


async def revoke_api_key(session: AsyncSession, *, key_id: str, actor: str) -> ApiKey:
    record = await get_api_key(session, key_id=key_id)
    if record.revoked_at is None:
        record.revoked_at = datetime.now(UTC)
        record.previous_valid_until = None
        audit_change(session, "api_key.revoked", actor=actor, key_id=record.id)
        await session.flush()
    return record
