"""The whole system as processes (the launcher `riskwatch run` uses), once per session."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from riskwatch_simulator.api import list_all, page_items, rule_from_template
from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import ADMIN_EMAIL, ADMIN_PASSWORD, RunningSystem, running_system

# The shipped templates the scenarios rely on.
SCENARIO_TEMPLATES = (
    "credit_level_rose",
    "missed_payment_or_delinquency",
    "new_country_or_device_large_transfer",
    "inactivity_churn",
    "balance_drain",
    "complaint_churn",
)
ANALYST_EMAIL = "risk.analyst@bank.example"


@dataclass
class RiskDepartment:
    team_id: str
    recipient_id: str
    email: str
    admin_subject: str


@dataclass
class AtReady:
    """What the gateway answered the moment the launcher saw its /readyz green."""

    readyz: httpx.Response
    openapi: dict[str, Any]


@pytest.fixture(scope="session")
def at_ready() -> dict[str, AtReady]:
    return {}


@pytest.fixture(scope="session")
def system(at_ready: dict[str, AtReady]) -> Iterator[RunningSystem]:
    with running_system() as running:
        ops = {"Authorization": f"Bearer {running.stack.env['GATEWAY_OPS_TOKEN']}"}
        with httpx.Client(base_url=running.gateway, headers=ops, timeout=10) as http:
            readyz = http.get("/readyz")
            at_ready["gateway"] = AtReady(readyz, http.get("/openapi.json").json())
        yield running


@pytest.fixture(scope="session")
async def admin(system: RunningSystem) -> AsyncIterator[RiskWatchClient]:
    async with RiskWatchClient(system.gateway) as client:
        await client.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        await client.create_ingest_key("e2e core banking")
        yield client


CHECKER_EMAIL = "e2e.checker@bank.example"


@pytest.fixture(scope="session")
async def checker(system: RunningSystem, admin: RiskWatchClient) -> AsyncIterator[RiskWatchClient]:
    """A second admin of the run's own: approves what `admin` proposes (maker-checker: the
    author of a change never approves it)."""
    password = secrets.token_urlsafe(24)
    await admin.post_json(
        "/v1/users",
        {"email": CHECKER_EMAIL, "name": "E2E checker", "roles": ["admin"], "password": password},
    )
    async with RiskWatchClient(system.gateway) as client:
        await client.sign_in(CHECKER_EMAIL, password)
        yield client


@pytest.fixture(scope="session")
async def scenario_rules(admin: RiskWatchClient) -> dict[str, dict[str, Any]]:
    """The scenario templates as active rules, by template key."""
    templates = {t["key"]: t for t in page_items(await admin.get_json("/v1/rule-templates"))}
    existing = {rule["name"]: rule for rule in await list_all(admin, "/v1/rules")}
    rules: dict[str, dict[str, Any]] = {}
    for key in SCENARIO_TEMPLATES:
        body = rule_from_template(templates[key])
        rule = existing.get(body["name"]) or await admin.post_json("/v1/rules", body)
        if rule["status"] != "active":
            rule = await admin.post_json(f"/v1/rules/{rule['id']}/activate", {})
        rules[key] = rule
    return rules


@pytest.fixture(scope="session")
async def risk_department(admin: RiskWatchClient) -> RiskDepartment:
    """A team with one analyst, emailed and messaged in-app about every alert type."""
    me = await admin.get_json("/v1/auth/me")
    team = await admin.post_json("/v1/teams", {"name": "Risk department"})
    recipient = await admin.post_json(
        "/v1/recipients",
        {
            "name": "Risk analyst",
            "email": ANALYST_EMAIL,
            "team_ids": [team["id"]],
            "user_subject": me["subject"],
        },
    )
    await admin.post_json(
        "/v1/subscriptions",
        {"team_id": team["id"], "channels": ["email", "in_app"], "min_severity": "low"},
    )
    return RiskDepartment(team["id"], recipient["id"], ANALYST_EMAIL, me["subject"])
