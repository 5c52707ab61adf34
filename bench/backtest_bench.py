"""Benchmark: does a backtest job over 1M stored transactions move the live pipeline's p99?

Set-up (embedded PostgreSQL and NATS unless DATABASE_URL / NATS_URL are set):
- the alerting bench's 50 active rules; a few thousand real events run through the
  `AlertPipeline`, whose evaluation history rows are the templates of the fill;
- the fill: --history (1,000,000) evaluation history rows, cloned server-side from those
  templates in one `INSERT ... SELECT` over `generate_series` (new event ids, event times
  spread over the --history-days before the live traffic), `synchronous_commit=off`;
- the service's SCORING consumer (shared ConsumerRunner + AlertPipeline, as alerting_bench.py)
  and a `BacktestRunner` with the service's default settings (one replay process, spawned,
  nice 10, half a core), all in this one process as in the service.

Then phases of --phase-seconds each, paced at --rate events/s published to JetStream:
  live alone, live + a backtest job, live alone, live + a backtest job, ...
(alternating, so drift of a shared machine's load falls on both sides), and one phase with
the replay run on the consumer's own event loop instead (what the in-request backtest does),
for contrast. Each backtest phase submits a job replaying the whole 1M-row history with a
windowed rule (velocity burst) and cancels it at the phase's end; its replay rate is
reported. Latency is per event, from publish to the commit of its batch (queueing
included): the "event in -> evaluated" an analyst waits for.

    .venv/bin/python bench/backtest_bench.py             # 1M rows, 4 x 30 s phases + contrast
    .venv/bin/python bench/backtest_bench.py --quick     # 100k rows, short phases
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import alerting_bench
import uvloop
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from riskwatch_alerting import backtest_jobs, service
from riskwatch_alerting.backtest_runner import BacktestRunner
from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.backtest_jobs import JobCaps
from riskwatch_alerting.errors import InvalidCondition
from riskwatch_alerting.models import BacktestJob, EvaluationRecord, Rule
from riskwatch_alerting.pipeline import AlertPipeline, active_rule_of
from riskwatch_alerting.replay import replay_history
from riskwatch_alerting.rules.templates import TEMPLATES, TEMPLATES_BY_KEY
from riskwatch_alerting.schemas import BacktestJobCreate, ListCreate, ListEntryIn, RuleCreate
from riskwatch_shared.app import ServiceRuntime, start_runtime, stop_runtime, tune_gc
from riskwatch_shared.db.migrate import drop_database, run_migrations
from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres
from riskwatch_shared.logging import configure_logging
from riskwatch_shared.security import Identity
from riskwatch_shared.settings import to_async_url

RESULTS = Path(__file__).parent / "results" / "backtest.md"
TARGET_P99_INCREASE = 0.20
BENCH_ADMIN = Identity(subject="bench-admin", roles=("admin",))
# The live traffic's event clock starts here (EventFactory); the fill ends a day before.
LIVE_CLOCK = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def create_rules(runtime: ServiceRuntime, wanted: int = 50) -> int:
    """Every shipped template as shipped, then variants with their parameters scaled by 1.1,
    1.2, ... (a variant whose condition no longer compiles is skipped) up to `wanted`, all
    active (the alerting bench's lists; approval by the service's own identity)."""
    bodies = [
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
    while len(bodies) < wanted and number < 10 * wanted:
        template = tunable[number % len(tunable)]
        number += 1
        scale = Decimal(1) + Decimal(number) / 10
        condition = template.condition_with(
            {name: value * scale for name, value in template.parameters.items()}
        )
        try:
            service.check_condition(condition)
        except InvalidCondition:
            continue
        bodies.append(
            RuleCreate(
                name=f"{template.name} (variant {number})",
                rule_type=template.rule_type,
                severity=template.severity,
                trigger_event_types=list(template.trigger_event_types),
                condition=condition,
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
                session, data=ListCreate(name=name, kind=kind, entries=entries), actor="bench"
            )
        for body in bodies:
            rule = await service.create_rule(session, data=body, actor="bench")
            await service.set_rule_status(session, rule.id, status="active", actor="bench")
    return len(bodies)


async def make_templates(
    runtime: ServiceRuntime, factory: alerting_bench.EventFactory, n: int
) -> int:
    """Real evaluation history rows: `n` events through the pipeline, in batches of 500."""
    pipeline = AlertPipeline()
    events = [factory.next() for _ in range(n)]
    for start in range(0, len(events), 500):
        async with runtime.session_factory() as session, session.begin():
            await pipeline.handle_batch(events[start : start + 500], session)
    async with runtime.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(EvaluationRecord)) or 0)


_FILL = text(
    "INSERT INTO evaluation_history (event_id, event_type, customer_id, occurred_at, context) "
    "SELECT gen_random_uuid(), t.event_type, t.customer_id, "
    "       CAST(:start AS timestamptz) + g.n * make_interval(secs => :step), t.context "
    "FROM generate_series(0, CAST(:rows AS bigint) - 1) AS g(n) "
    "JOIN (SELECT row_number() OVER (ORDER BY seq) - 1 AS rn, event_type, customer_id, context "
    "      FROM evaluation_history) AS t ON t.rn = g.n % CAST(:templates AS bigint) "
    "ORDER BY g.n"
)


async def fill_history(
    runtime: ServiceRuntime, *, rows: int, templates: int, start: datetime, days: float
) -> float:
    """`rows` history rows cloned server-side from the templates; the seconds it took."""
    began = time.perf_counter()
    step = days * 86_400 / rows
    chunk = 250_000
    for offset in range(0, rows, chunk):
        size = min(chunk, rows - offset)
        async with runtime.session_factory() as session, session.begin():
            await session.execute(text("SET LOCAL synchronous_commit = off"))
            await session.execute(
                _FILL,
                {
                    "start": start + timedelta(seconds=offset * step),
                    "step": step,
                    "rows": size,
                    "templates": templates,
                },
            )
    async with runtime.engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text("VACUUM (ANALYZE) evaluation_history"))
        # The fill's ~1 GB of WAL would otherwise be checkpointed during the measured phases.
        await connection.execute(text("CHECKPOINT"))
    return time.perf_counter() - began


async def velocity_rule(runtime: ServiceRuntime) -> Rule:
    async with runtime.session_factory() as session:
        name = TEMPLATES_BY_KEY["velocity_burst"].name
        rule = await session.scalar(select(Rule).where(Rule.name == name))
        assert rule is not None, name
        return rule


class BacktestPhase:
    """A job replaying the whole filled history, submitted at the phase's start and
    cancelled at its end (through the service's own code paths)."""

    def __init__(self, runtime: ServiceRuntime, runner: BacktestRunner, body: BacktestJobCreate):
        self.runtime, self.runner, self.body = runtime, runner, body
        self.job_id: uuid.UUID | None = None

    async def start(self) -> None:
        async with self.runtime.session_factory() as session, session.begin():
            job, _ = await backtest_jobs.submit(
                session,
                self.body,
                identity=BENCH_ADMIN,
                caps=JobCaps(10, 10),
                idempotency_key=None,
            )
            self.job_id = job.id
        self.runner.wake()

    async def job(self) -> BacktestJob:
        async with self.runtime.session_factory() as session:
            found = await session.get(BacktestJob, self.job_id)
            assert found is not None
            return found

    async def wait_running(self) -> None:
        deadline = time.monotonic() + 120
        while (await self.job()).events_replayed == 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the backtest job did not start replaying")
            await asyncio.sleep(0.1)

    async def stop(self) -> BacktestJob:
        assert self.job_id is not None
        async with self.runtime.session_factory() as session, session.begin():
            await backtest_jobs.cancel(session, self.job_id, identity=BENCH_ADMIN)
        deadline = time.monotonic() + 60
        while (job := await self.job()).status in ("queued", "running"):
            if time.monotonic() > deadline:
                raise TimeoutError("the backtest job did not stop")
            await asyncio.sleep(0.1)
        return job


async def paced_phase(
    runtime: ServiceRuntime,
    runner: alerting_bench.TimedRunner,
    factory: alerting_bench.EventFactory,
    args: argparse.Namespace,
) -> list[float]:
    events = [factory.next() for _ in range(int(args.rate * args.phase_seconds))]
    handled_before = runner.stats.handled + runner.stats.duplicates
    published = await alerting_bench.publish_paced(runtime, events, args.rate)
    await alerting_bench.wait_handled(runner, handled_before + len(events), timeout=300)
    return [
        runner.committed_at[msg_id] - at
        for msg_id, at in published.items()
        if msg_id in runner.committed_at
    ]


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "events": len(latencies),
        "p50_ms": alerting_bench.percentile(latencies, 0.5) * 1000,
        "p95_ms": alerting_bench.percentile(latencies, 0.95) * 1000,
        "p99_ms": alerting_bench.percentile(latencies, 0.99) * 1000,
    }


async def run(args: argparse.Namespace, database_url: str, nats_url: str) -> dict[str, Any]:
    settings = Settings(database_url=database_url, NATS_URL=nats_url, consumer_batch_size=500)
    runtime = await start_runtime(settings)
    runner_task: BacktestRunner | None = None
    try:
        rules = await create_rules(runtime)
        factory = alerting_bench.EventFactory(args.customers)
        fill_start = LIVE_CLOCK - timedelta(days=args.history_days + 1)
        factory.clock = fill_start - timedelta(days=1)  # templates before the fill
        templates = await make_templates(runtime, factory, args.templates)
        fill_seconds = await fill_history(
            runtime,
            rows=args.history,
            templates=templates,
            start=fill_start,
            days=args.history_days,
        )
        factory.clock = LIVE_CLOCK
        async with runtime.session_factory() as session:
            stored = int(
                await session.scalar(select(func.count()).select_from(EvaluationRecord)) or 0
            )
            table_bytes = int(
                await session.scalar(text("SELECT pg_total_relation_size('evaluation_history')"))
                or 0
            )
        print(f"filled {stored:,} history rows in {fill_seconds:.1f} s", flush=True)
        rule = await velocity_rule(runtime)
        body = BacktestJobCreate(
            rule_id=rule.id,
            start=fill_start,
            end=fill_start + timedelta(days=args.history_days),
        )
        await tune_gc(runtime)
        backtests = BacktestRunner(settings, runtime.session_factory)
        runner_task = backtests
        backtests.start()
        # Warm-up: the replay process is spawned once (its imports), as in a running service.
        warm = BacktestPhase(runtime, backtests, body)
        await warm.start()
        await warm.wait_running()
        await warm.stop()

        durable = f"backtest-bench-{uuid.uuid4().hex[:6]}"
        consumer = await alerting_bench.start_consumer(runtime, durable)
        await paced_phase(
            runtime,
            consumer,
            factory,
            argparse.Namespace(rate=args.rate, phase_seconds=min(5.0, args.phase_seconds)),
        )  # warm-up, not counted
        phases: list[dict[str, Any]] = []
        for round_number in range(args.rounds):
            # ABBA: alone first in even rounds, second in odd ones (load drift cancels out).
            order = (False, True) if round_number % 2 == 0 else (True, False)
            for with_backtest in order:
                backtest = BacktestPhase(runtime, backtests, body) if with_backtest else None
                if backtest is not None:
                    await backtest.start()
                    await backtest.wait_running()
                    replayed_before = (await backtest.job()).events_replayed
                cpu_before = time.process_time()
                began = time.perf_counter()
                latencies = await paced_phase(runtime, consumer, factory, args)
                elapsed = time.perf_counter() - began
                phase: dict[str, Any] = {
                    "name": f"{'live + backtest job' if backtest else 'live alone'}"
                    f" (round {round_number + 1})",
                    "backtest": backtest is not None,
                    "service_cpu_s": time.process_time() - cpu_before,
                    **summary(latencies),
                }
                if backtest is not None:
                    job = await backtest.stop()
                    replayed = job.events_replayed - replayed_before
                    phase["replayed"] = job.events_replayed
                    phase["replay_rate"] = replayed / elapsed
                phases.append(phase)
                print(phase, flush=True)
        # Contrast: the replay on the consumer's own event loop (the in-request way).
        contrast: dict[str, Any] | None = None
        if not args.no_contrast:
            progress = {"replayed": 0}

            async def in_loop() -> None:
                async def count(result: Any, until: datetime) -> None:
                    progress["replayed"] = result.events_replayed

                async with runtime.session_factory() as session:
                    await replay_history(
                        session,
                        active_rule_of(rule),
                        start=body.start,
                        end=body.end,
                        after_page=count,
                        end_transactions=True,
                    )

            task = asyncio.create_task(in_loop())
            await asyncio.sleep(1.0)
            began = time.perf_counter()
            latencies = await paced_phase(runtime, consumer, factory, args)
            elapsed = time.perf_counter() - began
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            contrast = {
                "name": "live + the same replay on the consumer's event loop",
                "replay_rate": progress["replayed"] / (elapsed + 1.0),
                **summary(latencies),
            }
            print(contrast, flush=True)
        # A whole backtest of the 1M rows at the default CPU share, with no live traffic.
        full: dict[str, Any] | None = None
        if args.full_run:
            whole = BacktestPhase(runtime, backtests, body)
            began = time.perf_counter()
            await whole.start()
            while (job := await whole.job()).status in ("queued", "running"):
                await asyncio.sleep(0.5)
            full = {
                "status": job.status,
                "seconds": time.perf_counter() - began,
                "replayed": job.events_replayed,
                "hits": job.hits,
            }
            print(full, flush=True)
        await consumer.stop()
        await runtime.bus.js.delete_consumer("SCORING", durable)
        return {
            "rules": rules,
            "stored": stored,
            "table_mb": table_bytes / 2**20,
            "fill_seconds": fill_seconds,
            "phases": phases,
            "contrast": contrast,
            "full": full,
            "rule_name": rule.name,
            "nice": settings.backtest_nice,
            "cpu_share": settings.backtest_cpu_share,
        }
    finally:
        if runner_task is not None:
            await runner_task.stop()
        await stop_runtime(runtime)


def pooled(phases: list[dict[str, Any]], backtest: bool) -> float:
    """The median of the phases' p99s (each phase's own percentile, so phases weigh alike;
    the median, so one phase hit by a neighbour's burst does not decide)."""
    return statistics.median(p["p99_ms"] for p in phases if p["backtest"] == backtest)


def mean_p99(phases: list[dict[str, Any]], backtest: bool) -> float:
    return statistics.mean(p["p99_ms"] for p in phases if p["backtest"] == backtest)


def write_results(
    figures: dict[str, Any], args: argparse.Namespace, command: str, load_before: float
) -> None:
    f = figures
    rows = []
    for phase in f["phases"] + ([f["contrast"]] if f["contrast"] else []):
        rate = phase.get("replay_rate")
        rows.append(
            f"| {phase['name']} | {phase['events']:,} | {phase['p50_ms']:.0f} "
            f"| {phase['p95_ms']:.0f} | **{phase['p99_ms']:.0f}** "
            f"| {'' if rate is None else f'{rate:,.0f}'} |"
        )
    alone, beside = pooled(f["phases"], False), pooled(f["phases"], True)
    change = beside / alone - 1
    met = change <= TARGET_P99_INCREASE
    full = f["full"]
    full_line = (
        f"- The whole backtest of the {f['stored']:,} rows on its own (no live traffic, default"
        f" settings): {full['status']} in {full['seconds']:.0f} s"
        f" ({full['replayed'] / full['seconds']:,.0f} events/s), {full['hits']:,}"
        " would-be alerts."
        if full
        else ""
    )
    contrast = f["contrast"]
    contrast_line = (
        f"- For contrast, the same replay on the consumer's own event loop (what an in-request"
        f" backtest does): p99 {contrast['p99_ms']:.0f} ms,"
        f" {contrast['p99_ms'] / alone - 1:+.0%} against live alone."
        if contrast
        else ""
    )
    text_out = f"""## Backtest jobs beside the live pipeline

What: the alerting event path (SCORING consumer, `AlertPipeline`, {f["rules"]} active rules:
the shipped templates and scaled variants) paced at {args.rate:,} events/s, alone and while a
backtest job replays {f["stored"]:,} stored evaluation history rows ({f["table_mb"]:,.0f} MiB,
{args.history_days:g} days) through a windowed rule ("{f["rule_name"]}"). The job runs as in
the service: claimed by the `BacktestRunner`, replayed in its own spawned process
(`BACKTEST_NICE` {f["nice"]}, `BACKTEST_CPU_SHARE` {f["cpu_share"]:g}: it pauses between pages
of 5,000 rows), progress written every 0.5 s; it is submitted at the start of each such phase
and cancelled at its end. Phases of {args.phase_seconds:g} s alternate so the shared machine's
drift falls on both sides. Latency: publish -> batch committed, per event. Fill:
{f["stored"]:,} rows cloned server-side from {args.templates:,} real rows (`INSERT ... SELECT`
over `generate_series`, `synchronous_commit=off`) in {f["fill_seconds"]:.0f} s.

Command: `{command}` — Python {platform.python_version()}, {os.cpu_count()} cores, 1-minute load
average {load_before:.1f} before the run, {os.getloadavg()[0]:.1f} when written (the machine
is shared: other work runs beside it).

| phase | events | p50 ms | p95 ms | p99 ms | replayed events/s |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

- p99 with a backtest job running, median over its phases: {beside:.0f} ms; alone:
  {alone:.0f} ms: **{change:+.0%}**. Target: at most +{TARGET_P99_INCREASE:.0%} —
  **{"met" if met else "NOT met"}**.
  (Means: {mean_p99(f["phases"], True):.0f} ms against {mean_p99(f["phases"], False):.0f} ms,
  {mean_p99(f["phases"], True) / mean_p99(f["phases"], False) - 1:+.0%}.) Phases ran ABBA
  (alone first in odd rounds, second in even ones); the spread between identical phases is the
  shared machine's.
{full_line}
{contrast_line}
"""
    RESULTS.write_text(text_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--history-days", type=float, default=300.0)
    parser.add_argument("--templates", type=int, default=5_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--phase-seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-contrast", action="store_true")
    parser.add_argument(
        "--full-run", action="store_true", help="then one whole backtest with no live traffic"
    )
    args = parser.parse_args()
    command = "python bench/backtest_bench.py"
    if args.quick:
        quick = {"history": 100_000, "phase_seconds": 10.0, "templates": 2_000}
        for name, value in quick.items():
            if f"--{name.replace('_', '-')}" not in sys.argv:
                setattr(args, name, value)
        command += " --quick"
    for name in ("history", "rate", "phase_seconds", "rounds"):
        if f"--{name.replace('_', '-')}" in sys.argv:
            command += f" --{name.replace('_', '-')} {getattr(args, name):g}"
    load_before = os.getloadavg()[0]
    configure_logging("backtest-bench", level="WARNING", json=False)
    uvloop.install()
    figures = asyncio.run(with_servers(args))
    write_results(figures, args, command, load_before)
    print(RESULTS.read_text())


async def with_servers(args: argparse.Namespace) -> dict[str, Any]:
    postgres = nats = None
    server_url, nats_url = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
    workdir = Path(tempfile.mkdtemp(prefix="rw-backtest-bench-"))
    if not server_url:
        postgres = EmbeddedPostgres(Path(f"/tmp/rw-btpg-{uuid.uuid4().hex[:6]}"))
        server_url = postgres.start()
    if not nats_url:
        nats = EmbeddedNats(workdir / "nats")
        nats_url = nats.start()
    database_url = to_async_url(
        make_url(server_url)
        .set(database=f"rwbench_backtest_{uuid.uuid4().hex[:6]}")
        .render_as_string(False)
    )
    try:
        await asyncio.to_thread(run_migrations, alerting_bench.ALEMBIC_INI, database_url)
        return await run(args, database_url, nats_url)
    finally:
        await drop_database(database_url)
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()
            alerting_bench.stop_postmaster(postgres.data_dir)
            shutil.rmtree(postgres.data_dir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
