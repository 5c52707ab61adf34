"""Known history for the dashboards' tests: alerts and watch-list movements written straight
into the running system's alerting database on three days long past (no other test writes
there), so a dashboard of those days must show exactly these numbers. Idempotent (fixed ids):
the page tests and the browser tests may both seed it in one session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_shared.settings import to_async_url
from riskwatch_simulator.api import list_all
from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

NAMESPACE = uuid.UUID("5d1b8c1e-6a43-4d3e-9a57-2f0f7d0b9e24")
FIRST_DAY = datetime.now(UTC).date() - timedelta(days=300)
DAYS = [FIRST_DAY + timedelta(days=n) for n in range(3)]
RULE_NAME = "Dashboard history rule"

INSERT_ALERT = """
INSERT INTO alerts (
    id, rule_id, rule_version, rule_name, rule_type, severity, status, outcome, customer_id,
    relationship_manager, title, summary, evidence, scores, reasons, suggested_actions,
    dedup_value, dedup_open, occurrence_count, first_seen_at, last_seen_at, raised_at,
    happened_at, acknowledged_at, resolved_at, sla_due_at
) VALUES (
    :id, :rule_id, 1, :rule_name, :rule_type, :severity, :status, :outcome, :customer_id,
    :rm, 't', 's', '\\x7b7d', '\\x7b7d', '\\x5b5d', '\\x5b5d', :dedup, :open, 1, :raised_at,
    :raised_at, :raised_at, :raised_at, :acknowledged_at, :resolved_at, :sla_due_at
) ON CONFLICT (id) DO NOTHING
"""


@dataclass(frozen=True)
class History:
    since: date
    until: date
    # What the alert dashboards must show for the three days (by type, per day).
    anomalies: list[int]
    credit: list[int]
    sla_breaches: list[int]
    # Ana's (rm-ana) share: the credit alerts.
    rm_alerts: int


def _at(day: date, hour: int, minutes: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minutes), tzinfo=UTC)


def _alert(n: int, rule_id: str, day: date, **fields: Any) -> dict[str, Any]:
    alert_id = uuid.uuid5(NAMESPACE, f"alert-{n}")
    raised = _at(day, 9, n)
    row = {"id": alert_id, "dedup": str(alert_id), "rule_id": uuid.UUID(rule_id),
           "rule_name": RULE_NAME, "customer_id": uuid.uuid5(NAMESPACE, f"customer-{n}"),
           "rm": None, "outcome": None, "acknowledged_at": raised + timedelta(minutes=15),
           "resolved_at": None, "raised_at": raised, "sla_due_at": raised + timedelta(hours=4),
           "status": "acknowledged", **fields}  # fmt: skip
    row["open"] = row["status"] != "resolved"
    return row


def _alerts(rule_id: str) -> list[dict[str, Any]]:
    first, _, third = DAYS
    rows = [
        # Day 1: three anomalies (two high, one low): one still open, one resolved late (two
        # SLA breaches).
        _alert(1, rule_id, first, rule_type="transaction_anomaly", severity="high"),
        _alert(2, rule_id, first, rule_type="transaction_anomaly", severity="high",
               status="resolved", outcome="false_positive",
               resolved_at=_at(first, 20)),
        _alert(3, rule_id, first, rule_type="transaction_anomaly", severity="low",
               status="resolved", outcome="confirmed_risk", resolved_at=_at(first, 10)),
        # Day 3: two credit alerts of rm-ana's customers, resolved in time.
        _alert(4, rule_id, third, rule_type="credit_risk", severity="critical", rm="rm-ana",
               status="resolved", outcome="confirmed_risk", resolved_at=_at(third, 11)),
        _alert(5, rule_id, third, rule_type="credit_risk", severity="medium", rm="rm-ana",
               status="resolved", outcome="false_positive", resolved_at=_at(third, 11)),
    ]  # fmt: skip
    return rows


def alerting_database(system: RunningSystem) -> str:
    server = make_url(system.stack.env["DATABASE_URL"]).set(database="riskwatch_alerting")
    return to_async_url(server.render_as_string(hide_password=False))


async def seed_history(system: RunningSystem, admin: RiskWatchClient) -> History:
    rules = await list_all(admin, "/v1/rules")
    rule = next((r for r in rules if r["name"] == RULE_NAME), None) or await admin.post_json(
        "/v1/rules",
        {"name": RULE_NAME, "rule_type": "custom", "severity": "high",
         "trigger_event_types": ["scoring.transaction_scored.v1"],
         "condition": "txn.amount > 999999999"},
    )  # fmt: skip
    engine = create_async_engine(alerting_database(system))
    try:
        async with engine.begin() as conn:
            await conn.execute(text(INSERT_ALERT), _alerts(str(rule["id"])))
    finally:
        await engine.dispose()
    return History(
        since=DAYS[0],
        until=DAYS[-1],
        anomalies=[3, 0, 0],
        credit=[0, 0, 2],
        sla_breaches=[2, 0, 0],
        rm_alerts=2,
    )
