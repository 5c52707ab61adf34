"""Maker-checker for managed lists (issue 23): a list an active rule names changes only when a
second person approves; the rule matches on the list as it is while a change waits; a list no
active rule names changes at once; every step is in the list's history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
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
ANALYST = Identity(subject="andy", roles=("analyst",))
Client = tuple[httpx.AsyncClient, ServiceRuntime]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Client]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_lists_gov"):
        settings = Settings(
            database_url=url, NATS_URL=infra.nats_url, consumer_prefix="alerting-lists-gov-test"
        )
        async with running_app(create_app(settings), identity=ADMIN) as (client, runtime):
            yield client, runtime


def _refused(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"].endswith(slug), response.json()


async def _watched_list(client: httpx.AsyncClient, name: str) -> tuple[dict[str, Any], str]:
    """A countries list with KP, and an active rule that matches on it."""
    managed = await client.post(
        "/v1/lists", json={"name": name, "kind": "countries", "entries": [{"value": "KP"}]}
    )
    assert managed.status_code == 201, managed.text
    rule = await client.post(
        "/v1/rules",
        json={
            "name": f"Payment to {name}",
            "rule_type": "transaction_anomaly",
            "severity": "high",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            "condition": f'txn.counterparty_country in list("{name}")',
            "cooldown_seconds": 0,
        },
    )
    assert rule.status_code == 201, rule.text
    activated = await client.post(
        f"/v1/rules/{rule.json()['id']}/activate", headers=checker_headers()
    )
    assert activated.status_code == 200, activated.text
    return managed.json(), rule.json()["id"]


async def _hits(
    client: httpx.AsyncClient, runtime: ServiceRuntime, rule_id: str, country: str
) -> int:
    """Feed one payment of a new customer to `country`; how many alerts the rule raised."""
    customer = uuid.uuid4()
    event = transaction_scored(customer, at=BASE_TIME, counterparty_country=country)
    await feed(runtime.session_factory, AlertPipeline(), [event])
    listed = await client.get("/v1/alerts", params={"rule_id": rule_id, "limit": 500})
    return sum(1 for a in listed.json()["items"] if a["customer_id"] == str(customer))


async def test_a_list_an_active_rule_names_changes_only_when_approved(api: Client) -> None:
    client, runtime = api
    managed, rule_id = await _watched_list(client, "sanctioned_countries")
    url = f"/v1/lists/{managed['id']}"

    proposed = await client.post(
        f"{url}/entries", json={"entries": [{"value": "IR", "note": "OFAC"}]}
    )
    assert proposed.status_code == 202, proposed.text
    proposal = proposed.json()
    assert (proposal["status"], proposal["kind"], proposal["list_id"]) == (
        "pending",
        "load",
        managed["id"],
    )
    assert proposal["change"]["entries"] == [["IR", "OFAC"]]
    retried = await client.post(
        f"{url}/entries", json={"entries": [{"value": "IR", "note": "OFAC"}]}
    )
    assert retried.json()["id"] == proposal["id"]

    # While it waits the list, and what the rule matches, are as they were.
    assert [e["value"] for e in (await client.get(f"{url}/entries")).json()["items"]] == ["KP"]
    assert (await client.get(url)).json()["pending_proposals"] == 1
    assert await _hits(client, runtime, rule_id, "IR") == 0
    assert await _hits(client, runtime, rule_id, "KP") == 1
    pending = (await client.get("/v1/list-proposals", params={"status": "pending"})).json()
    assert proposal["id"] in [p["id"] for p in pending]

    decide = f"/v1/list-proposals/{proposal['id']}"
    _refused(await client.post(f"{decide}/approve", json={}), 403, "list-self-approval")
    analyst = identity_headers(ANALYST)
    _refused(await client.post(f"{decide}/approve", json={}, headers=analyst), 403, "forbidden")
    _refused(
        await client.post(f"{url}/entries/remove", json={"values": ["KP"]}, headers=analyst),
        403,
        "forbidden",
    )

    approved = await client.post(
        f"{decide}/approve",
        json={"comment": "sanctions update"},
        headers=identity_headers(RISK_MANAGER),
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approval"]) == ("approved", "four_eyes")
    values = [e["value"] for e in (await client.get(f"{url}/entries")).json()["items"]]
    assert values == ["IR", "KP"]
    assert await _hits(client, runtime, rule_id, "IR") == 1

    # Removing an entry and deleting the list wait too; a rejection leaves the list.
    removal = (await client.post(f"{url}/entries/remove", json={"values": ["KP"]})).json()
    assert removal["kind"] == "remove"
    # Hostile input is refused and decides (or proposes) nothing.
    for comment in ("ok\u202eevil", "nul\x00", "x" * 2_001):
        hostile = await client.post(
            f"/v1/list-proposals/{removal['id']}/reject",
            json={"comment": comment},
            headers=checker_headers(),
        )
        assert hostile.status_code == 422, comment
    bidi = await client.post(f"{url}/entries", json={"entries": [{"value": "I\u202eR"}]})
    assert bidi.status_code == 422
    assert (await client.get(url)).json()["pending_proposals"] == 1
    rejected = await client.post(
        f"/v1/list-proposals/{removal['id']}/reject",
        json={"comment": "still sanctioned"},
        headers=checker_headers(),
    )
    assert rejected.json()["status"] == "rejected"
    deletion = await client.delete(url)
    assert deletion.status_code == 202, deletion.text
    patched = await client.patch(url, json={"description": "OFAC and UN"})
    assert patched.status_code == 202
    assert (await client.get(url)).json()["description"] is None
    assert await _hits(client, runtime, rule_id, "KP") == 1
    gone = await client.post(
        f"/v1/list-proposals/{deletion.json()['id']}/approve", json={}, headers=checker_headers()
    )
    assert gone.status_code == 200, gone.text
    assert (await client.get(url)).status_code == 404
    superseded = (await client.get(f"/v1/list-proposals/{patched.json()['id']}")).json()
    assert superseded["status"] == "superseded"

    history = (await client.get(f"{url}/history")).json()
    assert [(s["action"], s["actor"], s["comment"]) for s in history] == [
        ("created", "ada", None),
        ("proposed", "ada", "load"),
        ("approved", "rita", "[four_eyes] sanctions update"),
        ("proposed", "ada", "remove"),
        ("rejected", "checker", "still sanctioned"),
        ("proposed", "ada", "delete"),
        ("proposed", "ada", "update"),
        ("approved", "checker", "[four_eyes]"),
        ("superseded", "checker", "the list was deleted"),
    ]
    assert history[1]["detail"]["used_by_active_rules"] == ["Payment to sanctioned_countries"]


async def test_a_list_no_active_rule_names_changes_at_once_and_is_audited(api: Client) -> None:
    client, _ = api
    created = await client.post("/v1/lists", json={"name": "spare_devices", "kind": "devices"})
    url = f"/v1/lists/{created.json()['id']}"
    loaded = await client.post(
        f"{url}/entries", json={"entries": [{"value": "d-1"}, {"value": "d-2"}]}
    )
    assert loaded.status_code == 200, loaded.text
    assert (loaded.json()["loaded"], loaded.json()["list"]["entry_count"]) == (2, 2)
    removed = await client.post(f"{url}/entries/remove", json={"values": ["d-1", "nope"]})
    assert removed.json()["removed"] == 1
    actions = [(s["action"], s["comment"]) for s in (await client.get(f"{url}/history")).json()]
    assert actions == [("created", None), ("applied", "load"), ("applied", "remove")]
    assert (
        await client.get("/v1/list-proposals", params={"list_id": created.json()["id"]})
    ).json() == []


async def test_a_new_list_an_active_rule_already_names_starts_empty(api: Client) -> None:
    client, runtime = api
    rule = await client.post(
        "/v1/rules",
        json={
            "name": "Payment to embargoed",
            "rule_type": "transaction_anomaly",
            "severity": "high",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            "condition": 'txn.counterparty_country in list("embargoed")',
            "cooldown_seconds": 0,
        },
    )
    await client.post(f"/v1/rules/{rule.json()['id']}/activate", headers=checker_headers())
    created = await client.post(
        "/v1/lists", json={"name": "embargoed", "kind": "countries", "entries": [{"value": "SY"}]}
    )
    assert created.status_code == 201, created.text
    assert (created.json()["entry_count"], created.json()["pending_proposals"]) == (0, 1)
    assert await _hits(client, runtime, rule.json()["id"], "SY") == 0
    _refused(
        await client.post(
            f"/v1/list-proposals/{uuid.uuid4()}/approve", json={}, headers=checker_headers()
        ),
        404,
        "list-proposal-not-found",
    )
