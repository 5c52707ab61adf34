"""A bank replayed two years in the past raises the alerts the same bank raises today.

Event time everywhere: windows, recency, trends and cooldowns are measured against the
events' own times, never the machine clock, so a backfill gives what live traffic gave. The
same small bank (`riskwatch simulate`) is pushed twice through the running system: once as of
two years ago, once shifted to today under new identities. Each report is taken once every
consumer has processed everything.

Payment alerts must be the same alerts, 730 days apart to the microsecond. Alerts on customer
assessments must come from the same rules on the same customers, and within the bank's own
time: under the machine clock the past bank read "no transactions for 730 days" and raised
churn alerts as of today. (Their exact moment is not compared: alerting folds a credit record
from the customer stream into its snapshot as soon as it arrives, before or after scoring's
assessments of the events before it, whichever stream it reads first.)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskwatch_simulator.config import SimulationConfig
from riskwatch_simulator.harness import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RunningSystem,
    consumers_drained,
)
from riskwatch_simulator.report import SimulationReport
from riskwatch_simulator.simulate import simulate

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
SHIFT_DAYS = 730
Seen = tuple[str, str, str, datetime | None]


def _shifted(report: SimulationReport, seed: int) -> list[Seen]:
    """The past bank's alerts as the same bank today would show them."""
    return [
        (
            customer.replace(f"S{seed}C", f"S{seed}R{SHIFT_DAYS}C", 1),
            rule_type,
            rule,
            None if happened is None else happened + timedelta(days=SHIFT_DAYS),
        )
        for customer, rule_type, rule, happened in report.alerts
    ]


def _payments(alerts: list[Seen]) -> list[Seen]:
    return [seen for seen in alerts if seen[1] == "transaction_anomaly"]


def _rules_per_customer(alerts: list[Seen]) -> set[tuple[str, str]]:
    return {(customer, rule) for customer, _, rule, _ in alerts}


async def test_a_bank_replayed_two_years_ago_raises_the_alerts_it_raises_today(
    system: RunningSystem, scenario_rules: dict[str, dict[str, Any]]
) -> None:
    today = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    seed = 5150
    nats_url = system.stack.env["NATS_URL"]
    past = SimulationConfig(
        gateway=system.gateway,
        customers=12,
        days=120,
        seed=seed,
        rate=None,
        # One batch in flight: each customer's transactions arrive in the same order both times.
        concurrency=1,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        setup_rules=False,
        post_labels=False,
        settle_seconds=2.0,
        now=today - timedelta(days=SHIFT_DAYS),
    )
    then = await simulate(past, settled=lambda: consumers_drained(nats_url))
    now = await simulate(
        replace(past, shift_days=SHIFT_DAYS), settled=lambda: consumers_drained(nats_url)
    )

    assert _payments(then.alerts), "the bank's fraud patterns raise payment alerts"
    assert [seen for seen in then.alerts if seen[1] != "transaction_anomaly"], then.alerts
    assert _payments(_shifted(then, seed)) == _payments(now.alerts)
    assert _rules_per_customer(_shifted(then, seed)) == _rules_per_customer(now.alerts)
    # Every alert of the past bank happened in its own time, none as of today.
    past_end = today - timedelta(days=SHIFT_DAYS - 1)
    assert all(happened is not None and happened <= past_end for *_, happened in then.alerts)
