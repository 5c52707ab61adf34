"""The credit early warning's routes on real PostgreSQL and NATS: the catalogue, customers'
indicators (an RM sees only their own customers'), the segment baselines (recomputed by risk
managers only) and the watch list's report over a period, with hostile queries refused."""

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
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, running_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import customer_assessed, feed

ANALYST = Identity(subject="u-ew-ana", roles=("analyst",), staff_id="ana-ew", name="Ana")
MANAGER = Identity(subject="u-ew-mgr", roles=("risk_manager",))
RM_OWNER = Identity(subject="u-ew-rm", roles=("relationship_manager",), staff_id="rm-ew")
RM_OTHER = Identity(subject="u-ew-rmx", roles=("relationship_manager",), staff_id="rm-ewx")
Client = tuple[httpx.AsyncClient, ServiceRuntime]


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Client]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_warning_api"):
        settings = Settings(
            database_url=url,
            NATS_URL=infra.nats_url,
            consumer_prefix=f"alerting-ew-{uuid.uuid4().hex[:6]}",
        )
        async with running_app(create_app(settings), identity=ANALYST) as (client, runtime):
            yield client, runtime


def _as(identity: Identity) -> dict[str, str]:
    return identity_headers(identity)


async def _warned_customer(runtime: ServiceRuntime, rm: str, **features: Any) -> uuid.UUID:
    customer_id = uuid.uuid4()
    snapshot = CustomerSnapshot(
        kind="individual", name="Otto", status="active", relationship_manager=rm, segment="retail"
    )
    now = datetime.now(UTC) - timedelta(hours=1)
    events = [
        CustomerCreated(customer_id=customer_id, customer=snapshot),
        customer_assessed(customer_id, at=now, features=features),
    ]
    await feed(runtime.session_factory, AlertPipeline(), events)
    return customer_id


async def test_catalogue_lists_every_indicator_with_its_triggers(api: Client) -> None:
    client, _ = api
    body = (await client.get("/v1/warnings/catalogue")).json()
    keys = [i["key"] for i in body["indicators"]]
    assert len(keys) == 8
    assert "early_arrears" in keys
    kinds = {t["kind"] for i in body["indicators"] for t in i["triggers"]}
    assert kinds == {"absolute", "change", "segment"}
    viewer = await client.get("/v1/warnings/catalogue", headers=_as(RM_OTHER))
    assert viewer.status_code == 200


async def test_indicators_and_report_confined_to_the_rms_customers(api: Client) -> None:
    client, runtime = api
    start = datetime.now(UTC) - timedelta(days=1)
    mine = await _warned_customer(runtime, "rm-ew", days_past_due=45, utilisation=0.9)
    theirs = await _warned_customer(runtime, "rm-ewx", returned_payments_90d=5)

    everyone = (await client.get("/v1/warnings", params={"limit": 500})).json()["items"]
    found = {(w["customer_id"], w["indicator"], w["level"]) for w in everyone}
    assert (str(mine), "early_arrears", "red") in found
    assert (str(mine), "utilisation_creeping", "amber") in found
    assert (str(theirs), "returned_payments", "red") in found

    own = (await client.get("/v1/warnings", headers=_as(RM_OWNER))).json()["items"]
    assert {w["customer_id"] for w in own} == {str(mine)}
    red = (await client.get("/v1/warnings", params={"level": "red"}, headers=_as(RM_OWNER))).json()[
        "items"
    ]
    [arrears] = red
    assert arrears["indicator_name"] == "Early arrears (1-30 days past due)"
    assert arrears["triggers"][0]["threshold"] == 30.0
    other = (
        await client.get("/v1/warnings", params={"customer_id": str(mine)}, headers=_as(RM_OTHER))
    ).json()["items"]
    assert other == []

    params = {"since": start.isoformat(), "until": (start + timedelta(days=2)).isoformat()}
    report = (await client.get("/v1/watchlist/report", params=params)).json()
    assert report["entered"] >= 2
    assert report["entered_by_origin"]["warning"] >= 2
    by_key = {row["indicator"]: row for row in report["indicators"]}
    assert by_key["early_arrears"]["red_raised"] >= 1
    assert by_key["early_arrears"]["watchlist_entered"] >= 1
    assert by_key["utilisation_creeping"]["amber_raised"] >= 1
    assert {m["customer_id"] for m in report["movements"]} >= {str(mine), str(theirs)}

    rm_report = (
        await client.get("/v1/watchlist/report", params=params, headers=_as(RM_OWNER))
    ).json()
    assert {m["customer_id"] for m in rm_report["movements"]} == {str(mine)}
    rm_keys = {row["indicator"]: row for row in rm_report["indicators"]}
    assert rm_keys["returned_payments"]["red_raised"] == 0
    assert rm_keys["early_arrears"]["red_raised"] == 1


async def test_baselines_recomputed_by_managers_only(api: Client) -> None:
    client, runtime = api
    # Its own portfolio: the test does not lean on customers an earlier test fed.
    await _warned_customer(runtime, "rm-ew", utilisation=0.4)
    refused = await client.post("/v1/warnings/baselines")
    assert refused.status_code == 403
    done = await client.post("/v1/warnings/baselines", headers=_as(MANAGER))
    assert done.status_code == 200, done.text
    assert "retail" in done.json()["segments"]
    read = (await client.get("/v1/warnings/baselines")).json()
    assert read["segments"] == done.json()["segments"]


async def test_indicators_are_paged_by_cursor_without_gaps_or_repeats(api: Client) -> None:
    client, runtime = api
    customer = await _warned_customer(
        runtime, "rm-ew", days_past_due=45, utilisation=0.9, returned_payments_90d=5
    )
    whole = (await client.get("/v1/warnings", params={"customer_id": str(customer)})).json()
    assert whole["next_cursor"] is None
    expected = [(w["customer_id"], w["indicator"]) for w in whole["items"]]
    assert len(expected) >= 3

    walked: list[tuple[str, str]] = []
    params = {"customer_id": str(customer), "limit": "1"}
    while True:
        page = (await client.get("/v1/warnings", params=params, headers=_as(RM_OWNER))).json()
        walked += [(w["customer_id"], w["indicator"]) for w in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert walked == expected

    # Another RM continuing the owner's cursor still sees nothing of the owner's customer.
    first = (
        await client.get("/v1/warnings", params={"customer_id": str(customer), "limit": "1"})
    ).json()
    stranger = await client.get(
        "/v1/warnings",
        params={"customer_id": str(customer), "cursor": first["next_cursor"]},
        headers=_as(RM_OTHER),
    )
    assert stranger.status_code == 200
    assert stranger.json()["items"] == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/watchlist/report", {"since": "2026-01-01T00:00:00"}),
        ("/v1/watchlist/report", {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00Z"}),
        ("/v1/watchlist/report", {"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00Z"}),
        ("/v1/watchlist/report", {"since": "yesterday"}),
        ("/v1/warnings", {"indicator": "<script>"}),
        ("/v1/warnings", {"level": "purple"}),
        ("/v1/warnings", {"limit": "100000"}),
        ("/v1/warnings", {"cursor": "not-a-cursor"}),
        ("/v1/warnings", {"cursor": "MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHw0Mg"}),
        ("/v1/warnings", {"cursor": "x" * 1000}),
    ],
)
async def test_hostile_queries_are_refused(api: Client, path: str, params: dict[str, str]) -> None:
    client, _ = api
    response = await client.get(path, params=params)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")
