"""Detection health's queries at scale: every rule's health (`GET /v1/rules/health`, the
periodic check) and one rule's, over a month of evaluation history.

    python bench/detection_health_bench.py            # 1,000,000 events, 50 rules
    python bench/detection_health_bench.py --quick    # 100,000 events

Seeds the alerting database directly (rules, their approvals, evaluation history spread over
28 days, alerts over 29 days, repeats), then times the service functions the API and the
periodic check call, on the embedded PostgreSQL (or DATABASE_URL). Figures go to
bench/results/detection_health.md (and docs/benchmarks.md by hand).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from alerting_bench import stop_postmaster
from sqlalchemy import text
from sqlalchemy.engine import make_url

import riskwatch_alerting
from riskwatch_alerting.health import service as health
from riskwatch_shared.db.migrate import drop_database, run_migrations
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.embedded import EmbeddedPostgres
from riskwatch_shared.settings import to_async_url

ALEMBIC_INI = Path(riskwatch_alerting.__file__).parent / "alembic.ini"
RESULTS = Path(__file__).parent / "results" / "detection_health.md"
TYPES = (
    "scoring.transaction_scored.v2",
    "scoring.customer_assessed.v1",
    "scoring.customer_risk_level_changed.v1",
    "customer.credit_record_added.v1",
)

SEED_RULES = """
INSERT INTO rules (id, version, name, rule_type, severity, status, trigger_event_types,
    condition, dedup_key, cooldown_seconds, suggested_actions, created_at, created_by,
    updated_by)
SELECT md5('r' || r)::uuid, 1, 'Rule ' || r, 'transaction_anomaly', 'high', 'active',
    jsonb_build_array((ARRAY[:t1, :t2, :t3, :t4])[1 + r % 4]), 'txn.amount > 1',
    'customer_id', 3600, '[]'::jsonb, now() - interval '60 days', 'bench', 'bench'
FROM generate_series(1, :rules) AS r;
"""
SEED_APPROVALS = """
INSERT INTO rule_audit (rule_id, action, version, actor, actor_roles, occurred_at)
SELECT id, 'approved', 1, 'bench-checker', 'admin', now() - interval '60 days' FROM rules
"""
SEED_HISTORY = """
INSERT INTO evaluation_history (event_id, event_type, customer_id, occurred_at, context)
SELECT md5('e' || i)::uuid, (ARRAY[:t1, :t2, :t3, :t4])[1 + i % 4], md5('c' || (i % 5000))::uuid,
    now() - (i * interval '1 second' * (28 * 86400 / :events)), convert_to('{}', 'UTF8')
FROM generate_series(1, :events) AS i
"""
SEED_ALERTS = """
INSERT INTO alerts (id, rule_id, rule_version, rule_name, rule_type, severity, status, outcome,
    customer_id, title, summary, evidence, scores, reasons, suggested_actions, dedup_value,
    dedup_open, occurrence_count, first_seen_at, last_seen_at, raised_at, happened_at,
    sla_due_at, resolved_at)
SELECT md5('a' || i)::uuid, md5('r' || (1 + i % :rules))::uuid, 1, 'Rule ' || (1 + i % :rules),
    'transaction_anomaly', 'high',
    CASE WHEN i % 10 < 6 THEN 'resolved' ELSE 'new' END,
    CASE WHEN i % 10 < 4 THEN 'false_positive' WHEN i % 10 < 6 THEN 'confirmed_risk' END,
    md5('c' || (i % 5000))::uuid, 't', 's', convert_to('{}', 'UTF8'), convert_to('{}', 'UTF8'),
    convert_to('[]', 'UTF8'), convert_to('[]', 'UTF8'), 'k' || i, false, 1, at, at, at, at,
    at + interval '4 hours', CASE WHEN i % 10 < 6 THEN at + interval '1 hour' END
FROM (SELECT i, now() - (i * interval '1 second' * (29 * 86400 / :alerts)) AS at
      FROM generate_series(1, :alerts) AS i) AS spread
"""
SEED_OCCURRENCES = """
INSERT INTO alert_occurrences (alert_id, event_id, event_type, occurred_at, evidence)
SELECT id, md5('o' || id)::uuid, 'scoring.transaction_scored.v2',
    first_seen_at + interval '1 minute', convert_to('{}', 'UTF8')
FROM alerts WHERE dedup_value::text LIKE '%3'
"""


async def timed(label: str, runs: int, job: Callable[[], Awaitable[None]]) -> list[str]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await job()
        timings.append((time.perf_counter() - started) * 1000)
    row = [label, f"{statistics.median(timings):.0f}", f"{max(timings):.0f}"]
    print(" | ".join(row))
    return row


async def run(args: argparse.Namespace, database_url: str) -> list[list[str]]:
    engine = create_engine(database_url, pool_size=2)
    sessions = create_session_factory(engine)
    params = {f"t{n + 1}": t for n, t in enumerate(TYPES)}
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text(SEED_RULES), {**params, "rules": args.rules})
        await conn.execute(text(SEED_APPROVALS))
        await conn.execute(text(SEED_HISTORY), {**params, "events": args.events})
        await conn.execute(text(SEED_ALERTS), {"rules": args.rules, "alerts": args.alerts})
        await conn.execute(text(SEED_OCCURRENCES))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("evaluation_history", "alerts", "alert_occurrences", "rules", "rule_audit"):
            await conn.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    async with sessions() as session:
        rule_id = (await session.execute(text("SELECT id FROM rules LIMIT 1"))).scalar_one()

    async def all_rules() -> None:
        async with sessions() as session:
            found = await health.rules_health(session, now=datetime.now(UTC))
            assert len(found) == args.rules

    async def one_rule() -> None:
        async with sessions() as session:
            await health.rule_health(session, rule_id, now=datetime.now(UTC))

    async def all_rules_week() -> None:
        async with sessions() as session:
            await health.rules_health(session, now=datetime.now(UTC), window_days=7)

    try:
        return [
            await timed("every rule, 28-day window (GET /v1/rules/health)", args.runs, all_rules),
            await timed("every rule, 7-day window (days=7)", args.runs, all_rules_week),
            await timed("one rule (GET /v1/rules/{id}/health)", args.runs, one_rule),
        ]
    finally:
        await engine.dispose()


def write_results(rows: list[list[str]], args: argparse.Namespace, load: float) -> None:
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    RESULTS.write_text(
        f"""## Detection health: {args.events:,} events, {args.alerts:,} alerts, {args.rules} rules

`python bench/detection_health_bench.py{" --quick" if args.quick else ""}` on {platform.node()}
({os.cpu_count()} cores, load average {load:.1f} before the run); {args.runs} runs each, the
service function's own time (no HTTP).

| query | median ms | max ms |
|---|---|---|
{table}
"""
    )


async def with_server(args: argparse.Namespace) -> list[list[str]]:
    postgres = None
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        postgres = EmbeddedPostgres(Path(f"/tmp/rw-dhpg-{uuid.uuid4().hex[:6]}"))
        server_url = postgres.start()
    database_url = to_async_url(
        make_url(server_url)
        .set(database=f"rwbench_health_{uuid.uuid4().hex[:6]}")
        .render_as_string(False)
    )
    try:
        await asyncio.to_thread(run_migrations, ALEMBIC_INI, database_url)
        return await run(args, database_url)
    finally:
        await drop_database(database_url)
        if postgres is not None:
            postgres.stop()
            stop_postmaster(postgres.data_dir)
            shutil.rmtree(postgres.data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events, 20,000 alerts")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if args.quick:
        args.events, args.alerts, args.runs = 100_000, 20_000, 5
    load = os.getloadavg()[0]
    rows = asyncio.run(with_server(args))
    write_results(rows, args, load)


if __name__ == "__main__":
    main()
