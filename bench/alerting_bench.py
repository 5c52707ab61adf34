"""Benchmark: the alerting event path against 50 active rules.

Scored transactions and customer assessments are published to the SCORING stream; the
alerting service's own consumer (shared ConsumerRunner + AlertPipeline batch handler: inbox
claim, windows, 50 compiled rules, dedup, alerts, outbox, evaluation history, one transaction
per fetched batch, commit then ack) drains them while its outbox relay publishes the
alert events, all in this one process as in the service.

Two phases:
- drain: the stream is pre-loaded with --events events, then the consumer starts; events/s
  is the number handled over the time to handle them all. Latency "received -> committed"
  is per message, from the moment its batch was fetched to the moment the batch's
  transaction (alerts included) committed and the messages were acked.
- paced: a steady --rate events/s is published while the consumer runs; latency is from
  publish to commit (queueing included), the figure an analyst waiting on an alert sees.

Embedded PostgreSQL/NATS unless DATABASE_URL / NATS_URL are set.

    .venv/bin/python bench/alerting_bench.py            # full run (~40 s)
    .venv/bin/python bench/alerting_bench.py --quick    # < 60 s
    .venv/bin/python bench/alerting_bench.py --mix e2e  # the end-to-end run's traffic
    .venv/bin/python bench/alerting_bench.py --quick --shadow 3  # 3 proposals in shadow

`--mix e2e` is an alert storm: the traffic bench/e2e_bench.py's "alerting activity" section
showed alerting got from the whole system while the simulator's bank paid in real time:
3,000 customers each paying every ~6 s (500 transactions/s), so the velocity rules held on
most transactions (~160 alerts and ~600 repeat occurrences per 1,000 transactions), 13%
`customer_risk_level_changed.v1`, e2e_bench's rule set (the shipped templates and variants
tuned by 1.1, 1.2, ...), and small fetched batches (`--batch-size 50`: the consumer keeps
up, so a fetch holds what arrived since the last one). Results go to
results/alerting_e2e_mix.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import measure
import uvloop
from nats.aio.msg import Msg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import riskwatch_alerting
from riskwatch_alerting import repository, rule_governance, service
from riskwatch_alerting.config import Settings
from riskwatch_alerting.consumers import consumer_specs
from riskwatch_alerting.models import Alert, AlertTimelineEntry, ShadowHit
from riskwatch_alerting.rule_governance import SERVICE_APPROVER
from riskwatch_alerting.rules.templates import TEMPLATES
from riskwatch_alerting.schemas import (
    ListCreate,
    ListEntryIn,
    RuleCreate,
    RuleUpdate,
    TemplateInstantiate,
)
from riskwatch_alerting.shadow import service as shadow_service
from riskwatch_shared.app import ServiceRuntime, start_runtime, stop_runtime, tune_gc
from riskwatch_shared.db.migrate import drop_database, run_migrations
from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import RiskLevel, TransactionData
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerRiskLevelChanged,
    TransactionScored,
)
from riskwatch_shared.logging import configure_logging
from riskwatch_shared.messaging.consumer import ConsumerRunner
from riskwatch_shared.settings import to_async_url

RESULTS = Path(__file__).parent / "results" / "alerting.md"
RESULTS_E2E_MIX = Path(__file__).parent / "results" / "alerting_e2e_mix.md"
ALEMBIC_INI = Path(riskwatch_alerting.__file__).parent / "alembic.ini"
TARGET_EVENTS_PER_SECOND = 3_000
# CPU per event in the service process that leaves PostgreSQL and NATS room at the target.
CPU_BUDGET_US = 250
ACTOR = "bench"

# (template, parameter variants): 7 transaction templates x 4, 5 credit x 3, 3 churn x 2 = 49.
VARIANTS: dict[str, list[dict[str, Decimal]]] = {
    "large_amount_vs_average": [
        {"min_amount": Decimal(a), "multiple": Decimal(m)}
        for a, m in (("1000", "5"), ("2000", "4"), ("5000", "3"), ("500", "8"))
    ],
    "velocity_burst": [
        {"max_count": Decimal(c), "volume_multiple": Decimal(v)}
        for c, v in (("5", "3"), ("4", "4"), ("6", "2"), ("8", "3"))
    ],
    "new_country_or_device_large_transfer": [
        {"min_amount": Decimal(a)} for a in ("5000", "2000", "10000", "1000")
    ],
    "structuring": [
        {"band_low": Decimal(lo), "threshold": Decimal(t), "min_count": Decimal(c)}
        for lo, t, c in (
            ("9000", "10000", "3"),
            ("8500", "10000", "2"),
            ("4500", "5000", "3"),
            ("13500", "15000", "3"),
        )
    ],
    "night_transfers": [
        {"night_end_hour": Decimal(h), "min_amount": Decimal(a), "min_count": Decimal(c)}
        for h, a, c in (
            ("5", "1000", "2"),
            ("4", "500", "3"),
            ("6", "2000", "2"),
            ("3", "100", "4"),
        )
    ],
    "high_risk_destination": [{}, {}, {}, {}],
    "anomaly_score_high": [{"min_score": Decimal(s)} for s in ("0.9", "0.8", "0.95", "0.85")],
    "credit_level_rose": [{}, {}, {}],
    "debt_to_income_high": [{"max_ratio": Decimal(r)} for r in ("0.5", "0.6", "0.45")],
    "missed_payment_or_delinquency": [{"min_missed": Decimal(m)} for m in ("1", "2", "3")],
    "utilisation_high": [{"max_utilisation": Decimal(u)} for u in ("0.9", "0.95", "0.85")],
    "bureau_score_drop": [{"min_drop": Decimal(d)} for d in ("50", "80", "30")],
    "inactivity_churn": [{}, {"inactive_days": Decimal("90")}],
    "balance_drain": [{}, {"max_balance_trend": Decimal("-0.6")}],
    "complaint_churn": [{}, {"min_complaints": Decimal("3")}],
}
CUSTOM_RULE = RuleCreate(
    name="Many countries in a week, then a large payment",
    rule_type="custom",
    severity="medium",
    trigger_event_types=["scoring.transaction_scored.v1"],
    condition='distinct(txn.country, within="7d") >= 4 and txn.amount > 2000',
)


async def create_rules(runtime: ServiceRuntime) -> int:
    async with runtime.session_factory() as session, session.begin():
        await service.create_list(
            session,
            data=ListCreate(
                name="high_risk_countries",
                kind="countries",
                entries=[ListEntryIn(value=c) for c in ("IR", "KP", "SY", "MM", "YE")],
            ),
            actor=ACTOR,
        )
        await service.create_list(
            session,
            data=ListCreate(name="watchlist_accounts", kind="accounts", entries=[]),
            actor=ACTOR,
        )
        count = 0
        for template in TEMPLATES:
            # Templates shipped after this set was fixed are not in it (the 50 rules stay).
            for number, parameters in enumerate(VARIANTS.get(template.key, [])):
                rule = await service.create_rule_from_template(
                    session,
                    key=template.key,
                    data=TemplateInstantiate(
                        name=f"{template.name} #{number}", parameters=parameters
                    ),
                    actor=ACTOR,
                )
                await service.set_rule_status(session, rule.id, status="active", actor=ACTOR)
                count += 1
        custom = await service.create_rule(session, data=CUSTOM_RULE, actor=ACTOR)
        await service.set_rule_status(session, custom.id, status="active", actor=ACTOR)
        return count + 1


async def start_shadows(runtime: ServiceRuntime, count: int) -> int:
    """`count` active rules get a change proposal (a tuned name: the same condition, so each
    shadow hits as often as its live rule and stores every hit) put in shadow: the busiest
    first (the anomaly-score variants raise most of this traffic's alerts)."""
    async with runtime.session_factory() as session, session.begin():
        active = await repository.active_rules(session)
        busiest = sorted(active, key=lambda rule: rule.template_key != "anomaly_score_high")
        rules = busiest[:count]
        for rule in rules:
            changes = RuleUpdate(name=f"{rule.name} (tuned)")
            await service.update_rule(session, rule.id, changes=changes, actor="bench-maker")
            [proposal] = await rule_governance.pending_of(session, rule.id)
            await shadow_service.start(session, proposal.id, approver=SERVICE_APPROVER)
        return len(rules)


async def create_e2e_rules(runtime: ServiceRuntime, wanted: int = 50) -> int:
    """bench/e2e_bench.py's rule set: every shipped template as shipped, then tuned variants
    (all parameters scaled by 1.1, 1.2, ... round the tunable templates) up to `wanted`, the
    custom `distinct()` rule standing in for its latency probe rule."""
    rules: list[RuleCreate] = [CUSTOM_RULE]
    rules += [
        RuleCreate(
            name=template.name,
            rule_type=template.rule_type,
            severity=template.severity,
            trigger_event_types=list(template.trigger_event_types),
            condition=template.condition,
            dedup_key=template.dedup_key,
            cooldown_seconds=template.cooldown_seconds,
        )
        for template in TEMPLATES
    ]
    tunable = [template for template in TEMPLATES if template.parameters]
    number = 0
    while len(rules) < wanted:
        template = tunable[number % len(tunable)]
        number += 1
        scale = Decimal(1) + Decimal(number) / 10
        rules.append(
            RuleCreate(
                name=f"{template.name} (variant {number})",
                rule_type=template.rule_type,
                severity=template.severity,
                trigger_event_types=list(template.trigger_event_types),
                condition=template.condition_with(
                    {name: value * scale for name, value in template.parameters.items()}
                ),
                dedup_key=template.dedup_key,
                cooldown_seconds=template.cooldown_seconds,
            )
        )
    async with runtime.session_factory() as session, session.begin():
        for name, kind, values in (
            ("high_risk_countries", "countries", ("KP", "IR")),
            ("watchlist_accounts", "accounts", ()),
        ):
            entries = [ListEntryIn(value=value) for value in values]
            await service.create_list(
                session, data=ListCreate(name=name, kind=kind, entries=entries), actor=ACTOR
            )
        for body in rules:
            rule = await service.create_rule(session, data=body, actor=ACTOR)
            await service.set_rule_status(session, rule.id, status="active", actor=ACTOR)
    return len(rules)


class EventFactory:
    """Realistic-ish traffic: 90% scored transactions, 10% assessments; a few percent risky."""

    def __init__(self, customers: int, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.customers = [uuid.uuid4() for _ in range(customers)]
        self.clock = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def next(self) -> Event:
        self.clock += timedelta(milliseconds=self.rng.randint(100, 2_000))
        customer = self.rng.choice(self.customers)
        if self.rng.random() < 0.1:
            return self._assessed(customer)
        return self._transaction(customer)

    def _transaction(self, customer: uuid.UUID) -> TransactionScored:
        rng = self.rng
        amount = Decimal(str(round(rng.lognormvariate(4.5, 1.0), 2)))
        if rng.random() < 0.005:
            amount = Decimal(rng.choice(["9500", "9900", "6000", "12000"]))
        country = "IR" if rng.random() < 0.003 else rng.choice(["DE", "DE", "DE", "FR", "NL"])
        transaction = TransactionData(
            transaction_id=uuid.uuid4(),
            external_id=uuid.uuid4().hex[:12],
            customer_id=customer,
            account_id=uuid.UUID(int=customer.int ^ 1),
            direction="outbound" if rng.random() < 0.7 else "inbound",
            amount=amount,
            currency="EUR",
            channel=rng.choice(["card", "transfer", "online", "mobile"]),
            counterparty_account=f"DE{rng.randint(10**9, 10**10)}",
            counterparty_country=country,
            device_id=f"dev-{customer.hex[:6]}",
            country=country,
            occurred_at=self.clock,
            received_at=self.clock,
        )
        score = rng.random() ** 12
        return TransactionScored(
            customer_id=customer,
            occurred_at=self.clock,
            transaction=transaction,
            anomaly_score=score,
            anomaly_level="critical" if score > 0.97 else "low",
            recommended_action="approve",
            model_version="bench",
            transaction_features={
                "is_new_country": rng.random() < 0.02,
                "is_new_device": rng.random() < 0.01,
                "is_new_counterparty": rng.random() < 0.2,
                "amount_to_avg_30d": float(amount) / 120.0,
            },
            customer_features={"avg_amount_30d": 120.0, "txn_count_24h": rng.randint(0, 20)},
            risk_levels={"credit": "low", "churn": "low", "anomaly": "low"},
        )

    def _assessed(self, customer: uuid.UUID) -> CustomerAssessed:
        rng = self.rng
        return CustomerAssessed(
            customer_id=customer,
            occurred_at=self.clock,
            trigger_event_type="customer.credit_record_added.v1",
            sequence=int(self.clock.timestamp()),
            levels={"credit": "high" if rng.random() < 0.01 else "low", "churn": "low"},
            scores={"credit": rng.random() * 0.1, "churn": rng.random() * 0.3},
            customer_features={
                "debt_to_income": round(rng.random() * (0.9 if rng.random() < 0.02 else 0.4), 3),
                "utilisation": round(rng.random() * (0.99 if rng.random() < 0.02 else 0.8), 3),
                "missed_payments": 1 if rng.random() < 0.01 else 0,
                "bureau_score_change": rng.randint(-90, 10) if rng.random() < 0.02 else 0,
                "days_since_last_activity": rng.randint(0, 30),
                "activity_trend_90d": round(rng.uniform(-0.2, 0.5), 3),
                "complaints_90d": 1 if rng.random() < 0.05 else 0,
            },
        )


class E2EMixFactory(EventFactory):
    """The end-to-end run's mix: the clock moves 1/rate per event (every customer pays every
    customers/rate seconds, so velocity windows fill up) and a risk level change follows
    13% of the transactions, as scoring publishes them."""

    def __init__(self, customers: int, rate: float, seed: int = 11) -> None:
        super().__init__(customers, seed)
        self.step_ms = 1000.0 / rate
        # Some customers pay far more often than others, as in the simulator's bank.
        self.activity = list(
            itertools.accumulate(self.rng.lognormvariate(0, 0.6) for _ in self.customers)
        )

    def next(self) -> Event:
        self.clock += timedelta(milliseconds=self.rng.uniform(0, 2 * self.step_ms))
        customer = self.rng.choices(self.customers, cum_weights=self.activity)[0]
        if self.rng.random() < 0.13:
            return self._level_changed(customer)
        return self._transaction(customer)

    def _level_changed(self, customer: uuid.UUID) -> CustomerRiskLevelChanged:
        rng = self.rng
        levels: tuple[RiskLevel, ...] = ("low", "medium", "high")
        return CustomerRiskLevelChanged(
            customer_id=customer,
            occurred_at=self.clock,
            model_kind=rng.choice(["credit", "churn", "anomaly"]),
            from_level=rng.choice(levels),
            to_level=rng.choice(levels),
            score=rng.random(),
            sequence=int(self.clock.timestamp() * 1000),
            model_version="bench",
        )


class TimedRunner(ConsumerRunner):
    """The service's consumer, timing each message from fetch to commit+ack."""

    received_to_committed: list[float]
    committed_at: dict[str, float]

    async def _handle_together(self, work: Any, batch: Any = None) -> None:
        try:
            await super()._handle_together(work, batch)
        except Exception as exc:
            # A failed batch is retried message by message: say so, it skews the figures.
            print("batch failed, retrying singly:", repr(exc)[:500], file=sys.stderr)
            raise

    async def process_batch(self, msgs: list[Msg]) -> None:
        received = time.perf_counter()
        await super().process_batch(msgs)
        done = time.perf_counter()
        self.received_to_committed.extend([done - received] * len(msgs))
        for msg in msgs:
            msg_id = (msg.headers or {}).get("Nats-Msg-Id")
            if msg_id:
                self.committed_at[msg_id] = done


async def publish_all(runtime: ServiceRuntime, events: list[Event]) -> dict[str, float]:
    """publish_async in chunks, then wait for the acks; returns the publish time per id."""
    published: dict[str, float] = {}
    js = runtime.bus.js
    for start in range(0, len(events), 1_000):
        futures = []
        for event in events[start : start + 1_000]:
            msg_id = str(event.id)
            published[msg_id] = time.perf_counter()
            futures.append(
                await js.publish_async(
                    event.type, event.to_json_bytes(), headers={"Nats-Msg-Id": msg_id}
                )
            )
        await asyncio.gather(*futures)
    return published


async def publish_paced(
    runtime: ServiceRuntime, events: list[Event], rate: float
) -> dict[str, float]:
    published: dict[str, float] = {}
    js = runtime.bus.js
    begin = time.perf_counter()
    tick = 0.02
    per_tick = max(1, round(rate * tick))
    futures = []
    for start in range(0, len(events), per_tick):
        due = begin + (start / rate)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        for event in events[start : start + per_tick]:
            msg_id = str(event.id)
            published[msg_id] = time.perf_counter()
            futures.append(
                await js.publish_async(
                    event.type, event.to_json_bytes(), headers={"Nats-Msg-Id": msg_id}
                )
            )
    await asyncio.gather(*futures)
    return published


def postgres_cpu_seconds(root: int | None) -> float | None:
    """PostgreSQL's postmaster and backends (exited ones too); None with no local server."""
    return None if root is None else measure.process_tree_cpu_seconds(root)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_handled(runner: TimedRunner, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while runner.stats.handled + runner.stats.duplicates < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"handled {runner.stats.handled} of {expected}")
        await asyncio.sleep(0.01)


async def start_consumer(runtime: ServiceRuntime, prefix: str) -> TimedRunner:
    spec = next(s for s in consumer_specs(runtime) if s.stream == "SCORING")
    spec.durable = prefix
    runner = TimedRunner(spec, bus=runtime.bus, session_factory=runtime.session_factory)
    runner.received_to_committed = []
    runner.committed_at = {}
    await runner.start()
    return runner


async def run(args: argparse.Namespace, database_url: str, nats_url: str) -> dict[str, Any]:
    settings = Settings(
        database_url=database_url, NATS_URL=nats_url, consumer_batch_size=args.batch_size
    )
    runtime = await start_runtime(settings)
    try:
        rules = await (create_e2e_rules(runtime) if args.mix == "e2e" else create_rules(runtime))
        shadows = await start_shadows(runtime, args.shadow) if args.shadow else 0
        await tune_gc(runtime)  # what the service's startup hook does
        factory = (
            E2EMixFactory(args.customers, args.rate)
            if args.mix == "e2e"
            else EventFactory(args.customers)
        )
        # Drain: preload, then consume.
        events = [factory.next() for _ in range(args.events)]
        await publish_all(runtime, events)
        durable = f"alerting-bench-{uuid.uuid4().hex[:6]}"
        postgres_before = postgres_cpu_seconds(args.postmaster_pid)
        started, cpu_started = time.perf_counter(), time.process_time()
        runner = await start_consumer(runtime, durable)
        await wait_handled(runner, len(events), timeout=args.timeout)
        drain_seconds = time.perf_counter() - started
        drain_cpu = time.process_time() - cpu_started
        postgres_after = postgres_cpu_seconds(args.postmaster_pid)
        postgres_cpu = (
            None
            if postgres_before is None or postgres_after is None
            else postgres_after - postgres_before
        )
        drain_latency = list(runner.received_to_committed)
        batches = runner.stats.batches
        # Paced: a steady rate with the consumer already running.
        runner.received_to_committed.clear()
        paced_events = [factory.next() for _ in range(int(args.rate * args.paced_seconds))]
        handled_before = runner.stats.handled
        published = await publish_paced(runtime, paced_events, args.rate)
        await wait_handled(runner, handled_before + len(paced_events), timeout=args.timeout)
        paced_latency = [
            runner.committed_at[msg_id] - at
            for msg_id, at in published.items()
            if msg_id in runner.committed_at
        ]
        await runner.stop()
        async with runtime.session_factory() as session:
            alerts = int(await session.scalar(select(func.count()).select_from(Alert)) or 0)
            occurrences = int(await session.scalar(select(func.sum(Alert.occurrence_count))) or 0)
            timeline = int(
                await session.scalar(select(func.count()).select_from(AlertTimelineEntry)) or 0
            )
            by_rule = (
                await session.execute(
                    select(Alert.rule_name, func.count())
                    .group_by(Alert.rule_name)
                    .order_by(func.count().desc())
                    .limit(6)
                )
            ).all()
            shadow_hits = int(
                await session.scalar(select(func.count()).select_from(ShadowHit)) or 0
            )
        print("alerts by rule (top 6):", [tuple(row) for row in by_rule])
        print(f"shadow runs: {shadows}, shadow hits stored: {shadow_hits}")
        await runtime.bus.js.delete_consumer("SCORING", durable)
        return {
            "rules": rules,
            "events": len(events),
            "drain_seconds": drain_seconds,
            "events_per_second": len(events) / drain_seconds,
            "events_per_cpu_second": len(events) / drain_cpu,
            "batches": batches,
            "drain_p50_ms": percentile(drain_latency, 0.5) * 1000,
            "drain_p99_ms": percentile(drain_latency, 0.99) * 1000,
            "paced_rate": args.rate,
            "paced_events": len(paced_events),
            "paced_p50_ms": percentile(paced_latency, 0.5) * 1000,
            "paced_p99_ms": percentile(paced_latency, 0.99) * 1000,
            "alerts": alerts,
            "matches": occurrences,
            "timeline": timeline,
            "postgres_cpu_seconds": postgres_cpu,
        }
    finally:
        await stop_runtime(runtime)


def write_results(
    figures: dict[str, Any], args: argparse.Namespace, command: str, load_before: float
) -> None:
    load = os.getloadavg()[0]
    f = figures
    drain_row = (
        f"| drain (pre-loaded stream), received -> committed | {f['events']:,} "
        f"| **{f['events_per_second']:,.0f}** | {f['drain_p50_ms']:.0f} ms "
        f"| {f['drain_p99_ms']:.0f} ms |"
    )
    paced_row = (
        f"| paced at {f['paced_rate']:,} events/s, published -> committed "
        f"| {f['paced_events']:,} | {f['paced_rate']:,} offered "
        f"| {f['paced_p50_ms']:.0f} ms | {f['paced_p99_ms']:.0f} ms |"
    )
    alert_share = f["alerts"] / (f["events"] + f["paced_events"])
    cpu_us = 1e6 / f["events_per_cpu_second"]
    rate_met = f["events_per_second"] >= TARGET_EVENTS_PER_SECOND
    cpu_met = cpu_us <= CPU_BUDGET_US
    verdict = "**met**" if rate_met else "**NOT met**"
    cpu_verdict = "within" if cpu_met else "over"
    handled = f["events"] + f["paced_events"]
    per_thousand = 1000 / handled
    if args.mix == "e2e":
        traffic = (
            "the end-to-end run's mix (`--mix e2e`): 87% `transaction_scored.v1`, 13%"
            f" `customer_risk_level_changed.v1` over {args.customers:,} customers, the"
            f" event clock at {args.rate:,} events/s so the velocity rules hold"
        )
    else:
        traffic = (
            "90% `transaction_scored.v1`, 10% `customer_assessed.v1` over"
            f" {args.customers:,} customers"
        )
    postgres_cpu = f["postgres_cpu_seconds"]
    postgres_line = (
        "PostgreSQL's CPU (postmaster and backends, from /proc) while draining:"
        f" {postgres_cpu:.1f} s, **{postgres_cpu / f['events'] * 1e6:.0f} µs per event**."
        if postgres_cpu is not None
        else "PostgreSQL's CPU: not measured (an external server)."
    )
    text = f"""## Alerting event path: events evaluated per second against 50 active rules

What: the alerting service's SCORING consumer (shared `ConsumerRunner`, inbox claim,
`AlertPipeline` batch handler: customer snapshots, sliding windows, {f["rules"]} compiled
active rules — the 15 shipped templates with 2-4 parameter variants each plus one custom
`distinct()` rule —, dedup/cooldown, alerts with evidence, outbox, evaluation history; one
transaction per fetched batch of {args.batch_size}, commit then ack) with its outbox relay in the
same process, one process, uvloop, the service's GC tuning (`tune_gc`). Traffic:
{traffic}; {alert_share:.1%} of the events raised an alert.
JetStream default sync (acks before fsync); PostgreSQL commits fsynced.

Command: `{command}` — Python {platform.python_version()}, {platform.machine()},
1-minute load average {load_before:.1f} before the run, {load:.1f} when written (this run adds
~2: the service process, PostgreSQL and nats-server; above that the machine is shared and the
wall-clock figures are low).

| phase | events | events/s | p50 | p99 |
|---|---:|---:|---:|---:|
{drain_row}
{paced_row}

- Target: {TARGET_EVENTS_PER_SECOND:,} events/s against 50 active rules — {verdict} in this run
  ({f["events_per_second"]:,.0f} events/s drained, p99 received -> committed
  {f["drain_p99_ms"]:.0f} ms).
- CPU: the service process used {f["events"] / f["events_per_cpu_second"]:.1f} CPU-seconds for
  the {f["events"]:,} drained events, **{cpu_us:.0f} µs of CPU per event**
  ({f["events_per_cpu_second"]:,.0f} events per CPU-second; PostgreSQL and nats-server not
  included) — {cpu_verdict} the {CPU_BUDGET_US} µs budget that leaves room for PostgreSQL and
  NATS on the same 2 cores at {TARGET_EVENTS_PER_SECOND:,}/s. This figure is less skewed by the
  machine's load than wall time. {f["batches"]:,} batches; both phases together raised
  {f["alerts"]:,} alerts ({f["matches"]:,} rule matches, occurrences included).
- Per 1,000 events: {f["alerts"] * per_thousand:,.1f} alerts raised,
  {(f["matches"] - f["alerts"]) * per_thousand:,.1f} repeat occurrences,
  {f["timeline"] * per_thousand:,.1f} timeline entries. {postgres_line}
- When the paced rate is above what the drain phase reached, the paced latency is queueing,
  not work.
- Against ../shared/CEILINGS.md: a pull consumer with an empty handler tops out at
  ~18,000-19,000 msg/s per process (uvloop) and asyncpg bulk writes at ~44,000-94,000 rows/s;
  per batch the pipeline writes every kind of row but the outbox's in one statement
  (evaluation history, window groups, customer states, alerts, occurrences, timeline through
  `unnest` in data-modifying WITH parts, JSON as orjson's bytes in bytea), so the Python work
  per event (pydantic parse in the shared consumer, context, windows, 50 rules) and the
  shared consumer's per-message claim/ack are what bound the rate.
"""
    (RESULTS_E2E_MIX if args.mix == "e2e" else RESULTS).write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (< 60 s)")
    # Defaults per mix (bench, e2e); a value given on the command line wins.
    defaults: dict[str, tuple[float, float]] = {
        "events": (30_000, 15_000),
        "customers": (20_000, 3_000),
        "batch_size": (500, 50),
        "rate": (1_500, 500),
        "paced_seconds": (20.0, 20.0),
    }
    parser.add_argument("--events", type=int)
    parser.add_argument("--customers", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--rate", type=int)
    parser.add_argument("--paced-seconds", type=float)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--shadow", type=int, default=0, help="proposals of active rules run in shadow"
    )
    parser.add_argument(
        "--mix",
        choices=("bench", "e2e"),
        default="bench",
        help="bench: the figures below (many customers, few alerts); e2e: the end-to-end "
        "run's traffic (see the module docstring)",
    )
    args = parser.parse_args()
    given = {name for name in defaults if getattr(args, name) is not None}
    if args.quick:
        quick = {"events": 6_000, "paced_seconds": 6.0, "customers": 10_000, "rate": 800}
        if args.mix == "e2e":
            quick.update(customers=3_000, rate=500)
        for name, value in quick.items():
            if name not in given:
                setattr(args, name, value)
    for name, (bench_value, e2e_value) in defaults.items():
        if getattr(args, name) is None:
            value = e2e_value if args.mix == "e2e" else bench_value
            setattr(args, name, type(bench_value)(value))
    command = "python bench/alerting_bench.py" + (" --quick" if args.quick else "")
    command += " --mix e2e" if args.mix == "e2e" else ""
    command += "".join(f" --{name.replace('_', '-')} {getattr(args, name):g}" for name in given)
    command += f" --shadow {args.shadow}" if args.shadow else ""
    load_before = os.getloadavg()[0]
    configure_logging("alerting-bench", level="INFO", json=False)
    uvloop.install()
    figures = asyncio.run(with_servers(args))
    write_results(figures, args, command, load_before)
    print((RESULTS_E2E_MIX if args.mix == "e2e" else RESULTS).read_text())


async def with_servers(args: argparse.Namespace) -> dict[str, Any]:
    postgres = nats = None
    server_url, nats_url = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
    workdir = Path(tempfile.mkdtemp(prefix="rw-alert-bench-"))
    args.postmaster_pid = None
    if not server_url:
        postgres = EmbeddedPostgres(Path(f"/tmp/rw-abpg-{uuid.uuid4().hex[:6]}"))
        server_url = postgres.start()
        pid_file = postgres.data_dir / "postmaster.pid"
        if pid_file.exists():
            args.postmaster_pid = int(pid_file.read_text().split()[0])
    if not nats_url:
        nats = EmbeddedNats(workdir / "nats")
        nats_url = nats.start()
    database_url = to_async_url(
        make_url(server_url)
        .set(database=f"rwbench_alerting_{uuid.uuid4().hex[:6]}")
        .render_as_string(False)
    )
    try:
        await asyncio.to_thread(run_migrations, ALEMBIC_INI, database_url)
        return await run(args, database_url, nats_url)
    finally:
        await drop_database(database_url)
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()
            stop_postmaster(postgres.data_dir)
            shutil.rmtree(postgres.data_dir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


def stop_postmaster(data_dir: Path) -> None:
    """EmbeddedPostgres.stop() leaves the server running (pgserver cleanup_mode=None): stop
    the postmaster this run started, by the pid in its own postmaster.pid (fast shutdown)."""
    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)


if __name__ == "__main__":
    main()
