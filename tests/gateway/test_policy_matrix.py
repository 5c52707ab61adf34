"""Every public operation in the policy table x every role: allowed or refused as designed,
and nothing reachable without credentials. Proxied operations must reach the right service
carrying the caller's signed identity; the gateway's own ones must get past admission."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from riskwatch_gateway.routing import service_for_path
from riskwatch_shared.policy import DEFAULT_POLICY, REST, ROLES, Rule

from .conftest import Gateway

RULES = [rule for rule in DEFAULT_POLICY.rules if not rule.is_public]
SAMPLE_ID = str(uuid.UUID(int=7))


def example_path(rule: Rule) -> str:
    path = rule.template.replace(REST, "sub/resource")
    return re.sub(r"\{[^}]+\}", SAMPLE_ID, path)


async def call(client: httpx.AsyncClient, rule: Rule, headers: dict[str, str]) -> httpx.Response:
    body: dict[str, Any] | None = None if rule.method in ("GET", "DELETE") else {}
    return await client.request(rule.method, example_path(rule), json=body, headers=headers)


async def in_batches(
    rules: list[Rule], check: Callable[[Rule], Awaitable[str | None]], size: int = 16
) -> list[str]:
    failures: list[str] = []
    for start in range(0, len(rules), size):
        results = await asyncio.gather(*(check(rule) for rule in rules[start : start + size]))
        failures += [failure for failure in results if failure]
    return failures


async def check_role(gateway: Gateway, role: str, headers: dict[str, str], kind: str) -> None:
    async with gateway.client() as client:

        async def check(rule: Rule) -> str | None:
            response = await call(client, rule, headers)
            where = f"{role}: {rule.method} {rule.template} -> {response.status_code}"
            if role not in rule.roles:
                return None if response.status_code == 403 else where
            service = service_for_path(example_path(rule))
            if service is None:  # the gateway's own operation: admitted, then validated
                return None if response.status_code not in (401, 403, 500) else where
            if response.status_code != 200:
                return where
            echoed = response.json()
            identity = echoed["identity"] or {}
            if echoed["service"] != service or tuple(identity.get("roles", ())) != (role,):
                return f"{where} reached {echoed['service']} as {identity}"
            if identity.get("kind") != kind or echoed["path"] != example_path(rule):
                return f"{where} forwarded wrongly: {echoed}"
            return None

        failures = await in_batches(RULES, check)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "ingest"])
async def test_each_user_role_gets_exactly_what_the_table_allows(
    gateway: Gateway, role: str
) -> None:
    await check_role(gateway, role, gateway.bearer(role), kind="user")


async def test_an_ingest_key_pushes_transactions_and_nothing_else(gateway: Gateway) -> None:
    admin = {"Authorization": f"Bearer {await gateway.admin_token()}"}
    async with gateway.client(**admin) as client:
        created = await client.post("/v1/api-keys", json={"name": "core banking"})
    assert created.status_code == 201, created.text
    assert created.json()["roles"] == ["ingest"]
    await check_role(gateway, "ingest", {"X-API-Key": created.json()["secret"]}, kind="api_key")


async def test_no_operation_is_reachable_without_credentials(gateway: Gateway) -> None:
    calls_before = sum(u.calls for u in gateway.upstreams.values())
    async with gateway.client() as client:

        async def check(rule: Rule) -> str | None:
            response = await call(client, rule, {})
            ok = (
                response.status_code == 401
                and response.headers["content-type"].startswith("application/problem+json")
                and response.headers["www-authenticate"].startswith("Bearer")
            )
            return None if ok else f"{rule.method} {rule.template} -> {response.status_code}"

        failures = await in_batches(RULES, check)
        garbage = await client.get("/v1/customers", headers={"Authorization": "Bearer junk"})
        bad_key = await client.get("/v1/customers", headers={"X-API-Key": "rw_00_nope"})
    assert not failures, "\n".join(failures)
    assert garbage.status_code == 401
    assert bad_key.status_code == 401
    assert sum(u.calls for u in gateway.upstreams.values()) == calls_before
