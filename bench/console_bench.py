"""Benchmark: the console's pages with 100,000 alerts stored (issue 21).

The whole system runs as processes (the launcher `riskwatch run` uses: embedded PostgreSQL and
NATS, the four services, the gateway, the console). The alerting database is seeded with
--alerts alerts as `desk_api_bench.py` seeds it (90 days, 5,000 customers, 70% resolved, 60%
assigned, 5 teams, a case per 5 alerts). A signed-in analyst's browser session then asks for
each page --requests times in a row after a warm-up; the figure is the console's server time
per page: from the request to the last byte of the HTML, which includes the console's calls to
the gateway and the service behind it (loopback, no browser rendering).

    .venv/bin/python bench/console_bench.py              # 100,000 alerts, 200 calls each
    .venv/bin/python bench/console_bench.py --quick      # 20,000 alerts, 50 calls each
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

import httpx
from desk_api_bench import SEED_ALERTS, SEED_CASES, SEED_DIRECTORY, percentile
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_shared.settings import to_async_url
from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import ADMIN_EMAIL, ADMIN_PASSWORD, running_system

RESULTS = Path(__file__).parent / "results" / "console.md"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DESK_P95_MS = 300.0
CASE_P95_MS = 200.0


def pages(alert_id: str, customer_id: str) -> list[tuple[str, str, dict[str, str], float | None]]:
    """(label, path, query, p95 target in ms) of what an analyst opens all day."""
    return [
        ("desk: all, newest first", "/desk", {}, DESK_P95_MS),
        ("desk: my queue", "/desk", {"queue": "mine"}, DESK_P95_MS),
        ("desk: unassigned, soonest due", "/desk", {"queue": "unassigned", "sort": "sla_due_at"},
         DESK_P95_MS),
        ("desk: high, status new", "/desk", {"severity": "high", "status": "new"}, DESK_P95_MS),
        ("desk: SLA red", "/desk", {"sla_state": "red"}, DESK_P95_MS),
        ("case page", f"/alerts/{alert_id}", {}, CASE_P95_MS),
        ("start page", "/", {}, None),
        ("customer 360", f"/customers/{customer_id}", {}, None),
    ]  # fmt: skip


async def seed(database_url: str, admin: RiskWatchClient, alerts: int) -> tuple[str, str]:
    rule = await admin.post_json(
        "/v1/rules",
        {"name": "Big payment", "rule_type": "transaction_anomaly", "severity": "high",
         "trigger_event_types": ["scoring.transaction_scored.v1"],
         "condition": "txn.amount > 5000"},
    )  # fmt: skip
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(SEED_DIRECTORY))
            await conn.execute(text(SEED_ALERTS), {"rule_id": rule["id"], "alerts": alerts})
            await conn.execute(text(SEED_CASES))
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("alerts", "cases", "customer_directory"):
                await conn.execute(text(f"VACUUM ANALYZE {table}"))
            alert_id = await conn.scalar(
                text("SELECT id FROM alerts WHERE status <> 'resolved' ORDER BY raised_at DESC")
            )
    finally:
        await engine.dispose()
    customer = await admin.post_json(
        "/v1/customers",
        {"kind": "individual", "name": "Bench Customer", "document_type": "passport",
         "document_number": "BENCH0001", "country": "GB", "segment": "retail",
         "kyc_status": "verified"},
    )  # fmt: skip
    return str(alert_id), str(customer["id"])


async def signed_in_browser(console_url: str) -> httpx.AsyncClient:
    browser = httpx.AsyncClient(base_url=console_url, timeout=60)
    form = await browser.get("/sign-in")
    token = CSRF.search(form.text)
    assert token is not None
    signed = await browser.post(
        "/sign-in",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token.group(1)},
    )
    assert signed.status_code == 303, signed.text[:300]
    return browser


async def measure(
    browser: httpx.AsyncClient, path: str, query: dict[str, str], n: int
) -> list[float]:
    for _ in range(5):
        (await browser.get(path, params=query)).raise_for_status()
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        response = await browser.get(path, params=query)
        await response.aread()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, f"{path}: {response.status_code}"
    return timings


async def run(args: argparse.Namespace, system: Any) -> list[list[str]]:
    server = make_url(system.stack.env["DATABASE_URL"]).set(database="riskwatch_alerting")
    database_url = to_async_url(server.render_as_string(hide_password=False))
    async with RiskWatchClient(system.gateway) as admin:
        await admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        started = time.perf_counter()
        alert_id, customer_id = await seed(database_url, admin, args.alerts)
        print(f"seeded {args.alerts:,} alerts in {time.perf_counter() - started:.1f} s")
    browser = await signed_in_browser(system.url("console"))
    rows = []
    try:
        for label, path, query, target in pages(alert_id, customer_id):
            timings = await measure(browser, path, query, args.requests)
            p95 = percentile(timings, 0.95)
            verdict = "—" if target is None else ("met" if p95 < target else "MISSED")
            median, longest = percentile(timings, 0.5), max(timings)
            goal = f"< {target:.0f}" if target else "—"
            rows.append([label, f"{median:.1f}", f"{p95:.1f}", f"{longest:.1f}", goal, verdict])
            print(" | ".join(rows[-1]), flush=True)
    finally:
        await browser.aclose()
    return rows


def write_results(rows: list[list[str]], args: argparse.Namespace, load: float) -> None:
    table = "\n".join(f"| {' | '.join(row)} |" for row in rows)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        f"""## Console: pages with {args.alerts:,} alerts stored

`python bench/console_bench.py{" --quick" if args.quick else ""}` on {platform.node()}
({os.cpu_count()} cores, load average {load:.1f} before the run); {args.requests} sequential
page loads each after 5 warm-up loads, by a signed-in analyst; the console's server time per
page (request to last byte of the HTML, including its calls through the gateway).

| page | p50 ms | p95 ms | max ms | target p95 | |
|---|---|---|---|---|---|
{table}
"""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 alerts, 50 calls each")
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if args.quick:
        args.alerts, args.requests = 20_000, 50
    load = os.getloadavg()[0]
    with running_system(timeout=300) as system:
        rows = asyncio.run(run(args, system))
    write_results(rows, args, load)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
