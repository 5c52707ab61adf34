"""Issue 17: a risk manager's edit of an active rule is a draft version; the live version keeps
evaluating unchanged until an admin activates the draft (the service refuses anyone else).
Backtest ranges and version numbers are bounded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from riskwatch_alerting.config import Settings
from riskwatch_alerting.main import create_app
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers, identity_headers, running_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import BASE_TIME, feed, transaction_scored

ADMIN = Identity(subject="ada", roles=("admin",))
RISK_MANAGER = Identity(subject="rita", roles=("risk_manager",))
Client = tuple[httpx.AsyncClient, ServiceRuntime]


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Client]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_drafts"):
        settings = Settings(
            database_url=url, NATS_URL=infra.nats_url, consumer_prefix="alerting-drafts-test"
        )
        async with running_app(create_app(settings), identity=ADMIN) as (client, runtime):
            yield client, runtime


def as_risk_manager(runtime: ServiceRuntime) -> dict[str, str]:
    return identity_headers(RISK_MANAGER)


async def _active_rule(client: httpx.AsyncClient) -> dict[str, Any]:
    created = await client.post(
        "/v1/rules",
        json={
            "name": "Big payment",
            "rule_type": "transaction_anomaly",
            "severity": "high",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            "condition": "txn.amount > 5000",
            "cooldown_seconds": 0,
        },
    )
    assert created.status_code == 201, created.text
    activated = await client.post(
        f"/v1/rules/{created.json()['id']}/activate", headers=checker_headers()
    )
    assert activated.status_code == 200, activated.text
    rule: dict[str, Any] = activated.json()
    assert (rule["status"], rule["version"], rule["pending_version"]) == ("active", 2, None)
    return rule


async def _alerts_for(
    client: httpx.AsyncClient, runtime: ServiceRuntime, rule_id: str, amount: str
) -> list[dict[str, Any]]:
    """Feed one transaction of a new customer through the pipeline; the alerts it raised."""
    customer = uuid.uuid4()
    event = transaction_scored(customer, at=BASE_TIME, amount=amount)
    await feed(runtime.session_factory, AlertPipeline(), [event])
    listed = await client.get("/v1/alerts", params={"rule_id": rule_id, "limit": 500})
    items: list[dict[str, Any]] = listed.json()["items"]
    return [a for a in items if a["customer_id"] == str(customer)]


async def test_an_edit_of_an_active_rule_is_a_draft_until_an_admin_activates_it(
    api: Client,
) -> None:
    client, runtime = api
    rule = await _active_rule(client)
    rule_url = f"/v1/rules/{rule['id']}"
    rm = as_risk_manager(runtime)

    edited = await client.patch(
        rule_url, json={"condition": "txn.amount > 50000", "severity": "critical"}, headers=rm
    )
    assert edited.status_code == 200, edited.text
    live = edited.json()
    assert (live["version"], live["status"], live["pending_version"]) == (2, "active", 3)
    assert (live["condition"], live["severity"]) == ("txn.amount > 5000", "high")
    draft = (await client.get(f"{rule_url}/versions/3")).json()
    assert draft["snapshot"]["status"] == "draft"
    assert draft["snapshot"]["condition"] == "txn.amount > 50000"
    assert draft["changed_by"] == "rita"
    assert sorted(draft["changed_fields"]) == ["condition", "severity"]

    # The live version still evaluates as before.
    [raised] = await _alerts_for(client, runtime, rule["id"], "10000")
    assert (raised["rule_version"], raised["severity"]) == (2, "high")

    # Only an admin switches it: the service refuses the risk manager itself.
    for path in (f"{rule_url}/activate", f"{rule_url}/versions/3/activate", f"{rule_url}/disable"):
        refused = await client.post(path, headers=rm)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(rule_url)).json()["version"] == 2

    # A second edit builds on the pending draft, not on the live version.
    again = await client.patch(rule_url, json={"name": "Very big payment"}, headers=rm)
    assert again.json()["pending_version"] == 4
    second = (await client.get(f"{rule_url}/versions/4")).json()["snapshot"]
    assert (second["name"], second["condition"]) == ("Very big payment", "txn.amount > 50000")

    activated = await client.post(f"{rule_url}/activate")
    assert activated.status_code == 200, activated.text
    now_live = activated.json()
    assert (now_live["version"], now_live["pending_version"]) == (5, None)
    assert (now_live["condition"], now_live["severity"], now_live["status"]) == (
        "txn.amount > 50000",
        "critical",
        "active",
    )
    assert (await client.get(f"{rule_url}/versions/5")).json()["changed_by"] == "ada"
    assert await _alerts_for(client, runtime, rule["id"], "10000") == []
    [bigger] = await _alerts_for(client, runtime, rule["id"], "60000")
    assert (bigger["rule_version"], bigger["severity"]) == (5, "critical")

    # An admin may roll back to an earlier version; it goes live as a new one.
    rolled = await client.post(f"{rule_url}/versions/2/activate", headers=checker_headers())
    assert (rolled.json()["version"], rolled.json()["condition"]) == (6, "txn.amount > 5000")


async def test_a_draft_rule_still_changes_in_place(api: Client) -> None:
    client, runtime = api
    created = await client.post(
        "/v1/rules",
        json={
            "name": "Scratch",
            "rule_type": "custom",
            "severity": "low",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            "condition": "txn.amount > 1",
        },
    )
    rule_id = created.json()["id"]
    changed = await client.patch(
        f"/v1/rules/{rule_id}",
        json={"condition": "txn.amount > 2"},
        headers=as_risk_manager(runtime),
    )
    assert changed.json()["version"] == 2
    assert changed.json()["condition"] == "txn.amount > 2"
    assert changed.json()["pending_version"] is None


def _range(start: datetime, end: datetime) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat()}


@pytest.mark.parametrize(
    "body",
    [
        _range(BASE_TIME, BASE_TIME + timedelta(days=91)),
        _range(BASE_TIME, BASE_TIME - timedelta(seconds=1)),
        _range(datetime.now(UTC), datetime.now(UTC) + timedelta(days=2)),
        _range(datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)),
    ],
)
async def test_backtest_ranges_are_bounded(api: Client, body: dict[str, str]) -> None:
    client, _ = api
    rule = await _active_rule(client)
    saved = await client.post(f"/v1/rules/{rule['id']}/backtest", json=body)
    draft = await client.post(
        "/v1/backtests",
        json={
            **body,
            "condition": 'count(txn, within="30d") > 3',
            "trigger_event_types": ["scoring.transaction_scored.v1"],
        },
    )
    for response in (saved, draft):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_version_numbers_are_bounded(api: Client) -> None:
    client, _ = api
    rule = await _active_rule(client)
    week = _range(BASE_TIME, BASE_TIME + timedelta(days=7))
    huge = await client.post(
        f"/v1/rules/{rule['id']}/backtest", params={"version": 2**40}, json=week
    )
    assert huge.status_code == 422
    assert (await client.get(f"/v1/rules/{rule['id']}/versions/{2**40}")).status_code == 422
    missing = await client.post(f"/v1/rules/{rule['id']}/versions/99/activate")
    assert missing.status_code == 404
    ok = await client.post(f"/v1/rules/{rule['id']}/backtest", json=week)
    assert ok.status_code == 200, ok.text


async def test_rule_and_template_knobs_are_bounded(api: Client) -> None:
    client, _ = api
    for parameter in ("NaN", "Infinity", "1" * 40):
        response = await client.post(
            "/v1/rule-templates/large_amount_vs_average/rules",
            json={"parameters": {"min_amount": parameter}},
        )
        assert response.status_code == 422, (parameter, response.text)
    rule = await _active_rule(client)
    long_action = await client.patch(
        f"/v1/rules/{rule['id']}", json={"suggested_actions": ["x" * 501]}
    )
    assert long_action.status_code == 422
