"""Hostile input against alerting: formula cells in the CSV export, the BOM, masked evidence,
explicit nulls in PATCH, control characters in text, malformed cursors."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from riskwatch_alerting.config import Settings
from riskwatch_alerting.main import create_app
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers, identity_headers, running_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database
from riskwatch_shared.testing.sweep import count_rows, hostile_sweep

from .conftest import ALEMBIC_INI
from .factories import create_rule, feed, transaction_scored

ANALYST = Identity(subject="alice", roles=("admin", "analyst"))
VIEWER = Identity(subject="vic", roles=("viewer",))
Client = tuple[httpx.AsyncClient, ServiceRuntime]


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Client]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_hostile"):
        settings = Settings(
            database_url=url, NATS_URL=infra.nats_url, consumer_prefix="alerting-hostile-test"
        )
        async with running_app(create_app(settings), identity=ANALYST) as (client, runtime):
            yield client, runtime


async def _alert_on(
    api: Client, condition: str, dedup_key: str = "customer_id", **txn: Any
) -> tuple[dict[str, Any], str]:
    client, runtime = api
    name = f"r-{uuid.uuid4().hex[:6]}"
    rule = await create_rule(client, name=name, condition=condition, dedup_key=dedup_key)
    await client.post(f"/v1/rules/{rule['id']}/activate", headers=checker_headers())
    event = transaction_scored(uuid.uuid4(), amount="75000", **txn)
    await feed(runtime.session_factory, AlertPipeline(), [event])
    listed = (await client.get("/v1/alerts", params={"rule_id": rule["id"]})).json()
    return rule, listed["items"][0]["id"]


async def test_csv_export_escapes_formula_cells_and_starts_with_a_bom(api: Client) -> None:
    client, _ = api
    rule, _ = await _alert_on(api, "txn.amount > 60000")
    renamed = await client.patch(
        f"/v1/rules/{rule['id']}", json={"name": '=HYPERLINK("http://evil.example","x")'}
    )
    assert renamed.status_code == 200, renamed.text
    await _alert_on(api, "txn.amount > 60000")  # rule name is copied onto new alerts
    formula_rule = await create_rule(
        client, name="@SUM(1+1)*cmd|' /C calc'!A0", condition="txn.amount > 1"
    )
    await client.post(f"/v1/rules/{formula_rule['id']}/activate", headers=checker_headers())
    runtime = api[1]
    await feed(
        runtime.session_factory, AlertPipeline(), [transaction_scored(uuid.uuid4(), amount="9")]
    )
    exported = await client.get("/v1/alerts/export", params={"format": "csv"})
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    names = {row["rule_name"] for row in rows}
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)
    titles = {row["title"] for row in rows}
    assert not any(title.startswith(("=", "+", "-", "@")) for title in titles)


async def test_evidence_summary_and_dedup_value_are_masked_for_masked_roles(api: Client) -> None:
    client, _runtime = api
    _, alert_id = await _alert_on(
        api,
        'txn.amount > 60000 and txn.counterparty_account != "none"',
        dedup_key="customer_id:txn.counterparty_account",
        counterparty_account="GB29NWBK60161331926819",
    )
    viewer = identity_headers(VIEWER)
    shown = (await client.get(f"/v1/alerts/{alert_id}", headers=viewer)).json()
    assert shown["evidence"]["txn.counterparty_account"] == "****6819"
    assert shown["dedup_value"].endswith("|txn.counterparty_account=****6819")
    assert "60161331926819" not in str(shown)
    listed = (await client.get("/v1/alerts", headers=viewer)).json()
    assert "60161331926819" not in str(listed)
    timeline = (await client.get(f"/v1/alerts/{alert_id}/timeline", headers=viewer)).json()
    assert "60161331926819" not in str(timeline)
    full = (await client.get(f"/v1/alerts/{alert_id}")).json()
    assert full["evidence"]["txn.counterparty_account"] == "GB29NWBK60161331926819"


async def test_explicit_null_and_control_characters_are_a_422(api: Client) -> None:
    client, _ = api
    rule = await create_rule(client)
    for body in ({"name": None}, {"condition": None}, {"suggested_actions": None}):
        response = await client.patch(f"/v1/rules/{rule['id']}", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    cleared = await client.patch(f"/v1/rules/{rule['id']}", json={"description": None})
    assert cleared.status_code == 200, cleared.text
    for name in ("bad\x00name", "rtl\u202eeman"):
        response = await client.post(
            "/v1/rules",
            json={
                "name": name,
                "rule_type": "custom",
                "severity": "low",
                "trigger_event_types": ["scoring.transaction_scored.v1"],
                "condition": "txn.amount > 1",
            },
        )
        assert response.status_code == 422, response.text


async def test_malformed_cursors_are_a_422(api: Client) -> None:
    client, _ = api
    for raw in ("%%%", "2026-01-01T00:00:00+00:00|nope"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode() if "|" in raw else raw
        response = await client.get("/v1/alerts", params={"cursor": cursor})
        assert response.status_code == 422, response.text


# What the write endpoints store (alerts and their timeline also change with consumed events).
WRITTEN_BY_REQUESTS = ["rules", "rule_versions", "managed_lists", "list_entries"]


async def test_no_write_endpoint_answers_hostile_input_with_a_server_error(api: Client) -> None:
    client, runtime = api
    rule, alert_id = await _alert_on(api, "txn.amount > 60000")
    listed = await client.post("/v1/lists", json={"name": "sweep_list", "kind": "other"})
    assert listed.status_code == 201, listed.text
    document = (await client.get("/openapi.json")).json()

    async def scalar(sql: str) -> Any:
        async with runtime.engine.connect() as conn:
            return await conn.scalar(text(sql))

    async def count_records() -> dict[str, int]:
        return await count_rows(scalar, WRITTEN_BY_REQUESTS)

    rule_body = {
        "name": "Sweep",
        "rule_type": "custom",
        "severity": "low",
        "trigger_event_types": ["scoring.transaction_scored.v1"],
        "condition": "txn.amount > 1",
        "cooldown_seconds": 60,
        "owner_team": "ops",
        "description": "swept",
        "suggested_actions": ["look"],
    }
    report = await asyncio.to_thread(
        hostile_sweep,
        client,
        document,
        loop=asyncio.get_running_loop(),
        count_records=count_records,
        known_path_parameters={
            "rule_id": rule["id"],
            "alert_id": alert_id,
            "list_id": listed.json()["id"],
            "key": "large_amount_vs_average",
        },
        valid_bodies={
            "POST /v1/rules": rule_body,
            "PATCH /v1/rules/{rule_id}": {"name": "Renamed", "cooldown_seconds": 30},
            "POST /v1/lists": {"name": "swept_list", "kind": "other", "description": "d"},
            "PATCH /v1/lists/{list_id}": {"kind": "devices", "description": "d"},
            "POST /v1/lists/{list_id}/entries": {"entries": [{"value": "v", "note": "n"}]},
            "POST /v1/alerts/{alert_id}/comments": {"comment": "looked"},
            "POST /v1/alerts/{alert_id}/assign": {"assignee": "bob", "team": "ops"},
        },
        skip=frozenset({"DELETE /v1/lists/{list_id}"}),
    )
    assert len(report.operations) >= 15
    assert report.refused > 0
    assert not report.findings, "\n".join(report.findings)
