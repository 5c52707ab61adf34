"""AUC, percentiles and the matching of alerts to injected patterns."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from riskwatch_simulator.bank import Label
from riskwatch_simulator.pacing import Pacer, Progress
from riskwatch_simulator.report import (
    AlertSeen,
    PushTimes,
    SimulationReport,
    auc,
    build_report,
    percentile,
)

scored = st.lists(
    st.tuples(st.integers(min_value=0, max_value=20).map(lambda v: v / 20), st.integers(0, 1)),
    min_size=2,
    max_size=60,
)


def pairwise_auc(scores: list[float], labels: list[int]) -> float:
    pos = [s for s, label in zip(scores, labels, strict=True) if label]
    neg = [s for s, label in zip(scores, labels, strict=True) if not label]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@given(scored)
def test_auc_equals_the_pairwise_definition(pairs: list[tuple[float, int]]) -> None:
    scores, labels = [s for s, _ in pairs], [label for _, label in pairs]
    value = auc(scores, labels)
    if len(set(labels)) < 2:
        assert value is None
        return
    assert value is not None
    assert abs(value - pairwise_auc(scores, labels)) < 1e-9
    flipped = auc([-s for s in scores], labels)
    assert flipped is not None
    assert abs(value + flipped - 1) < 1e-9


def test_auc_of_a_perfect_and_a_useless_ranking() -> None:
    assert auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50))
def test_percentiles_are_ordered_and_bounded(values: list[float]) -> None:
    p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
    assert p50 is not None
    assert p95 is not None
    assert p99 is not None
    assert min(values) <= p50 <= p95 <= p99 <= max(values)


T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def label(
    pattern: str,
    customer: str,
    *,
    transactions: tuple[str, ...] = (),
    records: tuple[str, ...] = (),
) -> Label:
    return Label(
        pattern=pattern,  # type: ignore[arg-type]
        customer_external_id=customer,
        starts_at=T0,
        ends_at=T0,
        transaction_external_ids=transactions,
        record_external_ids=records,
    )


def test_report_matches_alerts_to_what_each_pattern_did() -> None:
    ato = label("account_takeover", "C1", transactions=("X1",))
    structuring = label("structuring", "C2", transactions=("X2",))
    credit = label("credit_deterioration", "C3", records=("R1", "R2"))
    alerts = {
        "u1": [
            AlertSeen("a0", "u1", "transaction_anomaly", "rent", T0 - timedelta(hours=1), "t0"),
            AlertSeen("a1", "u1", "transaction_anomaly", "ato", T0, transaction_id="t1"),
        ],
        "u2": [AlertSeen("a2", "u2", "churn", "wrong kind", T0)],
        "u3": [
            AlertSeen("a3", "u3", "credit_risk", "too early", T0 - timedelta(days=1)),
            AlertSeen("a4", "u3", "credit_risk", "credit", T0 + timedelta(seconds=2)),
        ],
        "u4": [AlertSeen("a5", "u4", "transaction_anomaly", "noise", T0)],
    }
    t = T0.timestamp()
    times = PushTimes(
        transaction_ids={"X0": "t0", "X1": "t1", "X2": "t2"},
        transaction_posted_at={"t0": t - 3600, "t1": t - 0.25, "t2": t},
        record_posted_at={"R1": t - 5, "R2": t + 1},
    )
    report = build_report(
        labels=[ato, structuring, credit],
        customer_ids={"C1": "u1", "C2": "u2", "C3": "u3", "C4": "u4"},
        alerts_by_customer=alerts,
        times=times,
        notified_at={"a1": t + 0.5},
        risk_scores={"u1": {"anomaly": 0.9}, "u2": {"anomaly": 0.2}, "u4": {"anomaly": 0.1}},
        base=SimulationReport(customers=4, transactions_sent=10, records_sent=2, seconds=1.0),
    )
    figures = {f.pattern: f for f in report.patterns}
    assert (figures["account_takeover"].injected, figures["account_takeover"].caught) == (1, 1)
    assert figures["account_takeover"].caught_by == {"ato": 1}
    assert figures["account_takeover"].event_to_alert_seconds == [0.25]
    assert figures["account_takeover"].alert_to_notification_seconds == [0.5]
    assert figures["structuring"].caught == 0
    assert figures["credit_deterioration"].caught_by == {"credit": 1}
    assert figures["credit_deterioration"].event_to_alert_seconds == [1.0]
    assert figures["churn"].injected == 0
    assert report.total_alerts == 6
    # The rent alert on the takeover customer, the early credit alert, the wrong kind, noise.
    assert report.false_alerts == 4
    assert report.false_alerts_by_rule == {"rent": 1, "wrong kind": 1, "too early": 1, "noise": 1}
    assert report.false_alerts_per_1000 == 1000.0
    assert report.auc["anomaly"] == 1.0
    assert report.auc["churn"] is None
    text = report.render()
    assert "| account_takeover | 1 | 1 (100%) | 250 / 250 | 500 / 500 | ato (1) |" in text
    assert "1,000.0 per 1,000 customers" in text


async def test_pacer_spaces_items_at_the_rate() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = Pacer(100, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        await pacer.take(50)
    assert waits == [0.5, 0.5, 0.5]
    assert now[0] == 1.5


def test_progress_writes_plain_lines_when_not_a_terminal() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(1_000, "transactions", stream=out, clock=lambda: now[0], every=5)
    for _ in range(10):
        now[0] += 1
        progress.advance(100)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[###")
    assert (
        lines[-1] == "[############################] 100% 1,000/1,000 transactions  100/s  eta 0s"
    )
    assert len(lines) == 3
