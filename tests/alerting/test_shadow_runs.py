"""Issue 23 item 2, shadow runs: a proposed rule version runs on live traffic beside the active
rules without raising alerts; its would-be hits are stored; the live rule keeps running
unchanged; the comparison shows per day both versions' hits, alerts, overlap and precision
against dispositioned alerts; only managers start or stop a shadow; hostile input gets a 4xx.
And percentage rollouts: an approved change live for a deterministic share of customers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.backtest import Disposition, DispositionLabels
from riskwatch_alerting.domain.rollout import customer_bucket
from riskwatch_alerting.domain.shadow import HitRecord, compare_by_day, days_between
from riskwatch_alerting.main import create_app
from riskwatch_alerting.models import Alert, ShadowHit, ShadowRun
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_alerting.shadow import store as shadow_store
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, running_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import feed, transaction_scored

ADA = Identity(subject="ada", roles=("admin",))
RITA = Identity(subject="rita", roles=("risk_manager",))
ROB = Identity(subject="rob", roles=("risk_manager",))
ANALYST = Identity(subject="anna", roles=("analyst",))
VIEWER = Identity(subject="vera", roles=("viewer",))
RM = Identity(subject="remy", roles=("relationship_manager",))


def _rule(condition: str) -> dict[str, Any]:
    return {
        "name": f"Payment over ({condition})",
        "rule_type": "transaction_anomaly",
        "severity": "high",
        "trigger_event_types": ["scoring.transaction_scored.v1"],
        "condition": condition,
        "cooldown_seconds": 0,
    }


class Api:
    def __init__(self, client: httpx.AsyncClient, runtime: ServiceRuntime) -> None:
        self.client, self.runtime = client, runtime

    async def call(
        self, who: Identity, method: str, path: str, body: Any = None, **params: Any
    ) -> httpx.Response:
        return await self.client.request(
            method, path, json=body, params=params or None, headers=identity_headers(who)
        )

    async def ok(
        self, who: Identity, method: str, path: str, body: Any = None, **params: Any
    ) -> Any:
        response = await self.call(who, method, path, body, **params)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def pending(self, rule_id: str) -> str:
        [proposal] = await self.ok(
            ADA, "GET", "/v1/rule-proposals", rule_id=rule_id, status="pending"
        )
        return str(proposal["id"])

    async def proposed(self, condition: str) -> tuple[str, str]:
        """A new rule drafted by rita: (rule id, its pending `create` proposal)."""
        rule = await self.ok(RITA, "POST", "/v1/rules", _rule(condition))
        return rule["id"], await self.pending(rule["id"])

    async def live(self, condition: str) -> str:
        rule_id, proposal_id = await self.proposed(condition)
        await self.ok(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/approve")
        return rule_id

    async def transaction(self, customer: uuid.UUID, amount: str, at: datetime) -> list[uuid.UUID]:
        """One transaction through the real event path; the alerts it raised."""
        event = transaction_scored(customer, at=at, amount=amount)
        [outcome] = await feed(self.runtime.session_factory, AlertPipeline(), [event])
        return outcome.raised

    async def alerts_of(self, rule_id: str) -> list[Alert]:
        async with self.runtime.session_factory() as session:
            found = await session.scalars(select(Alert).where(Alert.rule_id == uuid.UUID(rule_id)))
            return list(found.all())

    async def shadow_hits(self, run_id: str) -> list[ShadowHit]:
        async with self.runtime.session_factory() as session:
            found = await session.scalars(
                select(ShadowHit)
                .where(ShadowHit.run_id == uuid.UUID(run_id))
                .order_by(ShadowHit.id)
            )
            return list(found.all())


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Api]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_shadow"):
        settings = Settings(
            database_url=url, NATS_URL=infra.nats_url, consumer_prefix="alerting-shadow-test"
        )
        async with running_app(create_app(settings)) as (client, runtime):
            yield Api(client, runtime)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def test_shadow_hits_are_stored_and_no_alert_is_raised(api: Api) -> None:
    rule_id, proposal_id = await api.proposed("txn.amount > 7777")
    started = await api.call(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/shadow")
    assert started.status_code == 201, started.text
    run = started.json()
    assert (run["status"], run["version"], run["started_by"]) == ("running", 1, "rob")
    # Starting again is harmless: the running shadow.
    again = await api.call(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/shadow")
    assert (again.status_code, again.json()["id"]) == (200, run["id"])

    customer = uuid.uuid4()
    raised = await api.transaction(customer, "8000", datetime.now(UTC))
    await api.transaction(customer, "100", datetime.now(UTC))  # below: no hit

    assert await api.alerts_of(rule_id) == []
    assert all(alert.rule_id != uuid.UUID(rule_id) for alert in await _alerts(api, raised))
    [hit] = await api.shadow_hits(run["id"])
    assert (hit.customer_id, hit.event_type) == (customer, "scoring.transaction_scored.v1")
    assert hit.evidence["txn.amount"] == "8000"
    shown = await api.ok(ANALYST, "GET", f"/v1/rule-proposals/{proposal_id}/shadow")
    assert (shown["hit_count"], shown["status"]) == (1, "running")


async def _alerts(api: Api, ids: list[uuid.UUID]) -> list[Alert]:
    async with api.runtime.session_factory() as session:
        return list((await session.scalars(select(Alert).where(Alert.id.in_(ids)))).all())


async def test_the_active_rule_runs_unchanged_while_its_proposal_is_in_shadow(api: Api) -> None:
    rule_id = await api.live("txn.amount > 5000")
    await api.ok(RITA, "PATCH", f"/v1/rules/{rule_id}", {"condition": "txn.amount > 1000"})
    proposal_id = await api.pending(rule_id)
    run = await api.ok(ADA, "POST", f"/v1/rule-proposals/{proposal_id}/shadow")
    assert run["version"] == 3

    customer = uuid.uuid4()
    await api.transaction(customer, "3000", datetime.now(UTC))
    assert await api.alerts_of(rule_id) == []  # the live version (> 5000) did not fire
    await api.transaction(customer, "9000", datetime.now(UTC))
    await api.transaction(customer, "9500", datetime.now(UTC))
    alerts = await api.alerts_of(rule_id)
    # The live version raised its own alerts, its dedup untouched by the shadow's hits.
    assert [(a.rule_version, a.occurrence_count) for a in alerts] == [(2, 1), (2, 1)]
    assert [h.evidence["txn.amount"] for h in await api.shadow_hits(run["id"])] == [
        "3000",
        "9000",
        "9500",
    ]
    rule = await api.ok(ADA, "GET", f"/v1/rules/{rule_id}")
    assert (rule["status"], rule["version"], rule["condition"]) == (
        "active",
        2,
        "txn.amount > 5000",
    )

    # Deciding the proposal stops its shadow: approved, the version goes live and alerts.
    await api.ok(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/approve")
    stopped = await api.ok(ADA, "GET", f"/v1/rule-proposals/{proposal_id}/shadow")
    assert (stopped["status"], stopped["stop_reason"], stopped["hit_count"]) == (
        "stopped",
        "approved",
        3,
    )
    await api.transaction(customer, "2000", datetime.now(UTC))
    assert len(await api.shadow_hits(run["id"])) == 3
    assert len(await api.alerts_of(rule_id)) == 3
    history = await api.ok(ADA, "GET", f"/v1/rules/{rule_id}/history")
    steps = [(e["action"], e["actor"], e["version"]) for e in history]
    assert steps[-4:] == [
        ("proposed", "rita", 3),
        ("shadow_started", "ada", 3),
        ("shadow_stopped", "rob", 3),
        ("approved", "rob", 3),
    ]


async def test_rejecting_or_stopping_ends_the_shadow(api: Api) -> None:
    _, rejected = await api.proposed("txn.amount > 100")
    await api.ok(ROB, "POST", f"/v1/rule-proposals/{rejected}/shadow")
    await api.ok(ADA, "POST", f"/v1/rule-proposals/{rejected}/reject", {"comment": "too broad"})
    shown = await api.ok(VIEWER, "GET", f"/v1/rule-proposals/{rejected}/shadow")
    assert (shown["status"], shown["stop_reason"]) == ("stopped", "rejected")
    _problem(await api.call(ROB, "POST", f"/v1/rule-proposals/{rejected}/shadow"), 409)

    _, stopped = await api.proposed("txn.amount > 200")
    run = await api.ok(ROB, "POST", f"/v1/rule-proposals/{stopped}/shadow")
    first = await api.ok(ROB, "DELETE", f"/v1/rule-proposals/{stopped}/shadow")
    assert (first["id"], first["status"], first["stop_reason"]) == (run["id"], "stopped", "stopped")
    second = await api.ok(ROB, "DELETE", f"/v1/rule-proposals/{stopped}/shadow")
    assert second["stopped_at"] == first["stopped_at"]  # idempotent
    hits_before = len(await api.shadow_hits(run["id"]))
    await api.transaction(uuid.uuid4(), "5000", datetime.now(UTC))
    assert len(await api.shadow_hits(run["id"])) == hits_before


async def test_shadow_hits_are_listed_in_pages_masked_for_viewers(api: Api) -> None:
    _, proposal_id = await api.proposed('txn.amount > 6543 and txn.counterparty_account != "x"')
    await api.ok(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/shadow")
    account = "DE89370400440532013000"
    start = datetime.now(UTC)
    for minute in range(3):
        event = transaction_scored(
            uuid.uuid4(),
            at=start + timedelta(minutes=minute),
            amount="7000",
            counterparty_account=account,
        )
        await feed(api.runtime.session_factory, AlertPipeline(), [event])
    path = f"/v1/rule-proposals/{proposal_id}/shadow-hits"
    first = await api.ok(ANALYST, "GET", path, limit=2)
    assert [hit["evidence"]["txn.counterparty_account"] for hit in first["items"]] == [account] * 2
    rest = await api.ok(ANALYST, "GET", path, limit=2, cursor=first["next_cursor"])
    assert (len(rest["items"]), rest["next_cursor"]) == (1, None)
    times = [hit["occurred_at"] for hit in first["items"] + rest["items"]]
    assert times == sorted(times)
    viewed = await api.ok(VIEWER, "GET", path)
    [shown] = {hit["evidence"]["txn.counterparty_account"] for hit in viewed["items"]}
    assert shown != account
    assert shown.endswith("3000")
    _problem(await api.call(RM, "GET", path), 403)
    _problem(await api.call(ANALYST, "GET", path, cursor="not-a-cursor"), 422)
    _problem(await api.call(ANALYST, "GET", path, limit=501), 422)
    await api.ok(ROB, "DELETE", f"/v1/rule-proposals/{proposal_id}/shadow")


async def test_a_shadow_stops_itself_at_its_hit_cap(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shadow_store, "MAX_HITS_PER_RUN", 2)
    rule_id, proposal_id = await api.proposed("txn.amount > 4321")
    run = await api.ok(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/shadow")
    for _ in range(3):
        await api.transaction(uuid.uuid4(), "5000", datetime.now(UTC))
    shown = await api.ok(ROB, "GET", f"/v1/rule-proposals/{proposal_id}/shadow")
    assert (shown["status"], shown["stop_reason"], shown["hit_count"]) == ("stopped", "hit_cap", 2)
    assert len(await api.shadow_hits(run["id"])) == 2
    assert await api.alerts_of(rule_id) == []


async def test_a_set_of_proposals_runs_in_shadow_together_all_or_none(api: Api) -> None:
    _, first = await api.proposed("txn.amount > 300")
    _, second = await api.proposed("txn.amount > 400")
    refused = await api.call(
        ROB, "POST", "/v1/rule-proposals/shadow", {"proposal_ids": [first, str(uuid.uuid4())]}
    )
    _problem(refused, 404)
    _problem(await api.call(ROB, "GET", f"/v1/rule-proposals/{first}/shadow"), 404)

    runs = await api.ok(ROB, "POST", "/v1/rule-proposals/shadow", {"proposal_ids": [first, second]})
    assert [r["proposal_id"] for r in runs] == [first, second]
    customer = uuid.uuid4()
    await api.transaction(customer, "350", datetime.now(UTC))
    assert [len(await api.shadow_hits(r["id"])) for r in runs] == [1, 0]
    for proposal_id in (first, second):
        await api.ok(ROB, "DELETE", f"/v1/rule-proposals/{proposal_id}/shadow")


async def test_the_comparison_per_day_on_a_constructed_history(api: Api) -> None:
    rule_id = await api.live("txn.amount > 5000")
    await api.ok(RITA, "PATCH", f"/v1/rules/{rule_id}", {"condition": "txn.amount > 1000"})
    proposal_id = await api.pending(rule_id)
    run = await api.ok(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/shadow")
    now = datetime.now(UTC)
    async with api.runtime.session_factory() as session, session.begin():
        # The shadow started three days ago (the history below is its traffic since).
        await session.execute(
            update(ShadowRun)
            .where(ShadowRun.id == uuid.UUID(run["id"]))
            .values(started_at=now - timedelta(days=3))
        )
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    two_days_ago, yesterday = now - timedelta(days=2), now - timedelta(days=1)
    await api.transaction(a, "10000", two_days_ago)  # both versions
    await api.transaction(b, "2000", two_days_ago)  # the shadow only, never dispositioned
    await api.transaction(c, "8000", yesterday)  # both
    await api.transaction(c, "1500", yesterday + timedelta(hours=1))  # shadow; c's label
    await api.transaction(d, "9000", now - timedelta(minutes=1))  # both, not dispositioned
    live = {alert.customer_id: alert.id for alert in await api.alerts_of(rule_id)}
    assert set(live) == {a, c, d}
    for customer, outcome in ((a, "confirmed_risk"), (c, "false_positive")):
        await api.ok(ADA, "POST", f"/v1/alerts/{live[customer]}/resolve", {"outcome": outcome})

    compared = await api.ok(VIEWER, "GET", f"/v1/rules/{rule_id}/shadow-comparison", days=7)
    assert (compared["active_version"], compared["shadow_version"]) == (2, 3)
    assert compared["run"]["id"] == run["id"]
    days = {day["day"]: day for day in compared["days"]}
    assert len(days) == 4  # the shadow's first day had no traffic
    first, second, today = (
        days[two_days_ago.date().isoformat()],
        days[yesterday.date().isoformat()],
        days[now.date().isoformat()],
    )
    assert _side(first["active"]) == (1, 1, 1, 1, 0, 1.0)
    assert _side(first["shadow"]) == (2, 2, 1, 1, 0, 1.0)
    assert _overlap(first) == (1, 1, 0, 1)
    assert _side(second["active"]) == (1, 1, 1, 0, 1, 0.0)
    assert _side(second["shadow"]) == (2, 2, 2, 0, 2, 0.0)
    assert _overlap(second) == (1, 1, 0, 1)
    assert _side(today["active"]) == (1, 1, 0, 0, 0, None)
    assert _side(today["shadow"]) == (1, 1, 0, 0, 0, None)
    assert _side(compared["totals"]["active"]) == (3, 3, 2, 1, 1, 0.5)
    totals_shadow = compared["totals"]["shadow"]
    assert _side(totals_shadow)[:5] == (5, 5, 3, 1, 2)
    assert totals_shadow["precision"] == pytest.approx(1 / 3)

    # The proposal's own comparison is the same run; one day back is today only.
    recent = await api.ok(
        ANALYST, "GET", f"/v1/rule-proposals/{proposal_id}/shadow-comparison", days=1
    )
    assert [day["day"] for day in recent["days"]] == [now.date().isoformat()]
    assert _side(recent["totals"]["shadow"])[:2] == (1, 1)


def _side(side: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("hits", "alerts", "labelled", "true_positives", "false_positives", "precision")
    return tuple(side[key] for key in keys)


def _overlap(day: dict[str, Any]) -> tuple[int, ...]:
    return (day["overlap_events"], day["overlap_customers"], day["only_active"], day["only_shadow"])


async def test_only_managers_start_or_stop_a_shadow(api: Api) -> None:
    rule_id, proposal_id = await api.proposed("txn.amount > 600")
    for who in (ANALYST, VIEWER, RM):
        for method, path in (
            ("POST", f"/v1/rule-proposals/{proposal_id}/shadow"),
            ("DELETE", f"/v1/rule-proposals/{proposal_id}/shadow"),
            ("POST", "/v1/rule-proposals/shadow"),
        ):
            body = {"proposal_ids": [proposal_id]} if path.endswith("proposals/shadow") else None
            _problem(await api.call(who, method, path, body), 403)
    # A relationship manager does not read rules, nor their comparison.
    _problem(await api.call(RM, "GET", f"/v1/rules/{rule_id}/shadow-comparison"), 403)
    async with api.runtime.session_factory() as session:
        count = select(func.count()).where(ShadowRun.proposal_id == uuid.UUID(proposal_id))
        assert await session.scalar(count) == 0


async def test_hostile_input_gets_a_4xx_and_stores_nothing(api: Api) -> None:
    rule_id, proposal_id = await api.proposed("txn.amount > 700")
    unknown = str(uuid.uuid4())
    _problem(await api.call(ROB, "POST", f"/v1/rule-proposals/{unknown}/shadow"), 404)
    _problem(await api.call(ROB, "DELETE", f"/v1/rule-proposals/{unknown}/shadow"), 404)
    _problem(await api.call(ADA, "GET", f"/v1/rules/{unknown}/shadow-comparison"), 404)
    _problem(await api.call(ADA, "GET", f"/v1/rule-proposals/{unknown}/shadow-comparison"), 404)
    # A rule never in shadow has nothing to compare.
    _problem(await api.call(ADA, "GET", f"/v1/rules/{rule_id}/shadow-comparison"), 404)
    await api.ok(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/shadow")
    for days in ("0", "32", "-1", "seven", "1e9"):
        _problem(
            await api.call(ADA, "GET", f"/v1/rules/{rule_id}/shadow-comparison", days=days), 422
        )
    _problem(await api.call(ROB, "POST", "/v1/rule-proposals/not-a-uuid/shadow"), 422)
    for body in ({"proposal_ids": []}, {"proposal_ids": ["x"]}, {"ids": [proposal_id]}, [1]):
        _problem(await api.call(ROB, "POST", "/v1/rule-proposals/shadow", body), 422)
    await api.ok(ROB, "DELETE", f"/v1/rule-proposals/{proposal_id}/shadow")


def test_compare_by_day_labels_alerts_as_backtests_do() -> None:
    """Pure: only a version's alerts are labelled (occurrences are not), by event else by the
    customer within the label window."""
    start = datetime(2026, 11, 2, tzinfo=UTC)
    customer, other = uuid.uuid4(), uuid.uuid4()
    shared_event, late_event = uuid.uuid4(), uuid.uuid4()
    labels = DispositionLabels(
        [Disposition(shared_event, customer, start, "false_positive")], timedelta(hours=24)
    )
    active = [HitRecord(shared_event, customer, start + timedelta(hours=1))]
    shadow = [
        HitRecord(shared_event, customer, start + timedelta(hours=1)),
        HitRecord(uuid.uuid4(), customer, start + timedelta(hours=2), new_alert=False),
        HitRecord(late_event, customer, start + timedelta(days=1, hours=2)),  # beyond 24 h
        HitRecord(uuid.uuid4(), other, start + timedelta(days=1)),
    ]
    days = days_between(start, start + timedelta(days=2))
    first, second = compare_by_day(days, active=active, shadow=shadow, labels=labels)
    assert (first.shadow.hits, first.shadow.alerts, first.shadow.labelled) == (2, 1, 1)
    assert first.shadow.precision == 0.0
    assert (first.overlap_events, first.only_shadow) == (1, 1)
    assert (second.shadow.hits, second.shadow.labelled, second.active.hits) == (2, 0, 0)
    assert second.overlap_customers == 0


def _customer(inside: bool, percent: int) -> uuid.UUID:
    """A customer whose bucket is inside (or outside) a rollout at `percent`."""
    while True:
        customer = uuid.uuid4()
        if (customer_bucket(customer) < percent) == inside:
            return customer


async def _versions_raised(api: Api, rule_id: str, customer: uuid.UUID, amount: str) -> list[int]:
    before = {alert.id for alert in await api.alerts_of(rule_id)}
    await api.transaction(customer, amount, datetime.now(UTC))
    return [a.rule_version for a in await api.alerts_of(rule_id) if a.id not in before]


async def test_a_rollout_runs_the_new_version_for_its_share_of_customers(api: Api) -> None:
    rule_id = await api.live("txn.amount > 5000")
    await api.ok(RITA, "PATCH", f"/v1/rules/{rule_id}", {"condition": "txn.amount > 1000"})
    proposal_id = await api.pending(rule_id)
    await api.ok(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/shadow")
    approved = await api.ok(
        ROB, "POST", f"/v1/rule-proposals/{proposal_id}/approve", {"rollout_percent": 30}
    )
    assert approved["status"] == "approved"
    rule = await api.ok(ADA, "GET", f"/v1/rules/{rule_id}")
    assert (rule["version"], rule["rollout_version"], rule["rollout_percent"]) == (2, 3, 30)
    assert rule["condition"] == "txn.amount > 5000"

    inside, outside = _customer(True, 30), _customer(False, 30)
    assert await _versions_raised(api, rule_id, inside, "3000") == [3]
    assert await _versions_raised(api, rule_id, outside, "3000") == []
    assert await _versions_raised(api, rule_id, outside, "9000") == [2]

    # The author may not widen it; the approver does; 100% completes it.
    _problem(await api.call(RITA, "POST", f"/v1/rules/{rule_id}/rollout", {"percent": 60}), 403)
    for _ in range(2):  # a retry moves nothing and is not audited twice
        widened = await api.ok(ROB, "POST", f"/v1/rules/{rule_id}/rollout", {"percent": 60})
        assert widened["rollout_percent"] == 60
    completed = await api.ok(ROB, "POST", f"/v1/rules/{rule_id}/rollout", {"percent": 100})
    assert (completed["version"], completed["rollout_version"]) == (4, None)
    assert completed["condition"] == "txn.amount > 1000"
    assert await _versions_raised(api, rule_id, outside, "3000") == [4]
    history = await api.ok(ADA, "GET", f"/v1/rules/{rule_id}/history")
    steps = [(e["action"], e["actor"], e["version"], e["comment"]) for e in history]
    assert steps[-6:] == [
        ("shadow_started", "rob", 3, None),
        ("shadow_stopped", "rob", 3, "approved; 0 would-be hits"),
        ("approved", "rob", 3, "[four_eyes]"),
        ("rollout_started", "rob", 3, "30% of customers"),
        ("rollout_changed", "rob", 3, "30% -> 60%"),
        ("rollout_completed", "rob", 3, "60% -> 100%"),
    ]


async def test_a_rollout_can_be_narrowed_or_aborted_and_refuses_bad_input(api: Api) -> None:
    rule_id = await api.live("txn.amount > 5000")
    await api.ok(RITA, "PATCH", f"/v1/rules/{rule_id}", {"condition": "txn.amount > 1000"})
    proposal_id = await api.pending(rule_id)
    for percent in (0, 101, "half", -5):
        body = {"rollout_percent": percent}
        _problem(
            await api.call(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/approve", body), 422
        )
    _problem(await api.call(ROB, "POST", f"/v1/rules/{rule_id}/rollout", {"percent": 10}), 409)
    # A new rule has no live version to roll out beside.
    _, created = await api.proposed("txn.amount > 800")
    body = {"rollout_percent": 10}
    _problem(await api.call(ROB, "POST", f"/v1/rule-proposals/{created}/approve", body), 409)

    await api.ok(ROB, "POST", f"/v1/rule-proposals/{proposal_id}/approve", {"rollout_percent": 50})
    for who in (ANALYST, VIEWER, RM):
        _problem(await api.call(who, "POST", f"/v1/rules/{rule_id}/rollout", {"percent": 10}), 403)
        _problem(await api.call(who, "DELETE", f"/v1/rules/{rule_id}/rollout"), 403)
    # Narrowing takes exposure away: the author may.
    narrowed = await api.ok(RITA, "POST", f"/v1/rules/{rule_id}/rollout", {"percent": 10})
    assert narrowed["rollout_percent"] == 10
    aborted = await api.ok(RITA, "DELETE", f"/v1/rules/{rule_id}/rollout")
    assert (aborted["version"], aborted["rollout_version"], aborted["rollout_percent"]) == (
        2,
        None,
        None,
    )
    assert await _versions_raised(api, rule_id, _customer(True, 10), "3000") == []
    _problem(await api.call(ROB, "DELETE", f"/v1/rules/{rule_id}/rollout"), 409)


def test_customer_buckets_are_stable_uniform_and_nested() -> None:
    known = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
    assert customer_bucket(known) == customer_bucket(uuid.UUID(str(known)))
    customers = [uuid.uuid4() for _ in range(20_000)]
    share = sum(customer_bucket(c) < 30 for c in customers) / len(customers)
    assert 0.27 < share < 0.33
    # A wider rollout keeps every customer of a narrower one.
    assert all(customer_bucket(c) < 50 for c in customers if customer_bucket(c) < 10)
