"""User, role and API-key changes are audited in the change's own transaction; access events
are never dropped, however full the queue."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from riskwatch_gateway.audit import AuditLog
from riskwatch_gateway.errors import AuditUnavailable
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.testing import wait_until

from .conftest import Gateway


@pytest.fixture
async def engine(gateway: Gateway) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(gateway.database_url)
    yield engine
    await engine.dispose()


async def audit_rows(engine: AsyncEngine, action: str, **detail: str) -> list[dict[str, Any]]:
    """Audit rows of `action` whose detail holds `detail`, with the id of the transaction that
    wrote each (xmin)."""
    query = text(
        "SELECT subject, detail, xmin::text AS xid FROM audit_log "
        "WHERE action = :action AND detail @> CAST(:detail AS jsonb) ORDER BY id"
    )
    async with engine.connect() as conn:
        result = await conn.execute(query, {"action": action, "detail": json.dumps(detail)})
        return [dict(row._mapping) for row in result]


async def row_xid(engine: AsyncEngine, table: str, key: str, value: str) -> str:
    async with engine.connect() as conn:
        query = text(f"SELECT xmin::text FROM {table} WHERE {key}::text = :value")
        return str((await conn.execute(query, {"value": value})).scalar_one())


async def test_user_and_role_changes_are_audited_in_their_own_transaction(
    gateway: Gateway, engine: AsyncEngine
) -> None:
    actor = str(gateway.admin_id)
    email = f"audited-{uuid.uuid4().hex[:6]}@bank.test"
    async with gateway.client(Authorization=f"Bearer {gateway.token('admin')}") as admin:
        created = await admin.post("/v1/users", json={"email": email, "roles": ["analyst"]})
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        (row,) = await audit_rows(engine, "user.created", user_id=user_id)
        assert row["subject"] == actor
        assert row["detail"]["roles"] == ["analyst"]
        assert row["xid"] == await row_xid(engine, "users", "id", user_id)

        await admin.patch(f"/v1/users/{user_id}", json={"roles": ["viewer"], "password": "p" * 14})
        (row,) = await audit_rows(engine, "user.roles_changed", user_id=user_id)
        assert row["detail"]["before"]["roles"] == ["analyst"]
        assert row["detail"]["after"]["roles"] == ["viewer"]
        assert "password" in row["detail"]["changed"]
        assert "p" * 14 not in str(row["detail"])  # never a secret
        assert row["xid"] == await row_xid(engine, "users", "id", user_id)

        await admin.patch(f"/v1/users/{user_id}", json={"active": False})
        (row,) = await audit_rows(engine, "user.disabled", user_id=user_id)
        assert row["xid"] == await row_xid(engine, "users", "id", user_id)

        assert (await admin.delete(f"/v1/users/{user_id}")).status_code == 204
        (row,) = await audit_rows(engine, "user.deleted", user_id=user_id)
        assert row["detail"]["email"] == email

        refused = await admin.patch(f"/v1/users/{actor}", json={"roles": ["viewer"]})
        assert refused.status_code == 409  # the last admin: no change, and no audit row
        assert await audit_rows(engine, "user.roles_changed", user_id=actor) == []


async def test_api_key_changes_are_audited_in_their_own_transaction(
    gateway: Gateway, engine: AsyncEngine
) -> None:
    async with gateway.client(Authorization=f"Bearer {gateway.token('admin')}") as admin:
        created = await admin.post("/v1/api-keys", json={"name": "audited", "roles": ["admin"]})
        key = created.json()
        (row,) = await audit_rows(engine, "api_key.created", key_id=key["id"])
        assert row["detail"]["roles"] == ["admin"]
        assert key["secret"] not in str(row["detail"])
        assert row["xid"] == await row_xid(engine, "api_keys", "id", key["id"])
        await admin.post(f"/v1/api-keys/{key['id']}/rotate")
        (row,) = await audit_rows(engine, "api_key.rotated", key_id=key["id"])
        assert row["xid"] == await row_xid(engine, "api_keys", "id", key["id"])
        await admin.post(f"/v1/api-keys/{key['id']}/revoke")
        (row,) = await audit_rows(engine, "api_key.revoked", key_id=key["id"])
        assert row["xid"] == await row_xid(engine, "api_keys", "id", key["id"])


async def test_the_audit_log_filters_by_family_subject_path_and_time_and_pages(
    gateway: Gateway,
) -> None:
    started = datetime.now(UTC)
    async with gateway.client(Authorization=f"Bearer {gateway.token('admin')}") as admin:
        me = (await admin.get("/v1/auth/me")).json()["subject"]
        names = [f"filtered-{uuid.uuid4().hex[:6]}" for _ in range(3)]
        keys = [(await admin.post("/v1/api-keys", json={"name": n})).json() for n in names]
        await admin.post(f"/v1/api-keys/{keys[0]['id']}/revoke")
        params = {"action": "api_key.*", "subject": me, "since": started.isoformat()}
        first = (await admin.get("/v1/audit-log", params={**params, "limit": 2})).json()
        assert first["total"] == 4  # three created, one revoked
        assert [e["action"] for e in first["items"]] == ["api_key.revoked", "api_key.created"]
        assert first["next_cursor"] is not None
        page_two = {**params, "before": first["next_cursor"]}
        rest = (await admin.get("/v1/audit-log", params=page_two)).json()
        assert [e["detail"]["key_id"] for e in rest["items"]] == [keys[1]["id"], keys[0]["id"]]
        assert rest["next_cursor"] is None
        until = await admin.get("/v1/audit-log", params={**params, "until": started.isoformat()})
        assert until.status_code == 422  # until must come after since
        before_all = {"action": "api_key.*", "until": started.isoformat(), "limit": 500}
        earlier = (await admin.get("/v1/audit-log", params=before_all)).json()["items"]
        assert not {e["detail"].get("key_id") for e in earlier} & {k["id"] for k in keys}
        async with gateway.client(Authorization=f"Bearer {gateway.token('analyst')}") as analyst:
            assert (await analyst.get("/v1/audit-log", params=params)).status_code == 403
            analyst_me = (await analyst.get("/v1/auth/me")).json()["subject"]
        refusals = {"action": "access.denied", "subject": analyst_me, "path": "/v1/audit",
                    "since": started.isoformat()}  # fmt: skip

        async def refused_seen() -> list[dict[str, Any]] | None:
            found = (await admin.get("/v1/audit-log", params=refusals)).json()["items"]
            return found or None

        (refusal,) = await wait_until(refused_seen, timeout=10, message="the refusal audited")
        assert refusal["path"] == "/v1/audit-log"
        for hostile in ({"action": "api_key.%"}, {"since": "2026-01-01T00:00:00"},
                        {"path": "not-a-path"}, {"before": "0"}):  # fmt: skip
            refused = await admin.get("/v1/audit-log", params=hostile)
            assert refused.status_code == 422, hostile
            assert refused.headers["content-type"].startswith("application/problem+json")


async def test_a_full_queue_makes_callers_wait_and_drops_nothing(
    gateway: Gateway, engine: AsyncEngine
) -> None:
    audit = AuditLog(create_session_factory(engine), queue_size=2, flush_interval_seconds=0.01)
    marker = uuid.uuid4().hex
    records = [
        asyncio.create_task(audit.record("access.denied", status=401, marker=marker, n=n))
        for n in range(5)
    ]

    async def waiting() -> bool:
        return audit.waited == 3

    await wait_until(waiting, message="three callers waiting for room")
    assert sum(task.done() for task in records) == 2
    audit.start()  # the writer catches up: every waiting entry goes in
    await asyncio.gather(*records)

    async def all_stored() -> list[dict[str, Any]]:
        rows = await audit_rows(engine, "access.denied", marker=marker)
        return rows if len(rows) == 5 else []

    await wait_until(all_stored, message="all five entries stored")
    await audit.stop()

    stuck = AuditLog(create_session_factory(engine), queue_size=1, put_timeout_seconds=0.05)
    await stuck.record("access.denied", marker=marker)
    with pytest.raises(AuditUnavailable):  # refused (503) rather than served unaudited
        await stuck.record("access.denied", marker=marker)
