"""Benchmark: the alert desk's reads with 100,000 alerts stored (issue 21).

The alerting service's app runs in this process on a migrated database holding --alerts alerts
(90 days of them, 5,000 customers of 50 relationship managers, 70% resolved, 60% assigned to
one of 20 analysts, 5 teams) and one case per 5 alerts; each request goes through the app
in process (signed identity check, policy, SQL, masking, JSON), so the figures are the
service's own time per request, without the network and the gateway hop. For each desk query
it reports p50 / p95 / max over --requests sequential calls after a warm-up.

Embedded PostgreSQL unless DATABASE_URL is set (NATS too, unless NATS_URL is set).

    .venv/bin/python bench/desk_api_bench.py              # 100,000 alerts, 200 calls each
    .venv/bin/python bench/desk_api_bench.py --quick      # 20,000 alerts, 50 calls each
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from alerting_bench import stop_postmaster
from sqlalchemy import text
from sqlalchemy.engine import make_url

import riskwatch_alerting
from riskwatch_alerting.config import Settings
from riskwatch_alerting.main import create_app
from riskwatch_shared.db.migrate import drop_database, run_migrations
from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres
from riskwatch_shared.logging import configure_logging
from riskwatch_shared.security import Identity
from riskwatch_shared.settings import to_async_url
from riskwatch_shared.testing import identity_headers, running_app, throwaway_environment

ALEMBIC_INI = Path(riskwatch_alerting.__file__).parent / "alembic.ini"
RESULTS = Path(__file__).parent / "results" / "desk_api.md"
ADMIN = Identity(subject="bench-admin", roles=("admin",))
ANALYST = Identity(subject="bench-analyst", roles=("analyst",), staff_id="analyst-3")
RM = Identity(subject="bench-rm", roles=("relationship_manager",), staff_id="rm-7")

SEED_DIRECTORY = """
INSERT INTO customer_directory (customer_id, name, relationship_manager, segment)
SELECT md5('c' || c)::uuid, 'Customer ' || c, 'rm-' || (c % 50), 'retail'
FROM generate_series(1, 5000) AS c
"""

SEED_ALERTS = """
INSERT INTO alerts (
    id, rule_id, rule_version, rule_name, rule_type, severity, status, outcome, customer_id,
    customer_name, relationship_manager, title, summary, evidence, scores, reasons,
    suggested_actions, dedup_value, dedup_open, occurrence_count, first_seen_at, last_seen_at,
    raised_at, happened_at, acknowledged_at, resolved_at, sla_due_at, assignee, assignee_team,
    case_id, message_code, message_params, coded_reasons
)
SELECT
    md5('a' || i)::uuid, :rule_id, 1, 'Big payment', 'transaction_anomaly',
    (ARRAY['low', 'medium', 'high', 'critical'])[1 + i % 4],
    CASE WHEN i % 10 < 7 THEN 'resolved' WHEN i % 10 = 7 THEN 'new'
         WHEN i % 10 = 8 THEN 'acknowledged' ELSE 'investigating' END,
    CASE WHEN i % 10 < 7 THEN 'false_positive' END,
    md5('c' || (1 + i % 5000))::uuid, 'Customer ' || (1 + i % 5000), 'rm-' || ((1 + i % 5000) % 50),
    'Big payment: EUR 9,000.00', 'An outbound transfer of EUR 9,000.00 to DE89370400440532013000.',
    convert_to('{"amount": "9000.00", "currency": "EUR", '
               '"txn.counterparty_account": "DE89370400440532013000"}', 'UTF8'),
    convert_to('{"anomaly": 0.91}', 'UTF8'),
    convert_to('["Amount is 8.2x the 30-day average"]', 'UTF8'),
    convert_to('["Call the customer"]', 'UTF8'),
    'customer_id=' || md5('c' || (1 + i % 5000))::uuid || '|n=' || i, i % 10 >= 7, 1,
    at, at, at, at - interval '5 seconds',
    CASE WHEN i % 10 <> 7 THEN at + interval '20 minutes' END,
    CASE WHEN i % 10 < 7 THEN at + interval '2 hours' END,
    at + interval '4 hours',
    CASE WHEN i % 10 < 6 THEN 'analyst-' || (i % 20) END,
    'team-' || (i % 5),
    md5('k' || (i / 5))::uuid, 'alert.large_amount', convert_to('{}', 'UTF8'),
    convert_to('[]', 'UTF8')
FROM (
    SELECT i, now() - (i * interval '1 second' * (90 * 86400 / :alerts)) AS at
    FROM generate_series(1, :alerts) AS i
) AS spread
"""

SEED_CASES = """
INSERT INTO cases (
    id, group_key, customer_id, customer_name, relationship_manager, status, priority,
    assignee, alert_count, opened_at, updated_at, sla_due_at, closed_at
)
SELECT DISTINCT ON (case_id)
    case_id, 'k' || case_id, customer_id, customer_name, relationship_manager,
    CASE WHEN status = 'resolved' THEN 'closed' ELSE 'investigating' END, severity,
    assignee, 5, raised_at, raised_at, sla_due_at, resolved_at
FROM alerts ORDER BY case_id, raised_at
"""


def queries(alert_id: str) -> list[tuple[str, Identity, str, dict[str, Any]]]:
    """(label, caller, path, query parameters) of what the desk asks."""
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    return [
        ("list: all, newest first", ANALYST, "/v1/alerts", {}),
        ("list: my queue (assignee=me)", ANALYST, "/v1/alerts", {"assignee": "me"}),
        ("list: unassigned (assignee=none)", ANALYST, "/v1/alerts", {"assignee": "none"}),
        ("list: team queue", ANALYST, "/v1/alerts", {"team": "team-2"}),
        ("list: status=new", ANALYST, "/v1/alerts", {"status": "new"}),
        ("list: sla_state=red", ANALYST, "/v1/alerts", {"sla_state": "red"}),
        ("list: by SLA due (sort=sla_due_at)", ANALYST, "/v1/alerts", {"sort": "sla_due_at"}),
        (
            "list: high, last 7 days",
            ANALYST,
            "/v1/alerts",
            {"severity": "high", "raised_from": week_ago},
        ),
        ("list: a relationship manager's", RM, "/v1/alerts", {}),
        ("detail: one alert", ANALYST, f"/v1/alerts/{alert_id}", {}),
        ("detail: timeline", ANALYST, f"/v1/alerts/{alert_id}/timeline", {}),
        ("desk summary", ANALYST, "/v1/desk/summary", {}),
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def seed(client: httpx.AsyncClient, runtime: Any, alerts: int) -> str:
    rule = await client.post(
        "/v1/rules",
        headers=identity_headers(ADMIN),
        json={
            "name": "Big payment",
            "rule_type": "transaction_anomaly",
            "severity": "high",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            "condition": "txn.amount > 5000",
        },
    )
    rule.raise_for_status()
    async with runtime.engine.begin() as conn:
        await conn.execute(text(SEED_DIRECTORY))
        await conn.execute(text(SEED_ALERTS), {"rule_id": rule.json()["id"], "alerts": alerts})
        await conn.execute(text(SEED_CASES))
    async with runtime.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE alerts"))
        await conn.execute(text("VACUUM ANALYZE cases"))
        await conn.execute(text("VACUUM ANALYZE customer_directory"))
        return str(await conn.scalar(text("SELECT id FROM alerts ORDER BY raised_at DESC")))


async def measure(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], identity: Identity, n: int
) -> tuple[list[float], int]:
    headers = identity_headers(identity)
    for _ in range(5):
        (await client.get(path, params=params, headers=headers)).raise_for_status()
    timings = []
    items = 0
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get(path, params=params, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        body = response.json()
        items = len(body["items"]) if isinstance(body, dict) and "items" in body else 1
    return timings, items


async def run(args: argparse.Namespace, database_url: str, nats_url: str) -> list[list[str]]:
    settings = Settings(
        database_url=database_url,
        NATS_URL=nats_url,
        log_level="WARNING",
        consumer_prefix=f"desk-bench-{uuid.uuid4().hex[:6]}",
    )
    async with running_app(create_app(settings)) as (client, runtime):
        started = time.perf_counter()
        alert_id = await seed(client, runtime, args.alerts)
        print(f"seeded {args.alerts:,} alerts in {time.perf_counter() - started:.1f} s")
        rows = []
        for label, identity, path, params in queries(alert_id):
            timings, items = await measure(client, path, params, identity, args.requests)
            rows.append(
                [
                    label,
                    str(items),
                    f"{percentile(timings, 0.5):.1f}",
                    f"{percentile(timings, 0.95):.1f}",
                    f"{max(timings):.1f}",
                ]
            )
            print(" | ".join(rows[-1]))
        return rows


def write_results(rows: list[list[str]], args: argparse.Namespace, load: float) -> None:
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    RESULTS.write_text(
        f"""## Alert desk API: lists, detail and summary with {args.alerts:,} alerts

`python bench/desk_api_bench.py{" --quick" if args.quick else ""}` on {platform.node()}
({os.cpu_count()} cores, load average {load:.1f} before the run); {args.requests} sequential
calls per query after 5 warm-up calls; the service's own time per request (in process).

| query | items | p50 ms | p95 ms | max ms |
|---|---|---|---|---|
{table}
"""
    )


async def with_servers(args: argparse.Namespace) -> list[list[str]]:
    postgres = nats = None
    server_url, nats_url = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
    workdir = Path(tempfile.mkdtemp(prefix="rw-desk-bench-"))
    if not server_url:
        postgres = EmbeddedPostgres(Path(f"/tmp/rw-dkpg-{uuid.uuid4().hex[:6]}"))
        server_url = postgres.start()
    if not nats_url:
        nats = EmbeddedNats(workdir / "nats")
        nats_url = nats.start()
    database_url = to_async_url(
        make_url(server_url)
        .set(database=f"rwbench_desk_{uuid.uuid4().hex[:6]}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 alerts, 50 calls each")
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if args.quick:
        args.alerts, args.requests = 20_000, 50
    load = os.getloadavg()[0]
    # The service checks the identity the bench signs with its throwaway key.
    os.environ.update(throwaway_environment())
    configure_logging("desk-bench", level="WARNING", json=False)
    rows = asyncio.run(with_servers(args))
    write_results(rows, args, load)
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
