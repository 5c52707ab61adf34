"""The dashboards' aggregates over real HTTP and PostgreSQL (issue 24, screen 3): alerts per
day by type and severity, time to acknowledge, SLA breaches, false positives per rule; the
watch list's size and movements per day; an RM's figures of their own customers only; who may
ask; hostile periods refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.dashboards import sizes_by_day
from riskwatch_alerting.main import create_app
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, served_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI

ADMIN = Identity(subject="u-root", roles=("admin",))
VIEWER = Identity(subject="u-vic", roles=("viewer",))
RM_A = Identity(subject="u-rma", roles=("relationship_manager",), staff_id="rm-a")
INGEST = Identity(subject="u-core", roles=("ingest",))
TODAY = datetime.now(UTC).date()
ANA_CUSTOMER, OTHER_CUSTOMER = uuid.uuid4(), uuid.uuid4()

INSERT_ALERT = """
INSERT INTO alerts (
    id, rule_id, rule_version, rule_name, rule_type, severity, status, outcome, customer_id,
    title, summary, evidence, scores, reasons, suggested_actions, dedup_value, dedup_open,
    occurrence_count, first_seen_at, last_seen_at, raised_at, happened_at, acknowledged_at,
    resolved_at, sla_due_at
) VALUES (
    :id, :rule_id, 1, :rule_name, :rule_type, :severity, :status, :outcome, :customer_id,
    't', 's', '\\x7b7d', '\\x7b7d', '\\x5b5d', '\\x5b5d', :dedup, :open, 1,
    :raised_at, :raised_at, :raised_at, :raised_at, :acknowledged_at, :resolved_at, :sla_due_at
)
"""
INSERT_ENTRY = """
INSERT INTO watchlist_entries (
    id, customer_id, status, reason, owner, review_due, required_actions, exit_criteria,
    origin, entered_at, entered_by, exited_at
) VALUES (
    :id, :customer_id, :status, 'r', 'alice', :review_due, '[]', 'e', :origin, :entered_at,
    'alice', :exited_at
)
"""


def at(days_ago: int, hour: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), tzinfo=UTC)


@dataclass
class Dashboards:
    base_url: str
    runtime: ServiceRuntime
    rules: dict[str, uuid.UUID]

    def client(self, identity: Identity) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, headers=identity_headers(identity), timeout=15
        )

    async def sql(self, statement: str, rows: list[dict[str, Any]]) -> None:
        async with self.runtime.engine.begin() as conn:
            await conn.execute(text(statement), rows)


def _alert(rule: uuid.UUID, name: str, **fields: Any) -> dict[str, Any]:
    alert_id = uuid.uuid4()
    return {"id": alert_id, "dedup": str(alert_id), "open": fields["status"] != "resolved",
            "rule_id": rule, "rule_name": name, "outcome": None,
            "acknowledged_at": None, "resolved_at": None, "customer_id": OTHER_CUSTOMER,
            **fields}  # fmt: skip


async def _seed(harness: Dashboards) -> None:
    big, credit = harness.rules["Big payment"], harness.rules["Credit slide"]
    two_days, yesterday = at(2, 9), at(1, 10)
    alerts = [
        # Two days ago: two anomalies (high, medium); one acknowledged after 10 minutes and
        # resolved in time as a false positive, the other still open past its SLA.
        _alert(big, "Big payment", rule_type="transaction_anomaly", severity="high",
               status="resolved", outcome="false_positive", raised_at=two_days,
               acknowledged_at=two_days + timedelta(minutes=10),
               resolved_at=two_days + timedelta(hours=1), sla_due_at=two_days + timedelta(hours=4)),
        _alert(big, "Big payment", rule_type="transaction_anomaly", severity="medium",
               status="new", raised_at=two_days, sla_due_at=two_days + timedelta(hours=4)),
        # Yesterday: a credit alert on Ana's customer, acknowledged after 30 minutes, resolved
        # as confirmed after its SLA (a breach); an anomaly confirmed in time.
        _alert(credit, "Credit slide", rule_type="credit_risk", severity="critical",
               status="resolved", outcome="confirmed_risk", raised_at=yesterday,
               customer_id=ANA_CUSTOMER, acknowledged_at=yesterday + timedelta(minutes=30),
               resolved_at=yesterday + timedelta(hours=6),
               sla_due_at=yesterday + timedelta(hours=4)),
        _alert(big, "Big payment", rule_type="transaction_anomaly", severity="high",
               status="resolved", outcome="confirmed_risk", raised_at=yesterday,
               acknowledged_at=yesterday + timedelta(minutes=20),
               resolved_at=yesterday + timedelta(hours=1),
               sla_due_at=yesterday + timedelta(hours=4)),
        # Long before the period: not counted.
        _alert(big, "Big payment", rule_type="transaction_anomaly", severity="low",
               status="resolved", outcome="false_positive", raised_at=at(60, 9),
               resolved_at=at(60, 10), sla_due_at=at(60, 13)),
    ]  # fmt: skip
    await harness.sql(INSERT_ALERT, alerts)
    due = TODAY + timedelta(days=7)
    entries = [
        # On the list before the period and still on it; entered two days ago by an analyst
        # and left yesterday; entered yesterday by the early warning (Ana's customer).
        {"id": uuid.uuid4(), "customer_id": OTHER_CUSTOMER, "status": "active", "origin": "analyst",
         "entered_at": at(90, 9), "exited_at": None, "review_due": due},
        {"id": uuid.uuid4(), "customer_id": uuid.uuid4(), "status": "exited", "origin": "analyst",
         "entered_at": at(2, 11), "exited_at": at(1, 15), "review_due": due},
        {"id": uuid.uuid4(), "customer_id": ANA_CUSTOMER, "status": "active",
         "origin": "early_warning", "entered_at": at(1, 12), "exited_at": None, "review_due": due},
    ]  # fmt: skip
    await harness.sql(INSERT_ENTRY, entries)
    await harness.sql(
        "INSERT INTO watchlist_reviews (entry_id, at, reviewer, note, next_review_due) "
        "VALUES (:entry_id, :at, 'alice', 'n', :due)",
        [{"entry_id": entries[0]["id"], "at": at(1, 16), "due": due}],
    )
    await harness.sql(
        "INSERT INTO customer_directory (customer_id, name, relationship_manager, segment) "
        "VALUES (:customer_id, 'Ana Customer', 'rm-a', 'retail')",
        [{"customer_id": ANA_CUSTOMER}],
    )


@pytest.fixture(scope="module")
async def dashboards(infra: Infra) -> AsyncIterator[Dashboards]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_dashboards"):
        settings = Settings(
            database_url=url,
            NATS_URL=infra.nats_url,
            consumer_prefix=f"alerting-dash-{uuid.uuid4().hex[:6]}",
        )
        async with served_app(create_app(settings)) as (base_url, runtime):
            harness = Dashboards(base_url, runtime, {})
            async with harness.client(ADMIN) as admin:
                for name, rule_type in (("Big payment", "transaction_anomaly"),
                                        ("Credit slide", "credit_risk")):  # fmt: skip
                    rule = await admin.post(
                        "/v1/rules",
                        json={"name": name, "rule_type": rule_type, "severity": "high",
                              "trigger_event_types": ["scoring.transaction_scored.v1"],
                              "condition": "txn.amount > 5000"},
                    )  # fmt: skip
                    assert rule.status_code == 201, rule.text
                    harness.rules[name] = uuid.UUID(rule.json()["id"])
            await _seed(harness)
            yield harness


def _day(stats: dict[str, Any], days_ago: int) -> dict[str, Any]:
    wanted = (TODAY - timedelta(days=days_ago)).isoformat()
    return next(day for day in stats["days"] if day["day"] == wanted)


async def test_alerts_per_day_by_type_severity_acknowledge_and_sla(dashboards: Dashboards) -> None:
    async with dashboards.client(VIEWER) as viewer:
        response = await viewer.get("/v1/alerts/stats/daily")
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["until"] == TODAY.isoformat()
    assert len(stats["days"]) == 30  # every day of the period, a zero where nothing happened
    assert stats["total"] == 4
    assert stats["sla_breaches"] == 2
    two_days, yesterday = _day(stats, 2), _day(stats, 1)
    assert two_days["by_type"] == {"transaction_anomaly": 2}
    assert two_days["by_severity"] == {"high": 1, "medium": 1}
    assert two_days["acknowledged"] == 1
    assert two_days["median_acknowledge_seconds"] == 600.0
    assert two_days["sla_breaches"] == 1
    assert yesterday["by_type"] == {"credit_risk": 1, "transaction_anomaly": 1}
    assert yesterday["by_severity"] == {"critical": 1, "high": 1}
    assert yesterday["median_acknowledge_seconds"] == 1500.0  # of 20 and 30 minutes
    assert yesterday["sla_breaches"] == 1
    assert _day(stats, 5) == {**_day(stats, 5), "total": 0, "by_type": {},
                              "median_acknowledge_seconds": None}  # fmt: skip
    rates = {r["rule_name"]: r for r in stats["false_positive_rate_by_rule"]}
    assert rates["Big payment"]["resolved"] == 2  # the one of 60 days ago is out of the period
    assert rates["Big payment"]["false_positive_rate"] == 0.5
    assert rates["Credit slide"]["false_positive_rate"] == 0.0


async def test_a_relationship_manager_sees_their_own_customers_only(
    dashboards: Dashboards,
) -> None:
    async with dashboards.client(RM_A) as rm:
        alerts = (await rm.get("/v1/alerts/stats/daily")).json()
        watch = (await rm.get("/v1/watchlist/stats")).json()
    assert alerts["total"] == 1
    assert _day(alerts, 1)["by_type"] == {"credit_risk": 1}
    assert watch["active_now"] == 1
    assert watch["entered_by_origin"] == {"early_warning": 1}


async def test_watch_list_size_and_movements_per_day(dashboards: Dashboards) -> None:
    async with dashboards.client(VIEWER) as viewer:
        response = await viewer.get(
            "/v1/watchlist/stats",
            params={"since": (TODAY - timedelta(days=3)).isoformat(), "until": TODAY.isoformat()},
        )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["active_now"] == 2
    assert stats["entered_by_origin"] == {"analyst": 1, "early_warning": 1}
    assert [(d["entered"], d["exited"], d["reviewed"], d["size"]) for d in stats["days"]] == [
        (0, 0, 0, 1),
        (1, 0, 0, 2),
        (1, 1, 1, 2),
        (0, 0, 0, 2),
    ]


async def test_who_may_ask_and_hostile_periods(dashboards: Dashboards) -> None:
    async with dashboards.client(INGEST) as ingest:
        for path in ("/v1/alerts/stats/daily", "/v1/watchlist/stats"):
            assert (await ingest.get(path)).status_code == 403
    async with dashboards.client(VIEWER) as viewer:
        for params in (
            {"since": "2026-05-02", "until": "2026-05-01"},
            {"since": "2020-01-01", "until": "2026-01-01"},
            {"since": "yesterday"},
            {"until": "2026-13-40"},
        ):
            for path in ("/v1/alerts/stats/daily", "/v1/watchlist/stats"):
                refused = await viewer.get(path, params=params)
                assert refused.status_code == 422, (path, params, refused.text)
                assert refused.headers["content-type"] == "application/problem+json"


def test_sizes_by_day_runs_the_movements() -> None:
    days = [date(2026, 1, d) for d in (1, 2, 3)]
    entered = {days[0]: 2, days[2]: 1}
    assert sizes_by_day(5, entered, {days[1]: 3}, days) == [7, 4, 5]
