"""The alerting HTTP API in process, over real PostgreSQL and NATS."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.lifecycle import allowed_actions, next_status
from riskwatch_alerting.main import create_app
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_alerting.rules.templates import TEMPLATES
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers, running_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import BASE_TIME, create_rule, feed, transaction_scored

ANALYST = Identity(subject="alice", roles=("admin", "analyst"))
Client = tuple[httpx.AsyncClient, ServiceRuntime]


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Client]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_api"):
        settings = Settings(
            database_url=url, NATS_URL=infra.nats_url, consumer_prefix="alerting-api-test"
        )
        async with running_app(create_app(settings), identity=ANALYST) as (client, runtime):
            yield client, runtime


async def test_rule_versions_history_and_status(api: Client) -> None:
    client, _ = api
    rule = await create_rule(client)
    assert (rule["version"], rule["status"], rule["created_by"]) == (1, "draft", "alice")
    changed = await client.patch(
        f"/v1/rules/{rule['id']}", json={"condition": "txn.amount > 7000", "severity": "critical"}
    )
    assert changed.json()["version"] == 2
    activated = await client.post(f"/v1/rules/{rule['id']}/activate", headers=checker_headers())
    assert activated.json()["status"] == "active"
    assert activated.json()["version"] == 3
    versions = (await client.get(f"/v1/rules/{rule['id']}/versions")).json()
    assert [v["changed_fields"] for v in versions] == [
        ["created"],
        ["severity", "condition"],
        ["status"],
    ]
    # alice wrote it; the checker (a second admin) switched it on.
    assert [v["changed_by"] for v in versions] == ["alice", "alice", "checker"]
    first = (await client.get(f"/v1/rules/{rule['id']}/versions/1")).json()
    assert first["snapshot"]["condition"] == "txn.amount > 5000"
    disabled = await client.post(f"/v1/rules/{rule['id']}/disable")
    assert disabled.json()["status"] == "disabled"
    listed = (await client.get("/v1/rules", params={"status": "disabled"})).json()
    assert rule["id"] in {r["id"] for r in listed}
    assert (await client.get(f"/v1/rules/{uuid.uuid4()}")).status_code == 404
    assert (await client.delete(f"/v1/rules/{rule['id']}")).status_code == 409
    draft = await create_rule(client, name="Scratch")
    assert (await client.delete(f"/v1/rules/{draft['id']}")).status_code == 204
    assert (await client.get(f"/v1/rules/{draft['id']}")).status_code == 404


async def test_invalid_conditions_are_problems_with_line_and_column(api: Client) -> None:
    client, _ = api
    response = await client.post(
        "/v1/rules",
        json={
            "name": "bad",
            "rule_type": "custom",
            "severity": "low",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            "condition": 'txn.amount > 5000 and\n  txn.country > "DE"',
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["line"], problem["column"], problem["field"]) == (2, 3, "condition")
    syntax = await client.post("/v1/rules/validate", json={"condition": "txn.amount >"})
    assert syntax.status_code == 422
    assert syntax.json()["error_kind"] == "syntax"
    hostile = await client.post(
        "/v1/rules/validate", json={"condition": "__import__('os').system('true')"}
    )
    assert hostile.status_code == 422
    ok = await client.post("/v1/rules/validate", json={"condition": 'count(txn, within="1h") > 3'})
    assert ok.json()["aggregates"] == ['count(txn, within="1h", by="customer")']
    unknown_trigger = await client.post(
        "/v1/rules",
        json={
            "name": "x",
            "rule_type": "custom",
            "severity": "low",
            "trigger_event_types": ["nope.v1"],
            "condition": "txn.amount > 1",
        },
    )
    assert unknown_trigger.status_code == 422
    assert unknown_trigger.json()["field"] == "trigger_event_types"


async def test_templates_and_rules_from_them(api: Client) -> None:
    client, _ = api
    templates = (await client.get("/v1/rule-templates")).json()
    assert {t["key"] for t in templates} == {t.key for t in TEMPLATES}
    created = await client.post(
        "/v1/rule-templates/large_amount_vs_average/rules",
        json={"parameters": {"min_amount": "2500"}, "severity": "critical"},
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert "txn.amount >= 2500" in rule["condition"]
    assert rule["severity"] == "critical"
    assert rule["template_key"] == "large_amount_vs_average"
    bad = await client.post(
        "/v1/rule-templates/large_amount_vs_average/rules", json={"parameters": {"nope": 1}}
    )
    assert bad.status_code == 422
    assert (await client.get("/v1/rule-templates/nope")).status_code == 404


async def test_managed_lists_crud_and_bulk_load(api: Client) -> None:
    client, _ = api
    created = await client.post(
        "/v1/lists",
        json={"name": "risky_devices", "kind": "devices", "entries": [{"value": "d-1"}]},
    )
    assert created.status_code == 201
    assert created.json()["entry_count"] == 1
    list_id = created.json()["id"]
    assert (
        await client.post("/v1/lists", json={"name": "risky_devices", "kind": "devices"})
    ).status_code == 409
    loaded = await client.post(
        f"/v1/lists/{list_id}/entries",
        json={"entries": [{"value": f"d-{i}"} for i in range(500)], "mode": "merge"},
    )
    assert loaded.json()["list"]["entry_count"] == 500
    assert (loaded.json()["added"], loaded.json()["already_present"]) == (499, ["d-1"])
    again = await client.post(
        f"/v1/lists/{list_id}/entries",
        json={"entries": [{"value": "d-7", "note": "50%_off shop"}, {"value": "new-1"}]},
    )
    assert (again.json()["added"], again.json()["already_present"]) == (1, ["d-7"])
    found = (await client.get(f"/v1/lists/{list_id}/entries", params={"search": "D-4"})).json()
    assert found["total"] == 111  # d-4, d-40..d-49, d-400..d-499
    assert all(e["value"].startswith("d-4") for e in found["items"])
    by_note = await client.get(f"/v1/lists/{list_id}/entries", params={"search": "50%_OFF"})
    assert [e["value"] for e in by_note.json()["items"]] == ["d-7"]
    literal = await client.get(f"/v1/lists/{list_id}/entries", params={"search": "%"})
    assert [e["value"] for e in literal.json()["items"]] == ["d-7"]  # % is a character
    hostile = await client.get(f"/v1/lists/{list_id}/entries", params={"search": "a\x00b"})
    assert hostile.status_code == 400  # a control character: refused before any query
    replaced = await client.post(
        f"/v1/lists/{list_id}/entries",
        json={"entries": [{"value": "x-1", "note": "seen in fraud case"}], "mode": "replace"},
    )
    assert replaced.json()["list"]["entry_count"] == 1
    assert replaced.json()["removed"] == 500
    page = (await client.get(f"/v1/lists/{list_id}/entries")).json()
    assert [e["value"] for e in page["items"]] == ["x-1"]
    removed = await client.post(f"/v1/lists/{list_id}/entries/remove", json={"values": ["x-1"]})
    assert removed.json()["removed"] == 1
    patched = await client.patch(f"/v1/lists/{list_id}", json={"description": "devices"})
    assert patched.json()["description"] == "devices"
    assert (await client.delete(f"/v1/lists/{list_id}")).status_code == 204
    assert (await client.get(f"/v1/lists/{list_id}")).status_code == 404


async def test_alert_follow_up_reports_and_exports(api: Client) -> None:
    client, runtime = api
    rule = await create_rule(client, name="Very big payment", condition="txn.amount > 60000")
    await client.post(f"/v1/rules/{rule['id']}/activate", headers=checker_headers())
    customers = [uuid.uuid4() for _ in range(3)]
    events = [
        transaction_scored(customer, at=BASE_TIME + timedelta(hours=i), amount="75000")
        for i, customer in enumerate(customers)
    ]
    await feed(runtime.session_factory, AlertPipeline(), events)
    listed = (await client.get("/v1/alerts", params={"rule_id": rule["id"], "limit": 2})).json()
    assert len(listed["items"]) == 2
    assert listed["next_cursor"]
    rest = (
        await client.get(
            "/v1/alerts",
            params={"rule_id": rule["id"], "limit": 2, "cursor": listed["next_cursor"]},
        )
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    alert_id = listed["items"][0]["id"]

    detail = (await client.get(f"/v1/alerts/{alert_id}")).json()
    assert detail["evidence"] == {"txn.amount": "75000"}
    assert detail["status"] == "new"
    assert "acknowledge" in detail["allowed_actions"]
    steps = [
        ("acknowledge", None),
        ("assign", {"assignee": "bob", "team": "fraud-ops"}),
        ("investigate", None),
        ("comments", {"comment": "Called the branch"}),
        ("contact", {"channel": "call", "note": "customer confirmed"}),
        ("escalate", {"reason": "large", "team": "aml"}),
        ("resolve", {"outcome": "false_positive", "comment": "legit"}),
    ]
    for action, body in steps:
        response = await client.post(f"/v1/alerts/{alert_id}/{action}", json=body)
        assert response.status_code == 200, (action, response.text)
    refused = await client.post(f"/v1/alerts/{alert_id}/acknowledge")
    assert refused.status_code == 409
    assert refused.json()["current_status"] == "resolved"
    timeline = (await client.get(f"/v1/alerts/{alert_id}/timeline")).json()
    assert [e["change"] for e in timeline] == [
        "raised",
        "acknowledged",
        "assigned",
        "investigating",
        "commented",
        "customer_contacted",
        "escalated",
        "resolved",
    ]
    assert timeline[-1]["actor"] == "alice"
    reopened = await client.post(f"/v1/alerts/{alert_id}/reopen", json={"reason": "new facts"})
    assert reopened.json()["status"] == "investigating"
    assert reopened.json()["outcome"] is None
    await client.post(f"/v1/alerts/{alert_id}/resolve", json={"outcome": "false_positive"})

    assigned = (await client.get("/v1/alerts", params={"assignee": "aml"})).json()["items"]
    assert [a["id"] for a in assigned] == [alert_id]
    by_status = (
        await client.get("/v1/alerts", params={"status": "resolved", "rule_id": rule["id"]})
    ).json()
    assert len(by_status["items"]) == 1

    stats = (await client.get("/v1/alerts/stats", params={"rule_id": rule["id"]})).json()
    assert stats["total"] == 3
    assert stats["by_status"] == {"new": 2, "resolved": 1}
    assert stats["time_to_acknowledge"]["count"] == 1
    (rate,) = stats["false_positive_rate_by_rule"]
    assert (rate["resolved"], rate["false_positive_rate"]) == (1, 1.0)

    exported = await client.get(
        "/v1/alerts/export", params={"rule_id": rule["id"], "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert exported.headers["content-type"].startswith("text/csv")
    assert len(rows) == 3
    as_json = (
        await client.get("/v1/alerts/export", params={"rule_id": rule["id"], "format": "json"})
    ).json()
    assert {row["id"] for row in as_json} == {row["id"] for row in rows}
    assert (await client.get("/v1/alerts", params={"cursor": "garbage"})).status_code == 422

    backtest = await client.post(
        f"/v1/rules/{rule['id']}/backtest",
        json={"start": BASE_TIME.isoformat(), "end": (BASE_TIME + timedelta(days=1)).isoformat()},
    )
    assert backtest.status_code == 200, backtest.text
    result = backtest.json()
    assert result["alerts"] == 3
    assert result["labelled"] == 1
    assert result["precision"] == 0.0
    first_version = await client.post(
        f"/v1/rules/{rule['id']}/backtest",
        params={"version": 1},
        json={"start": BASE_TIME.isoformat(), "end": (BASE_TIME + timedelta(days=1)).isoformat()},
    )
    assert first_version.json()["rule_version"] == 1
    assert first_version.json()["alerts"] == 3
    draft = await client.post(
        "/v1/backtests",
        json={
            "start": BASE_TIME.isoformat(),
            "end": (BASE_TIME + timedelta(days=1)).isoformat(),
            "condition": "txn.amount > 70000",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
        },
    )
    assert draft.json()["alerts"] >= 3
    assert (await client.get("/v1/alerts/stats", params={"rule_id": rule["id"]})).json()[
        "total"
    ] == 3


ACTION_BODIES: dict[str, dict[str, Any] | None] = {
    "acknowledge": None,
    "investigate": None,
    "escalate": {"reason": "needs AML"},
    "assign": {"assignee": "carol"},
    "comments": {"comment": "note"},
    "contact": {"channel": "email"},
    "resolve": {"outcome": "mitigated_limit_reduced"},
    "reopen": None,
}
ROUTE_ACTION = {"comments": "comment"}


async def test_random_action_sequences_follow_the_lifecycle_model(api: Client) -> None:
    """Every API answer (200 or 409) and status agrees with the pure state machine."""
    client, runtime = api
    rule = await create_rule(client, name="Lifecycle walk", condition="txn.amount > 80000")
    await client.post(f"/v1/rules/{rule['id']}/activate", headers=checker_headers())
    rng = random.Random(5)
    await feed(
        runtime.session_factory,
        AlertPipeline(),
        [transaction_scored(uuid.uuid4(), amount="90000") for _ in range(3)],
    )
    alerts = (await client.get("/v1/alerts", params={"rule_id": rule["id"]})).json()["items"]
    for alert in alerts:
        status, changes = "new", 1
        for _ in range(15):
            route = rng.choice(list(ACTION_BODIES))
            action = ROUTE_ACTION.get(route, route)
            allowed = action in allowed_actions(status)
            response = await client.post(
                f"/v1/alerts/{alert['id']}/{route}", json=ACTION_BODIES[route]
            )
            assert response.status_code == (200 if allowed else 409), (status, action)
            if allowed:
                status, changes = next_status(status, action), changes + 1
                assert response.json()["status"] == status
        timeline = (await client.get(f"/v1/alerts/{alert['id']}/timeline")).json()
        assert len(timeline) == changes
        assert timeline[-1]["status"] == status
