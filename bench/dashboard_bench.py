"""Benchmark: the dashboards with 1,000,000 assessed transactions and 100,000 alerts stored
(issue 24, screen 3: every dashboard in p95 < 500 ms of server time).

The whole system runs as processes (embedded PostgreSQL and NATS, the four services, the
gateway, the console). Alerting is seeded as `console_bench.py` seeds it (its `seed`: 100,000
alerts over 90 days, 5,000 customers, their cases and directory), plus 20,000 watch-list
entries (15,000 exited, 5,000 active) with a review each. Scoring gets --assessments
assessments (one per transaction: 80% anomaly, 10% credit, 10% churn) over 90 days for 50,000
customers, written by one server-side INSERT ... SELECT, so the rollup trigger of
`customer_risk_current` sees them as the event path's COPY batches would (one statement),
and its customer directory (name, segment) and owners.

A signed-in admin's browser session then asks for each dashboard --requests times in a row
after a warm-up; the figure is the console's server time per page (request to last byte of
the HTML, including its calls through the gateway to the services), and the same for the API
aggregates called directly through the gateway.

    .venv/bin/python bench/dashboard_bench.py            # 1M assessments, 100k alerts
    .venv/bin/python bench/dashboard_bench.py --quick    # 200k assessments, 20k alerts
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from pathlib import Path
from typing import Any

import httpx
from console_bench import measure, seed, signed_in_browser
from desk_api_bench import percentile
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_shared.settings import to_async_url
from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import ADMIN_EMAIL, ADMIN_PASSWORD, running_system

RESULTS = Path(__file__).parent / "results" / "dashboards.md"
TARGET_P95_MS = 500.0
CUSTOMERS = 50_000

SEED_WATCHLIST = """
INSERT INTO watchlist_entries (
    id, customer_id, customer_name, relationship_manager, status, reason, owner, review_due,
    required_actions, exit_criteria, origin, entered_at, entered_by, exited_at, exited_by,
    exit_reason
)
SELECT md5('w' || i)::uuid, md5('c' || (1 + i % 5000))::uuid, 'Customer ' || (1 + i % 5000),
       'rm-' || ((1 + i % 5000) % 50), CASE WHEN i > 15000 THEN 'active' ELSE 'exited' END,
       'Arrears', 'analyst-' || (i % 20), (now() + interval '30 days')::date, '[]', 'Paid up',
       CASE WHEN i % 3 = 0 THEN 'early_warning' ELSE 'analyst' END,
       now() - (20001 - i) * interval '1 second' * (90 * 86400 / 20000), 'analyst-1',
       CASE WHEN i <= 15000 THEN now() - (20001 - i) * interval '1 second' * (90 * 86400 / 20000)
            + interval '3 days' END,
       CASE WHEN i <= 15000 THEN 'analyst-1' END, CASE WHEN i <= 15000 THEN 'Paid up' END
FROM generate_series(1, 20000) AS i
"""
SEED_REVIEWS = """
INSERT INTO watchlist_reviews (entry_id, at, reviewer, note, next_review_due)
SELECT id, entered_at + interval '1 day', 'analyst-1', 'Reviewed', review_due
FROM watchlist_entries
"""
SEED_SCORING_DIRECTORY = """
INSERT INTO customer_directory (customer_id, name, segment, as_of)
SELECT md5('c' || c)::uuid, 'Customer ' || c,
       (ARRAY['retail', 'sme', 'corporate', 'private'])[1 + c % 4], now()
FROM generate_series(1, :customers) AS c
ON CONFLICT (customer_id) DO NOTHING
"""
SEED_OWNERS = """
INSERT INTO customer_owners (customer_id, relationship_manager, as_of)
SELECT md5('c' || c)::uuid, 'rm-' || (c % 50), now() FROM generate_series(1, :customers) AS c
ON CONFLICT (customer_id) DO NOTHING
"""
# One assessment per transaction; the score wanders per customer so some rise this week.
SEED_ASSESSMENTS = """
INSERT INTO assessment (
    id, customer_id, kind, score, level, model_id, model_version, inputs_hash, reasons,
    is_shadow, trigger_event_type, assessed_at
)
SELECT md5('s' || i)::uuid, md5('c' || (1 + i % :customers))::uuid, kind, score,
       CASE WHEN score < 0.3 THEN 'low' WHEN score < 0.6 THEN 'medium'
            WHEN score < 0.85 THEN 'high' ELSE 'critical' END,
       (SELECT id FROM scoring_model m WHERE m.kind = spread.kind AND m.status = 'champion'),
       'bench', md5('h' || i), '[]', false, 'customer.transaction_received.v1', at
FROM (
    SELECT i,
           CASE WHEN i % 10 = 8 THEN 'credit' WHEN i % 10 = 9 THEN 'churn' ELSE 'anomaly' END
               AS kind,
           ((i::bigint * 7919) % 1000) / 1000.0 AS score,
           now() - (:assessments - i) * interval '1 second' * (90 * 86400 / :assessments) AS at
    FROM generate_series(1, :assessments) AS i
) AS spread
"""


def database_of(system: Any, service: str) -> str:
    server = make_url(system.stack.env["DATABASE_URL"]).set(database=f"riskwatch_{service}")
    return to_async_url(server.render_as_string(hide_password=False))


async def seed_scoring(database_url: str, assessments: int) -> None:
    engine = create_async_engine(database_url)
    params = {"customers": CUSTOMERS, "assessments": assessments}
    try:
        async with engine.begin() as conn:
            await conn.execute(text(SEED_SCORING_DIRECTORY), params)
            await conn.execute(text(SEED_OWNERS), params)
            await conn.execute(text(SEED_ASSESSMENTS), params)
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("assessment", "customer_risk_current", "customer_directory"):
                await conn.execute(text(f"VACUUM ANALYZE {table}"))
    finally:
        await engine.dispose()


async def seed_watchlist(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(SEED_WATCHLIST))
            await conn.execute(text(SEED_REVIEWS))
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("watchlist_entries", "watchlist_reviews"):
                await conn.execute(text(f"VACUUM ANALYZE {table}"))
    finally:
        await engine.dispose()


def pages() -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("page: alerts (30 days)", "/dashboards/alerts", {}),
        ("page: alerts (90 days)", "/dashboards/alerts", {"since": _days_ago(89)}),
        ("page: watch list (30 days)", "/dashboards/watchlist", {}),
        ("page: customers by risk (credit)", "/dashboards/customers", {"kind": "credit"}),
        ("page: customers by risk (anomaly)", "/dashboards/customers", {"kind": "anomaly"}),
        ("page: model drift", "/dashboards/models", {}),
        ("CSV: alerts per day by type", "/dashboards/alerts/volume-by-type.csv", {}),
    ]


def api_calls() -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("API: /v1/alerts/stats/daily", "/v1/alerts/stats/daily", {}),
        ("API: /v1/watchlist/stats", "/v1/watchlist/stats", {}),
        ("API: /v1/customers/risk-distribution", "/v1/customers/risk-distribution", {}),
    ]


def _days_ago(days: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86400))


def _row(label: str, timings: list[float]) -> list[str]:
    p95 = percentile(timings, 0.95)
    verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
    return [label, f"{percentile(timings, 0.5):.1f}", f"{p95:.1f}", f"{max(timings):.1f}",
            f"< {TARGET_P95_MS:.0f}", verdict]  # fmt: skip


async def run(args: argparse.Namespace, system: Any) -> list[list[str]]:
    async with RiskWatchClient(system.gateway) as admin:
        token = await admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        started = time.perf_counter()
        await seed(database_of(system, "alerting"), admin, args.alerts)
        await seed_watchlist(database_of(system, "alerting"))
        print(f"seeded {args.alerts:,} alerts in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        await seed_scoring(database_of(system, "scoring"), args.assessments)
        print(f"seeded {args.assessments:,} assessments in {time.perf_counter() - started:.1f} s")
    browser = await signed_in_browser(system.url("console"))
    api = httpx.AsyncClient(
        base_url=system.gateway, timeout=60, headers={"authorization": f"Bearer {token}"}
    )
    rows = []
    try:
        for label, path, query in pages():
            rows.append(_row(label, await measure(browser, path, query, args.requests)))
            print(" | ".join(rows[-1]), flush=True)
        for label, path, query in api_calls():
            rows.append(_row(label, await measure(api, path, query, args.requests)))
            print(" | ".join(rows[-1]), flush=True)
    finally:
        await browser.aclose()
        await api.aclose()
    return rows


def write_results(rows: list[list[str]], args: argparse.Namespace, load: float) -> None:
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        f"""## Dashboards: {args.assessments:,} assessed transactions, {args.alerts:,} alerts

`python bench/dashboard_bench.py{" --quick" if args.quick else ""}` on {platform.node()}
({os.cpu_count()} cores, load average {load:.1f} before the run); {args.requests} sequential
loads of each page after 5 warm-up loads, by a signed-in admin (who sees every customer); the
console's server time per page (request to last byte of the HTML, including its calls through
the gateway to alerting and scoring), then the API aggregates alone through the gateway.
Seeded: alerts as `console_bench.py` (90 days, 5,000 customers), 20,000 watch-list entries
with a review each, {args.assessments:,} scoring assessments over 90 days for {CUSTOMERS:,}
customers (80% anomaly, 10% credit, 10% churn) with their directory and owners.

| request | p50 ms | p95 ms | max ms | target p95 | |
|---|---|---|---|---|---|
{table}
"""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200k assessments, 20k alerts")
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--assessments", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    if args.quick:
        args.alerts, args.assessments, args.requests = 20_000, 200_000, 30
    load = os.getloadavg()[0]
    with running_system(timeout=300) as system:
        rows = asyncio.run(run(args, system))
    write_results(rows, args, load)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
