"""Sign-in, the first admin, users, API keys (hashed, scoped, rotated, revoked), OIDC tokens
from a JWKS served over HTTP, rate limits, CORS and the audit log."""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_gateway.accounts import ensure_first_admin
from riskwatch_gateway.credentials import parse_api_key, verify_password
from riskwatch_gateway.repository import get_user_by_email
from riskwatch_shared.db.session import create_session_factory
from riskwatch_shared.testing import wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ALEMBIC_INI,
    CORS_ORIGIN,
    OPS,
    Gateway,
    new_user_token,
    seeded_user_id,
)


async def admin_client(gateway: Gateway) -> httpx.AsyncClient:
    return gateway.client(Authorization=f"Bearer {await gateway.admin_token()}")


async def audit_entries(gateway: Gateway, action: str) -> list[dict[str, Any]]:
    async with await admin_client(gateway) as client:
        response = await client.get("/v1/audit-log", params={"action": action, "limit": 500})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_configured_admin_signs_in_and_gets_a_short_lived_token(gateway: Gateway) -> None:
    async with gateway.client() as client:
        response = await client.post(
            "/v1/auth/token", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == gateway.settings.jwt_ttl_seconds <= 3600
        me = await client.get(
            "/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
    assert me.status_code == 200
    assert me.json()["roles"] == ["admin"]
    assert me.json()["may_unmask"] is True
    entries = await audit_entries(gateway, "sign_in.succeeded")
    assert any(e["subject"] == me.json()["subject"] for e in entries)


async def test_the_oauth2_password_grant_signs_in_as_the_docs_authorize_dialog_does(
    gateway: Gateway,
) -> None:
    form = {"grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    async with gateway.client(**{"X-Forwarded-For": random_ip()}) as client:
        granted = await client.post("/v1/auth/token", data={**form, "scope": "", "client_id": ""})
        me = await client.get(
            "/v1/auth/me", headers={"Authorization": f"Bearer {granted.json()['access_token']}"}
        )
        wrong = await client.post("/v1/auth/token", data={**form, "password": "guess"})
        other_grant = await client.post(
            "/v1/auth/token", data={**form, "grant_type": "client_credentials"}
        )
        no_password = await client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": ADMIN_EMAIL}
        )
        json_still = await client.post(
            "/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        doc = (await client.get("/openapi.json", headers=OPS)).json()
    assert granted.status_code == 200, granted.text
    assert granted.json()["token_type"] == "bearer"
    assert me.json()["roles"] == ["admin"]
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["error"] == "invalid_grant"  # RFC 6749 5.2, beside the problem
    for refused, field in ((other_grant, "grant_type"), (no_password, "password")):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["loc"] == ["form", field]
    assert json_still.status_code == 200
    scheme = doc["components"]["securitySchemes"]["oauth2Password"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/v1/auth/token"
    content = doc["paths"]["/v1/auth/token"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    form_schema = content["application/x-www-form-urlencoded"]["schema"]
    assert {"grant_type", "username", "password"} <= set(form_schema["required"])
    assert {"oauth2Password": []} in doc["paths"]["/v1/auth/me"]["get"]["security"]


async def test_wrong_password_is_refused_and_audited(gateway: Gateway) -> None:
    async with gateway.client() as client:
        response = await client.post(
            "/v1/auth/token", json={"email": "nobody@bank.test", "password": "guess"}
        )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"

    async def audited() -> bool:
        entries = await audit_entries(gateway, "sign_in.failed")
        return any(e["subject"] == "nobody@bank.test" for e in entries)

    await wait_until(audited, message="failed sign-in in the audit log")


def random_ip() -> str:
    return f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"


async def test_wrong_passwords_back_off_exponentially_and_never_lock_the_user_out(
    gateway: Gateway,
) -> None:
    free = gateway.settings.sign_in_free_failures
    email, password = f"target-{uuid.uuid4().hex[:6]}@bank.test", "the-right-password-1"
    async with await admin_client(gateway) as admin:
        created = await admin.post(
            "/v1/users", json={"email": email, "roles": ["viewer"], "password": password}
        )
        assert created.status_code == 201, created.text
    gatekeeper = gateway.state.gatekeeper
    backoffs = (gatekeeper.account_from_client, gatekeeper.client_backoff,
                gatekeeper.account_backoff)  # fmt: skip
    offset = 0.0
    for backoff in backoffs:  # a clock we can move instead of waiting
        backoff.clock = lambda: 1_000_000.0 + offset
    attacker = {"X-Forwarded-For": f"10.0.0.1, {random_ip()}"}  # the right-most hop counts
    wrong = {"email": email, "password": "guess"}
    right = {"email": email, "password": password}

    async def sign_in(body: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        async with gateway.client(**headers) as client:
            return await client.post("/v1/auth/token", json=body)

    try:
        statuses = [(await sign_in(wrong, attacker)).status_code for _ in range(free)]
        assert statuses == [401] * free
        backing_off = await sign_in(right, attacker)  # not even the right password now
        assert backing_off.status_code == 429
        assert backing_off.headers["content-type"] == "application/problem+json"
        assert backing_off.headers["retry-after"] == "1"
        real_user = await sign_in(right, {"X-Forwarded-For": random_ip()})
        assert real_user.status_code == 200  # another client: no lock-out
        offset += 1.0
        assert (await sign_in(wrong, attacker)).status_code == 401
        longer = await sign_in(wrong, attacker)
        assert longer.status_code == 429
        assert longer.headers["retry-after"] == "2"  # exponential
        offset += 2.0
        assert (await sign_in(right, attacker)).status_code == 200
        assert (await sign_in(wrong, attacker)).status_code == 401  # the success reset it
    finally:
        for backoff in backoffs:
            backoff.clock = time.monotonic


async def test_first_start_generates_a_password_and_prints_it_once(
    infra: Infra, capsys: pytest.CaptureFixture[str]
) -> None:
    async for url in migrated_database(infra, ALEMBIC_INI, "gwboot"):
        engine = create_async_engine(url)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            generated = await ensure_first_admin(session, email="Ops@Bank.test", password=None)
        async with sessions() as session:
            again = await ensure_first_admin(session, email="ops@bank.test", password=None)
            admin = await get_user_by_email(session, "ops@bank.test")
        await engine.dispose()
        assert generated is not None
        assert again is None
        assert admin is not None
        assert admin.roles == ["admin"]
        assert verify_password(admin.password_hash, generated)
        assert generated not in admin.password_hash
        printed = capsys.readouterr().err
        assert printed.count(generated) == 1


async def test_users_are_managed_by_admins(gateway: Gateway) -> None:
    email = f"ana-{uuid.uuid4().hex[:6]}@bank.test"
    async with await admin_client(gateway) as admin:
        created = await admin.post(
            "/v1/users",
            json={"email": email, "roles": ["analyst"], "name": "Ana", "password": "x" * 14},
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        assert created.json()["generated_password"] is None
        assert "password_hash" not in created.json()
        duplicate = await admin.post("/v1/users", json={"email": email, "roles": ["viewer"]})
        assert duplicate.status_code == 409
        async with gateway.client() as anonymous:
            signed_in = await anonymous.post(
                "/v1/auth/token", json={"email": email, "password": "x" * 14}
            )
            assert signed_in.status_code == 200
            token = signed_in.json()["access_token"]
            me = await anonymous.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["roles"] == ["analyst"]
            patched = await admin.patch(
                f"/v1/users/{user_id}",
                json={"roles": ["relationship_manager"], "staff_id": "RM-7", "active": False},
            )
            assert patched.status_code == 200, patched.text
            assert patched.json()["roles"] == ["relationship_manager"]
            disabled = await anonymous.post(
                "/v1/auth/token", json={"email": email, "password": "x" * 14}
            )
            assert disabled.status_code == 401
        listed = await admin.get("/v1/users", params={"limit": 500})
        assert user_id in {u["id"] for u in listed.json()["items"]}
        assert (await admin.get(f"/v1/users/{user_id}")).json()["staff_id"] == "RM-7"
        assert (await admin.delete(f"/v1/users/{user_id}")).status_code == 204
        assert (await admin.get(f"/v1/users/{user_id}")).status_code == 404
        generated = await admin.post("/v1/users", json={"email": f"g-{email}", "roles": ["viewer"]})
        assert len(generated.json()["generated_password"]) >= 16


async def test_the_last_admin_cannot_be_removed(gateway: Gateway) -> None:
    async with await admin_client(gateway) as admin:
        me = (await admin.get("/v1/auth/me")).json()
        refused = await admin.patch(f"/v1/users/{me['subject']}", json={"roles": ["viewer"]})
        deleted = await admin.delete(f"/v1/users/{me['subject']}")
    assert refused.status_code == 409
    assert deleted.status_code == 409


async def test_api_key_lifecycle_secret_once_hashed_rotated_revoked(gateway: Gateway) -> None:
    async with await admin_client(gateway) as admin:
        created = await admin.post(
            "/v1/api-keys", json={"name": "core", "roles": ["ingest"], "scopes": []}
        )
        assert created.status_code == 201, created.text
        key = created.json()
        secret = key["secret"]
        assert secret.startswith(f"rw_{key['id']}_")
        shown = await admin.get(f"/v1/api-keys/{key['id']}")
        assert "secret" not in shown.json()
        listed = await admin.get("/v1/api-keys", params={"limit": 500})
        assert "secret" not in listed.text.replace('"secret_', "")
        assert secret not in listed.text

        async with gateway.client() as machine:
            pushed = await machine.post("/v1/transactions", json={}, headers={"X-API-Key": secret})
            as_bearer = await machine.post(
                "/v1/transactions/batch", json={}, headers={"Authorization": f"Bearer {secret}"}
            )
            assert pushed.status_code == as_bearer.status_code == 200
            identity = pushed.json()["identity"]
            assert identity["kind"] == "api_key"
            assert identity["subject"] == f"api_key:{key['id']}"
            assert pushed.json()["api_key"] is None  # the key itself never reaches a service

            rotated = await admin.post(f"/v1/api-keys/{key['id']}/rotate")
            assert rotated.status_code == 200
            new_secret = rotated.json()["secret"]
            assert new_secret != secret
            for presented in (new_secret, secret):  # the old one is in its grace period
                ok = await machine.post(
                    "/v1/transactions", json={}, headers={"X-API-Key": presented}
                )
                assert ok.status_code == 200

            revoked = await admin.post(f"/v1/api-keys/{key['id']}/revoke")
            assert revoked.json()["revoked_at"] is not None
            for presented in (new_secret, secret):
                refused = await machine.post(
                    "/v1/transactions", json={}, headers={"X-API-Key": presented}
                )
                assert refused.status_code == 401

    engine = create_async_engine(gateway.database_url)
    async with engine.connect() as conn:
        row = (
            (await conn.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": key["id"]}))
            .mappings()
            .one()
        )
    await engine.dispose()
    parsed = parse_api_key(new_secret)
    assert parsed is not None
    assert row["secret_hash"] == hashlib.sha256(parsed.secret.encode()).digest()
    assert all(new_secret not in str(value) for value in row.values())

    async def key_use_audited() -> bool:
        entries = await audit_entries(gateway, "api_key.used")
        return any(e["subject"] == f"api_key:{key['id']}" for e in entries)

    await wait_until(key_use_audited, message="key use in the audit log")


async def test_scopes_narrow_a_key_to_its_areas(gateway: Gateway) -> None:
    async with await admin_client(gateway) as admin:
        created = await admin.post(
            "/v1/api-keys",
            json={"name": "dashboard", "roles": ["analyst"], "scopes": ["alerts:read"]},
        )
        bad_scope = await admin.post(
            "/v1/api-keys", json={"name": "x", "roles": ["analyst"], "scopes": ["alerts:all"]}
        )
    assert bad_scope.status_code == 422
    headers = {"X-API-Key": created.json()["secret"]}
    async with gateway.client(**headers) as client:
        assert (await client.get("/v1/alerts")).status_code == 200
        assert (
            await client.post(f"/v1/alerts/{uuid.uuid4()}/acknowledge", json={})
        ).status_code == 403
        assert (await client.get("/v1/customers")).status_code == 403


async def test_rate_limits_per_key_and_per_user_answer_429_with_retry_after(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await admin_client(gateway) as admin:
        created = await admin.post(
            "/v1/api-keys", json={"name": "slow", "roles": ["ingest"], "rate_limit_per_minute": 60}
        )
    burst = int(60 / 60 * gateway.settings.rate_limit_burst_seconds)
    async with gateway.client(**{"X-API-Key": created.json()["secret"]}) as client:
        statuses = [
            (await client.post("/v1/transactions", json={})).status_code for _ in range(burst)
        ]
        limited = await client.post("/v1/transactions", json={})
    assert statuses == [200] * burst
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["content-type"] == "application/problem+json"

    user_id, token = await new_user_token(gateway.settings, gateway.database_url, "viewer")
    subject = str(user_id)
    per_minute = gateway.settings.rate_limits_per_minute["viewer"]
    limiter = gateway.state.gatekeeper.limiter
    frozen = limiter.clock()
    monkeypatch.setattr(limiter, "clock", lambda: frozen)  # no refill while we look
    while limiter.take(subject, per_minute) == 0.0:  # spend this user's whole burst
        pass
    async with gateway.client(Authorization=f"Bearer {token}") as client:
        user_limited = await client.get("/v1/alerts")
        own_limited = await client.get("/v1/auth/me")
        other = await client.get("/v1/alerts", headers=gateway.bearer("viewer"))
    assert user_limited.status_code == own_limited.status_code == 429
    assert int(own_limited.headers["retry-after"]) >= 1
    assert other.status_code == 200


async def test_oidc_provider_tokens_are_verified_with_its_jwks(gateway: Gateway) -> None:
    oidc = gateway.oidc
    good = oidc.token(roles=["analyst", "superuser"], sub="jane", staff_id="S-1")
    async with gateway.client() as client:
        me = await client.get("/v1/auth/me", headers={"Authorization": f"Bearer {good}"})
        assert me.status_code == 200, me.text
        assert me.json()["subject"] == "oidc:jane"
        assert me.json()["roles"] == ["analyst"]  # unknown roles are dropped
        proxied = await client.get("/v1/alerts", headers={"Authorization": f"Bearer {good}"})
        assert proxied.json()["identity"]["staff_id"] == "S-1"

        from cryptography.hazmat.primitives.asymmetric import rsa

        forged = type(oidc)(
            rsa.generate_private_key(public_exponent=65537, key_size=2048), oidc.kid, oidc.url
        ).token(roles=["admin"])
        expired = oidc.token(roles=["admin"], ttl=-120)
        wrong_audience = oidc.token(roles=["admin"], aud="someone-else")
        for bad in (forged, expired, wrong_audience):
            refused = await client.get("/v1/alerts", headers={"Authorization": f"Bearer {bad}"})
            assert refused.status_code == 401, bad


async def test_cors_allows_only_configured_origins(gateway: Gateway) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    async with gateway.client() as client:
        allowed = await client.options("/v1/alerts", headers={"Origin": CORS_ORIGIN, **preflight})
        refused = await client.options(
            "/v1/alerts", headers={"Origin": "https://evil.test", **preflight}
        )
        simple = await client.get(
            "/v1/alerts", headers={"Origin": CORS_ORIGIN, **gateway.bearer("viewer")}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == CORS_ORIGIN


async def test_denials_are_audited_in_batches(gateway: Gateway) -> None:
    path = f"/v1/users/{uuid.uuid4()}"
    async with gateway.client(**gateway.bearer("viewer")) as client:
        for _ in range(3):
            assert (await client.get(path)).status_code == 403

    async def denied() -> list[dict[str, Any]]:
        entries = await audit_entries(gateway, "access.denied")
        return [e for e in entries if e["path"] == path]

    entries = await wait_until(denied, message="denials in the audit log")
    assert entries[0]["status"] == 403
    assert entries[0]["subject"] == str(seeded_user_id("viewer", None))
    assert entries[0]["request_id"]
