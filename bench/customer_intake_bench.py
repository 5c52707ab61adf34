"""Benchmark: transaction intake of the customer service, with every event published.

The service runs as it does in production (`python -m riskwatch_customer serve`: uvicorn,
uvloop, httptools, its outbox relay publishing to JetStream); this process is the core
banking system, sending with httpx over loopback:

1. single: `--clients` concurrent clients (one phase per count, e.g. `8,32`) POST
   /v1/transactions one at a time for `--seconds`; accepted/s and p50/p95/p99 latency;
2. batch: `--batch-clients` clients POST /v1/transactions/batch with `--batch-size` items.

After each phase it waits until the relay has published every staged event (outbox empty,
stream count grown by the accepted count) and reports that end-to-end rate too. Embedded
PostgreSQL/NATS unless DATABASE_URL / NATS_URL are set. Writes bench/results/customer_intake.md.

    .venv/bin/python bench/customer_intake_bench.py            # ~2 minutes
    .venv/bin/python bench/customer_intake_bench.py --quick    # < 60 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import text

import riskwatch_customer
from riskwatch_shared.db.migrate import drop_database, run_migrations
from riskwatch_shared.db.session import create_engine
from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.security import IDENTITY_HEADER, Identity, mint_identity_token
from riskwatch_shared.settings import to_async_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "customer_intake.md"
ALEMBIC_INI = Path(riskwatch_customer.__file__).parent / "alembic.ini"
SECRET = "bench-internal-secret"
INGEST = Identity(subject="bench-core-banking", kind="api_key", roles=("ingest",))
ADMIN = Identity(subject="bench-admin", roles=("admin",))


@dataclass
class Phase:
    name: str
    clients: int
    items_per_call: int
    seconds: float = 0.0
    calls: int = 0
    accepted: int = 0
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    publish_seconds: float = 0.0
    service_cpu_seconds: float = 0.0

    @property
    def service_cpu_ms_per_item(self) -> float:
        return self.service_cpu_seconds * 1000 / self.accepted if self.accepted else 0.0

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def published_per_second(self) -> float:
        return self.accepted / self.publish_seconds if self.publish_seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.contextmanager
def infrastructure(workdir: Path) -> Iterator[tuple[str, str]]:
    postgres = nats = None
    server_url = os.environ.get("DATABASE_URL")
    nats_url = os.environ.get("NATS_URL")
    if not server_url:
        postgres = EmbeddedPostgres(Path(f"/tmp/rw-bench-{uuid.uuid4().hex[:8]}"))
        server_url = postgres.start()
    if not nats_url:
        nats = EmbeddedNats(workdir / "nats")
        nats_url = nats.start()
    try:
        yield server_url, nats_url
    finally:
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()
            import shutil

            shutil.rmtree(postgres.data_dir, ignore_errors=True)


def database_url(server_url: str) -> str:
    from sqlalchemy.engine import make_url

    name = f"rwbench_customer_{uuid.uuid4().hex[:8]}"
    return to_async_url(make_url(server_url).set(database=name).render_as_string(False))


def start_service(
    db_url: str, nats_url: str, port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CUSTOMER_DATABASE_URL": db_url,
        "NATS_URL": nats_url,
        "CUSTOMER_PORT": str(port),
        "RISKWATCH_INTERNAL_SECRET": SECRET,
        "RISKWATCH_LOG_LEVEL": "WARNING",
        "CUSTOMER_DB_POOL_SIZE": "20",
    }
    command = [sys.executable, "-m", "riskwatch_customer", "serve", "--workers", str(workers)]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


async def wait_ready(
    client: httpx.AsyncClient, deadline_s: float = 60, path: str = "/readyz"
) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(path)).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise TimeoutError("the customer service did not become ready")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its direct children (uvicorn workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == pid or int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def headers_for(identity: Identity) -> dict[str, str]:
    return {IDENTITY_HEADER: mint_identity_token(identity, SECRET, ttl_seconds=3600)}


async def seed(client: httpx.AsyncClient, count: int) -> list[tuple[str, str]]:
    """Customers with one account each; returns (customer_id, account_id) pairs."""
    admin = headers_for(ADMIN)
    pairs: list[tuple[str, str]] = []
    for n in range(count):
        body = {
            "kind": "individual",
            "name": f"Bench Customer {n}",
            "document_type": "passport",
            "document_number": f"BENCH-{uuid.uuid4().hex[:10]}",
            "country": "GB",
        }
        customer = (await client.post("/v1/customers", json=body, headers=admin)).json()
        account = await client.post(
            f"/v1/customers/{customer['id']}/accounts",
            json={
                "number": f"ACC-{uuid.uuid4().hex[:12]}",
                "type": "current",
                "currency": "EUR",
                "opened_at": "2024-01-01",
            },
            headers=admin,
        )
        pairs.append((customer["id"], account.json()["id"]))
    return pairs


def transaction(pair: tuple[str, str], occurred_at: str) -> dict[str, object]:
    """A ~300-byte JSON payment, like the one the CEILINGS figures were measured with."""
    return {
        "external_id": uuid.uuid4().hex,
        "customer_id": pair[0],
        "account_id": pair[1],
        "direction": "outbound",
        "amount": f"{random.randint(1, 500_000) / 100:.2f}",
        "currency": "EUR",
        "channel": random.choice(["card", "transfer", "online", "mobile"]),
        "counterparty_name": "Merchant Ltd",
        "merchant_category_code": "5411",
        "country": "GB",
        "occurred_at": occurred_at,
    }


async def outbox_backlog(db_url: str) -> int:
    engine = create_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                or 0
            )
    finally:
        await engine.dispose()


async def stream_count(bus: MessageBus) -> int:
    info = await bus.js.stream_info("CUSTOMER", subjects_filter="customer.transaction_received.v1")
    return sum((info.state.subjects or {}).values())


async def wait_published(bus: MessageBus, db_url: str, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await stream_count(bus) >= expected and await outbox_backlog(db_url) == 0:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"events not all published within {timeout}s")


async def run_phase(
    client: httpx.AsyncClient,
    phase: Phase,
    pairs: list[tuple[str, str]],
    *,
    bus: MessageBus,
    db_url: str,
    seconds: float,
    service_pid: int,
) -> Phase:
    headers = {**headers_for(INGEST), "content-type": "application/json"}
    occurred_at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    before = await stream_count(bus)
    path = "/v1/transactions" if phase.items_per_call == 1 else "/v1/transactions/batch"

    def body() -> bytes:
        if phase.items_per_call == 1:
            return json.dumps(transaction(random.choice(pairs), occurred_at)).encode()
        items = [
            transaction(random.choice(pairs), occurred_at) for _ in range(phase.items_per_call)
        ]
        return json.dumps({"items": items}).encode()

    async def one_client(sender: httpx.AsyncClient, stop_at: float) -> None:
        while time.monotonic() < stop_at:
            content = body()
            started = time.perf_counter()
            try:
                response = await sender.post(path, content=content, headers=headers)
            except httpx.TransportError:
                phase.failures += 1
                continue
            phase.latencies_ms.append((time.perf_counter() - started) * 1000)
            phase.calls += 1
            if phase.items_per_call == 1:
                ok = response.status_code == 201
                phase.accepted += int(ok)
            else:
                ok = response.status_code == 200
                phase.accepted += response.json()["accepted"] if ok else 0
            phase.failures += int(not ok)

    # A fresh connection pool per phase: uvicorn closes connections idle for 5 s, and reusing
    # one it is closing right then fails the call.
    limits = httpx.Limits(max_connections=phase.clients)
    async with httpx.AsyncClient(base_url=client.base_url, limits=limits, timeout=60) as sender:
        cpu_before = cpu_seconds(service_pid)
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(one_client(sender, stop_at) for _ in range(phase.clients)))
        phase.seconds = time.monotonic() - started
    await wait_published(bus, db_url, before + phase.accepted, timeout=120)
    phase.publish_seconds = time.monotonic() - started
    phase.service_cpu_seconds = cpu_seconds(service_pid) - cpu_before
    return phase


COLUMNS = (
    "phase",
    "clients",
    "items/call",
    "calls",
    "accepted",
    "failed",
    "accepted/s",
    "published/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "service CPU ms/txn",
)
TABLE_HEADER = "| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|"


def render(
    args: argparse.Namespace,
    singles: list[Phase],
    batch: Phase,
    calibration: Calibration,
    command: str,
) -> str:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met on this run"

    single_ok = any(s.accepted_per_second >= 1000 and s.percentile(0.99) < 50 for s in singles)
    batch_ok = batch.accepted_per_second >= 10_000
    rows = []
    for phase in (*singles, batch):
        rows.append(
            f"| {phase.name} | {phase.clients} | {phase.items_per_call} | {phase.calls} | "
            f"{phase.accepted} | {phase.failures} | **{phase.accepted_per_second:,.0f}** | "
            f"{phase.published_per_second:,.0f} | {phase.percentile(0.5):.1f} | "
            f"{phase.percentile(0.95):.1f} | {phase.percentile(0.99):.1f} | "
            f"{phase.service_cpu_ms_per_item:.3f} |"
        )
    load = os.getloadavg()
    return f"""## Customer service: transaction intake

What is measured: transactions accepted per second by the customer service through
`POST /v1/transactions` (one per call) and `POST /v1/transactions/batch` ({args.batch_size}
per call), each stored in PostgreSQL with its `customer.transaction_received.v1` event staged
in the outbox in the same transaction and published to JetStream by the service's outbox
relay (running inside the service, as in production). "published/s" counts until the last
event of the phase is on the stream and the outbox is empty. Latency is the client-side time
of one HTTP call.

Set-up: `python -m riskwatch_customer serve --workers {args.workers}` (uvicorn, uvloop,
httptools), embedded PostgreSQL 16 (commits fsynced) and nats-server with JetStream defaults
(no `sync_interval: always`), all on loopback; the load generator (httpx, uvloop, one process)
shares the machine's {os.cpu_count()} cores. Every call carries the gateway-signed identity
of an `ingest` API key; every transaction references a known customer and account
({args.customers} seeded). Load average when the run ended: {load[0]:.2f}.

Command: `{command}`

{TABLE_HEADER}
{chr(10).join(rows)}

"service CPU ms/txn" is the CPU time the service process (HTTP, validation, SQL client, the
relay publishing) spent per accepted transaction, from /proc: it does not count PostgreSQL,
nats-server or the load generator, and depends far less on other load than the rates do.
One core's worth divided by it is the service's own ceiling.

How loaded the machine was: a bare FastAPI POST (pydantic body, uvicorn, 1 worker, 16
clients, same load generator) measured just before: {calibration.requests_per_second:,.0f}
req/s at {calibration.cpu_ms_per_request:.3f} ms of server CPU per request, against ~2,650
req/s in CEILINGS.md ({calibration.requests_per_second / 2650:.0%} of it).

Targets (issue 3): batch intake >= 10,000 transactions/s — {verdict(batch_ok)}; single-call
intake >= 1,000/s with p99 < 50 ms — {verdict(single_ok)}.

Against `../shared/CEILINGS.md`: "FastAPI POST + INSERT + JetStream publish per request,
1 worker" tops out at ~1,280 req/s (p99 ~110 ms at 64 connections; ~820 req/s, p99 ~22 ms at
8). The single-call path here does per request one INSERT ... ON CONFLICT DO NOTHING (which
also checks the customer and account references), one outbox INSERT + NOTIFY and the commit,
plus the identity verification, so its ceiling is that row. The batch path validates the
whole body in one pydantic pass (item by item only when an item is bad), then writes with
one unnest INSERT for the transactions and one executemany for the outbox rows; the asyncpg
`executemany` ceiling of ~44,000 to 52,000 rows/s and the `publish_async` ceiling of
~24,500 msg/s bound it, with JSON parsing, validation and event serialisation the largest
Python costs.

Measured on {platform.node()} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC while other work
shared the machine{" (--quick: short phases)" if args.quick else ""}; re-run on a quiet
machine for figures to quote.
"""


_BARE_APP = """
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Payment(BaseModel):
    external_id: str
    customer_id: str
    amount: str
    currency: str
    channel: str
    occurred_at: str


@app.post("/payments", status_code=201)
async def take(payment: Payment) -> Payment:
    return payment
"""


@dataclass
class Calibration:
    requests_per_second: float
    cpu_ms_per_request: float


async def calibrate(workdir: Path, clients: int, seconds: float) -> Calibration:
    """A bare FastAPI POST on this machine now, to compare with its CEILINGS.md row
    (~2,650 req/s): how much of the machine other work left for this run."""
    (workdir / "bare_app.py").write_text(_BARE_APP)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port)]
    command += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    process = subprocess.Popen(command, cwd=workdir, stderr=subprocess.DEVNULL)
    payment = transaction(("customer", "account"), "2026-01-01T00:00:00+00:00")
    fields = ("external_id", "customer_id", "amount", "currency", "channel", "occurred_at")
    body = json.dumps({name: payment[name] for name in fields}).encode()
    headers = {"content-type": "application/json"}
    calls = 0
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_ready(client, path="/docs")

            async def one_client(stop_at: float) -> None:
                nonlocal calls
                while time.monotonic() < stop_at:
                    await client.post("/payments", content=body, headers=headers)
                    calls += 1

            cpu_before, started = cpu_seconds(process.pid), time.monotonic()
            await asyncio.gather(*(one_client(started + seconds) for _ in range(clients)))
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait(timeout=10)
    return Calibration(calls / elapsed, cpu * 1000 / max(calls, 1))


async def main(args: argparse.Namespace) -> None:
    seconds = 5.0 if args.quick else args.seconds
    with (
        tempfile.TemporaryDirectory(prefix="rw-bench-") as tmp,
        infrastructure(Path(tmp)) as (
            server_url,
            nats_url,
        ),
    ):
        calibration = await calibrate(Path(tmp), 16, 3.0 if args.quick else 8.0)
        db_url = database_url(server_url)
        await asyncio.to_thread(run_migrations, ALEMBIC_INI, db_url)
        port = free_port()
        service = start_service(db_url, nats_url, port, args.workers, Path(tmp) / "service.log")
        bus = MessageBus(nats_url, name="bench-customer-intake")
        limits = httpx.Limits(max_connections=max(*args.clients, args.batch_clients) + 4)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
            ) as client:
                await wait_ready(client)
                await bus.connect()
                pairs = await seed(client, args.customers)
                warm = Phase("warm-up", clients=4, items_per_call=1)
                await run_phase(
                    client,
                    warm,
                    pairs,
                    bus=bus,
                    db_url=db_url,
                    seconds=1.0,
                    service_pid=service.pid,
                )
                singles = [
                    await run_phase(
                        client,
                        Phase("POST /v1/transactions", clients, 1),
                        pairs,
                        bus=bus,
                        db_url=db_url,
                        seconds=seconds,
                        service_pid=service.pid,
                    )
                    for clients in args.clients
                ]
                batch = await run_phase(
                    client,
                    Phase("POST /v1/transactions/batch", args.batch_clients, args.batch_size),
                    pairs,
                    bus=bus,
                    db_url=db_url,
                    seconds=seconds,
                    service_pid=service.pid,
                )
        finally:
            await bus.close()
            service.terminate()
            try:
                service.wait(timeout=20)
            except subprocess.TimeoutExpired:
                service.kill()
            await drop_database(db_url)
    command = "python bench/customer_intake_bench.py " + " ".join(sys.argv[1:])
    report = render(args, singles, batch, calibration, command.strip())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(report)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s phases: finishes in < 60 s")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=None,
        help="concurrent single-call clients, one phase per count (default 8,32; --quick 16)",
    )
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()
    if args.clients is None:
        args.clients = [16] if args.quick else [8, 32]
    return args


if __name__ == "__main__":
    uvloop.run(main(parse_args()))
