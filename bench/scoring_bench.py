"""Benchmark: the scoring service's event path and its pre-authorisation endpoint.

One scoring process (`python -m riskwatch_scoring serve`: uvicorn + uvloop, its consumer and
outbox relay inside) runs against PostgreSQL and JetStream. This script, a separate process:

1. publishes N `customer.transaction_received.v1` (publish_async, acks awaited) for C
   customers, their transactions spread over one day (a busy day: each customer's credit
   and churn are re-assessed once, every transaction is scored);
2. measures until N `scoring.transaction_scored.v1` are in the SCORING stream, i.e. each
   transaction was consumed, its features updated, scored, stored (assessment row, state
   written once per batch) and its event published by the outbox relay;
3. drives `POST /v1/scores/transaction` from a load generator in ANOTHER process (so the
   client's CPU is not the bench's event loop): pre-serialised request bytes over 8 kept-alive
   connections, (a) closed loop as fast as the server answers (saturation; wrk with a Lua
   script when `wrk` is on PATH, else this script's own raw-socket generator), and (b) open
   loop at a steady rate (default 300 req/s): each request is sent at its scheduled time and
   its latency counts from that time, queueing included (no coordinated omission).

With the embedded server it also reports PostgreSQL's CPU per transaction (its postmaster's
process tree, from /proc) and WAL bytes per transaction, and the customer_state blob sizes
the run leaves (raw and stored, share of HOT updates, heap and TOAST size). `--ddl SQL`
(repeatable) runs a statement after the migrations, to compare storage settings;
RWBENCH_SCORING_CMD (default `-m riskwatch_scoring`) runs another entry point as the service,
e.g. a wrapper that times its statements.

Embedded PostgreSQL / NATS unless DATABASE_URL / NATS_URL are set. Writes
bench/results/scoring.md. wrk is optional (`apt-get install wrk`); without it the saturation
run uses the built-in generator and the results say so.

    .venv/bin/python bench/scoring_bench.py            # 30,000 transactions, 3,000 requests
    .venv/bin/python bench/scoring_bench.py --quick    # < 60 s
    .venv/bin/python bench/scoring_bench.py --events-only  # event path only, printed, no file
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop
from measure import PostgresMeter, process_cpu_seconds

import riskwatch_scoring
from riskwatch_shared.db.migrate import drop_database, run_migrations
from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port, wait_for_port
from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.customer import TransactionReceived
from riskwatch_shared.messaging.bus import MessageBus, ensure_streams
from riskwatch_shared.security import IDENTITY_HEADER, Identity
from riskwatch_shared.settings import to_async_url, to_asyncpg_dsn
from riskwatch_shared.testing import identity_headers, throwaway_environment

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "scoring.md"
ALEMBIC_INI = Path(riskwatch_scoring.__file__).parent / "alembic.ini"
SCORED = "scoring.transaction_scored.v2"
PREAUTH_PATH = "/v1/scores/transaction"
IDLE_SECONDS = 2.0
COUNTRIES = ("DE", "DE", "DE", "DE", "FR", "NL", "AT", "US")


def stop_postgres(postgres: EmbeddedPostgres) -> None:
    """Stop the embedded server and remove its folder (the kit's `stop` leaves it running)."""
    from pgserver._commands import pg_ctl  # type: ignore[import-untyped,unused-ignore,attr-defined]

    postgres.stop()
    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(Exception):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=postgres.data_dir, user=user)
    shutil.rmtree(postgres.data_dir, ignore_errors=True)


def make_transactions(n: int, customers: list[uuid.UUID], seed: int) -> list[TransactionReceived]:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=1)
    step = timedelta(days=1) / n
    events = []
    for i in range(n):
        customer_id = customers[rng.randrange(len(customers))]
        moment = start + step * i
        data = TransactionData(
            transaction_id=uuid.uuid4(),
            external_id=f"bench-{i}",
            customer_id=customer_id,
            account_id=uuid.UUID(int=customer_id.int ^ 1),
            direction=rng.choice(("inbound", "outbound", "outbound")),
            amount=Decimal(rng.randrange(500, 250_000)) / 100,
            currency="EUR",
            channel=rng.choice(("card", "transfer", "online", "mobile")),
            counterparty_account=f"cp-{rng.randrange(50)}",
            counterparty_country=rng.choice(COUNTRIES),
            country="DE",
            device_id=f"device-{rng.randrange(3)}",
            occurred_at=moment,
            received_at=moment,
        )
        events.append(TransactionReceived(customer_id=customer_id, transaction=data))
    return events


async def publish_all(bus: MessageBus, events: list[TransactionReceived]) -> float:
    js = bus.js
    started = time.perf_counter()
    for chunk_start in range(0, len(events), 2_000):
        acks = [
            await js.publish_async(e.type, e.to_json_bytes(), headers={"Nats-Msg-Id": str(e.id)})
            for e in events[chunk_start : chunk_start + 2_000]
        ]
        await asyncio.gather(*acks)
    return time.perf_counter() - started


async def scored_count(bus: MessageBus) -> int:
    info = await bus.js.stream_info("SCORING", subjects_filter=SCORED)
    return int((info.state.subjects or {}).get(SCORED, 0))


async def wait_scored(bus: MessageBus, target: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        count = await scored_count(bus)
        if count >= target:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {count} of {target} transactions scored in {timeout}s")
        await asyncio.sleep(0.02)


cpu_seconds = process_cpu_seconds


class ScoringPostgresMeter(PostgresMeter):
    """The shared meter, plus a statement runner (`--ddl`) and customer_state's sizes."""

    async def fetchval(self, sql: str) -> Any:
        connection = await asyncpg.connect(to_asyncpg_dsn(self.database_url))
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()

    async def state_sizes(self) -> dict[str, Any]:
        """customer_state blobs after the run: raw and stored sizes, HOT share, TOAST size."""
        connection = await asyncpg.connect(to_asyncpg_dsn(self.database_url))
        try:
            sizes = await connection.fetchrow(
                "SELECT count(*) AS rows, "
                "percentile_disc(ARRAY[0.5, 0.9, 0.99, 1.0]) WITHIN GROUP "
                "(ORDER BY octet_length(state)) AS raw, "
                "percentile_disc(ARRAY[0.5, 0.9, 0.99, 1.0]) WITHIN GROUP "
                "(ORDER BY pg_column_size(state)) AS stored, "
                "count(*) FILTER (WHERE octet_length(state) > 2000) AS over_2k "
                "FROM customer_state"
            )
            stats = await connection.fetchrow(
                "SELECT n_tup_upd, n_tup_hot_upd, "
                "pg_relation_size(relid) AS heap, "
                "coalesce(pg_relation_size(c.reltoastrelid), 0) AS toast "
                "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.relname = 'customer_state'"
            )
        finally:
            await connection.close()
        return {**dict(sizes), **dict(stats)}


FLOOR_SERVICE = Path(__file__).resolve().parent / "scoring_floor_service.py"


def start_service(
    database_url: str, nats_url: str, port: int, log: Path, *, floor: bool = False
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SCORING_DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "SCORING_PORT": str(port),
        **throwaway_environment(),
        "SCORING_CONSUMER_DURABLE": f"scoring-bench-{uuid.uuid4().hex[:6]}",
        "RISKWATCH_LOG_LEVEL": "WARNING",
    }
    handle = log.open("wb")
    entry = os.environ.get("RWBENCH_SCORING_CMD", "-m riskwatch_scoring").split()
    if floor:
        entry = [str(FLOOR_SERVICE)]
    process = subprocess.Popen(
        [sys.executable, *entry, "serve"],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    wait_for_port("127.0.0.1", port, timeout=60)
    return process


async def wait_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 60
    while (await client.get("/readyz")).status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError("the scoring service never became ready")
        await asyncio.sleep(0.1)


def preauth_body(customer_id: uuid.UUID, rng: random.Random) -> dict[str, Any]:
    return {
        "customer_id": str(customer_id),
        "direction": "outbound",
        "amount": str(Decimal(rng.randrange(500, 900_000)) / 100),
        "currency": "EUR",
        "channel": "online",
        "counterparty_account": f"cp-{rng.randrange(80)}",
        "counterparty_country": rng.choice((*COUNTRIES, "KP")),
        "country": "DE",
        "device_id": f"device-{rng.randrange(5)}",
    }


def preauth_requests(
    customers: list[uuid.UUID], count: int, token: str, port: int, seed: int
) -> list[bytes]:
    """`count` pre-serialised HTTP/1.1 requests for random customers of the run."""
    rng = random.Random(seed)
    requests = []
    for _ in range(count):
        body = json.dumps(preauth_body(rng.choice(customers), rng)).encode()
        head = (
            f"POST {PREAUTH_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{IDENTITY_HEADER}: {token}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


# -- load generator (runs in its own process: `--loadgen SPEC`) --------------------------------

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


class RawConnection:
    """One kept-alive HTTP/1.1 connection sending pre-serialised requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = _LENGTH.search(head)
        await self.reader.readexactly(int(length.group(1)) if length else 0)
        return int(head[9:12])

    def close(self) -> None:
        self.writer.close()


async def closed_loop(spec: dict[str, Any], requests: list[bytes]) -> dict[str, Any]:
    """`connections` workers, each sending its next request as soon as the last answered."""
    latencies: list[float] = []
    failures = 0
    pending = iter(requests)

    async def worker() -> None:
        nonlocal failures
        connection = await RawConnection.open(spec["port"])
        try:
            for request in pending:
                started = time.perf_counter()
                status = await connection.send(request)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += status != 200
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(spec["connections"])))
    return {"latencies": latencies, "seconds": time.perf_counter() - started, "failed": failures}


async def open_loop(spec: dict[str, Any], requests: list[bytes]) -> dict[str, Any]:
    """Request i leaves at start + i / rate on a free connection (it queues for one when all
    are busy); its latency counts from its scheduled time, so a stall shows in full."""
    idle: asyncio.Queue[RawConnection] = asyncio.Queue()
    for _ in range(spec["connections"]):
        idle.put_nowait(await RawConnection.open(spec["port"]))
    latencies: list[float] = []
    service_times: list[float] = []  # from the actual send: without any sender lateness
    failures = 0

    async def one(request: bytes, scheduled: float) -> None:
        nonlocal failures
        connection = await idle.get()
        sent = time.perf_counter()
        try:
            status = await connection.send(request)
        finally:
            idle.put_nowait(connection)
        done = time.perf_counter()
        latencies.append((done - scheduled) * 1000)
        service_times.append((done - sent) * 1000)
        failures += status != 200

    interval = 1 / spec["rate"]
    started = time.perf_counter()
    tasks = []
    for number, request in enumerate(requests):
        scheduled = started + number * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, scheduled)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    while not idle.empty():
        idle.get_nowait().close()
    return {
        "latencies": latencies,
        "service_times": service_times,
        "seconds": seconds,
        "failed": failures,
    }


def run_loadgen(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    requests = [bytes.fromhex(r) for r in json.loads(Path(spec["requests"]).read_text())]
    runner = open_loop if spec["mode"] == "open" else closed_loop
    result = uvloop.run(runner(spec, requests))
    Path(spec["output"]).write_text(json.dumps(result))


async def loadgen(spec: dict[str, Any], requests: list[bytes], tmp: Path) -> dict[str, Any]:
    """Run the generator in a child process; returns its latencies (ms), seconds, failures."""
    name = f"{spec['mode']}-{uuid.uuid4().hex[:6]}"
    requests_path, spec_path = tmp / f"{name}.requests.json", tmp / f"{name}.spec.json"
    requests_path.write_text(json.dumps([r.hex() for r in requests]))
    output = tmp / f"{name}.out.json"
    spec_path.write_text(
        json.dumps({**spec, "requests": str(requests_path), "output": str(output)})
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--loadgen", str(spec_path)
    )
    if await process.wait() != 0:
        raise RuntimeError("the load generator failed")
    result: dict[str, Any] = json.loads(output.read_text())
    return result


WRK_SCRIPT = """
local bodies, n = {}, 0
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
function request()
  n = n %% #bodies + 1
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
    ["%(header)s"] = "%(token)s"}, bodies[n])
end
function done(summary, latency, requests)
  io.stderr:write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    summary.requests, summary.duration, summary.errors.status))
end
"""


async def wrk_saturation(
    bodies: list[bytes], token: str, port: int, connections: int, seconds: float, tmp: Path
) -> dict[str, Any] | None:
    """The closed-loop run with wrk (C, one thread), when it is installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    bodies_path, script = tmp / "wrk-bodies.txt", tmp / "preauth.lua"
    bodies_path.write_bytes(b"\n".join(body for body in bodies) + b"\n")
    script.write_text(
        WRK_SCRIPT % {"path": PREAUTH_PATH, "header": IDENTITY_HEADER, "token": token}
    )
    process = await asyncio.create_subprocess_exec(
        wrk, "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(script),
        f"http://127.0.0.1:{port}", "--", str(bodies_path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    line = next((ln for ln in stderr.decode().splitlines() if ln.startswith("RESULT")), None)
    if process.returncode != 0 or line is None:
        return None
    p50, p95, p99, worst, count, duration_us, failed = (int(v) for v in line.split()[1:])
    return {
        "p50": p50 / 1000, "p95": p95 / 1000, "p99": p99 / 1000, "max": worst / 1000,
        "requests": count, "seconds": duration_us / 1e6, "failed": failed,
    }  # fmt: skip


def summarise(latencies: list[float], seconds: float, failed: int) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "rate": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
        "failed": failed,
    }


async def measure_saturation(
    args: argparse.Namespace,
    customers: list[uuid.UUID],
    token: str,
    port: int,
    pid: int,
    tmp: Path,
) -> dict[str, Any]:
    """Closed loop at `--concurrency` connections: as many requests as the server answers."""
    rng = random.Random(3)
    bodies = [json.dumps(preauth_body(rng.choice(customers), rng)).encode() for _ in range(2_000)]
    cpu_before = cpu_seconds(pid)
    result = None
    if not args.no_wrk:
        seconds = max(3.0, args.requests / 800)
        result = await wrk_saturation(bodies, token, port, args.concurrency, seconds, tmp)
    if result is not None:
        result["tool"] = "wrk: 1 thread, a Lua script rotating 2,000 bodies"
        result["rate"] = result["requests"] / result["seconds"]
    else:
        requests = preauth_requests(customers, args.requests, token, port, seed=3)
        spec = {"mode": "closed", "port": port, "connections": args.concurrency}
        run = await loadgen(spec, requests, tmp)
        result = summarise(run["latencies"], run["seconds"], run["failed"])
        result["tool"] = "wrk not found: this script's raw-socket generator, in its own process"
    result["cpu_per_request_us"] = (cpu_seconds(pid) - cpu_before) / result["requests"] * 1e6
    return result


async def measure_steady(
    args: argparse.Namespace,
    customers: list[uuid.UUID],
    token: str,
    port: int,
    pid: int,
    tmp: Path,
) -> dict[str, Any]:
    """Open loop at `--rate` req/s over `--concurrency` connections (production's shape)."""
    requests = preauth_requests(customers, args.requests, token, port, seed=4)
    spec = {"mode": "open", "port": port, "connections": args.concurrency, "rate": args.rate}
    idle_before = cpu_seconds(pid)
    await asyncio.sleep(IDLE_SECONDS)  # what the idle consumer / relay loops cost meanwhile
    idle_rate = (cpu_seconds(pid) - idle_before) / IDLE_SECONDS
    cpu_before = cpu_seconds(pid)
    run = await loadgen(spec, requests, tmp)
    result = summarise(run["latencies"], run["seconds"], run["failed"])
    busy = cpu_seconds(pid) - cpu_before
    result["cpu_per_request_us"] = busy / result["requests"] * 1e6
    result["net_cpu_per_request_us"] = (
        max(0.0, busy - idle_rate * run["seconds"]) / result["requests"] * 1e6
    )
    result["idle_cpu_share"] = idle_rate
    result["target_rate"] = args.rate
    result["sent_p99"] = percentile(run["service_times"], 0.99)
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    postgres = nats = None
    postmaster: int | None = None
    tmp = Path(tempfile.mkdtemp(prefix="rw-scoring-bench-"))
    server_url = os.environ.get("DATABASE_URL")
    nats_url = os.environ.get("NATS_URL")
    if not server_url:
        postgres = EmbeddedPostgres(Path(f"/tmp/rw-bpg-{uuid.uuid4().hex[:6]}"))
        server_url = postgres.start()
        postmaster = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
    if not nats_url:
        nats = EmbeddedNats(tmp / "nats")
        nats_url = nats.start()
    from sqlalchemy.engine import make_url

    database_url = to_async_url(
        make_url(server_url)
        .set(database=f"rwbench_scoring_{uuid.uuid4().hex[:6]}")
        .render_as_string(False)
    )
    await asyncio.to_thread(run_migrations, ALEMBIC_INI, database_url)
    pg_meter = ScoringPostgresMeter(database_url, postmaster)
    for statement in args.ddl:  # experiments on the schema, after the migrations
        await pg_meter.fetchval(statement)
    port = free_port()
    service = start_service(database_url, nats_url, port, tmp / "service.log", floor=args.floor)
    bus = MessageBus(nats_url, name="scoring-bench")
    try:
        await bus.connect()
        await ensure_streams(bus.js)
        system = Identity(subject="bench", kind="service", roles=("system",))
        token = identity_headers(system)[IDENTITY_HEADER]
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={IDENTITY_HEADER: token},
            limits=limits,
            timeout=30,
        ) as client:
            await wait_ready(client)
            customers = [uuid.uuid4() for _ in range(args.customers)]
            baseline = await scored_count(bus)
            warmup = make_transactions(500, customers, seed=1)
            await publish_all(bus, warmup)
            await wait_scored(bus, baseline + len(warmup), timeout=120)

            events = make_transactions(args.transactions, customers, seed=2)
            target = baseline + len(warmup) + len(events)
            pg_started = await pg_meter.start()
            cpu_before = cpu_seconds(service.pid)
            started = time.perf_counter()
            publish_seconds = await publish_all(bus, events)
            finished = await wait_scored(bus, target, timeout=args.timeout)
            elapsed = finished - started
            event_cpu = cpu_seconds(service.pid) - cpu_before
            pg_cpu, pg_wal = await pg_meter.per_item(pg_started, args.transactions)
            pg_figures = {"pg_cpu_per_txn_us": pg_cpu, "wal_per_txn_bytes": pg_wal}
            state_sizes = await pg_meter.state_sizes()

            if args.events_only:
                return {
                    "transactions": args.transactions,
                    "customers": args.customers,
                    "elapsed": elapsed,
                    "throughput": args.transactions / elapsed,
                    "cpu_per_txn_us": event_cpu / args.transactions * 1e6,
                    "load": os.getloadavg()[0],
                    **pg_figures,
                    "state_sizes": state_sizes,
                }
            for body in [preauth_body(c, random.Random(9)) for c in customers[:50]]:
                (await client.post(PREAUTH_PATH, json=body)).raise_for_status()  # warm-up
            saturation = await measure_saturation(args, customers, token, port, service.pid, tmp)
            steady = await measure_steady(args, customers, token, port, service.pid, tmp)
    finally:
        await bus.close()
        service.terminate()
        try:
            service.wait(timeout=20)
        except subprocess.TimeoutExpired:
            service.kill()
        await drop_database(database_url)
        if nats is not None:
            nats.stop()
        if postgres is not None:
            stop_postgres(postgres)
        shutil.rmtree(tmp, ignore_errors=True)  # service log, generator files, NATS data
    return {
        "transactions": args.transactions,
        "customers": args.customers,
        "elapsed": elapsed,
        "publish_seconds": publish_seconds,
        "throughput": args.transactions / elapsed,
        "concurrency": args.concurrency,
        "saturation": saturation,
        "steady": steady,
        "embedded": postgres is not None and nats is not None,
        "cpu_per_txn_us": event_cpu / args.transactions * 1e6,
        "load": os.getloadavg()[0],
        **pg_figures,
        "state_sizes": state_sizes,
    }


def _preauth_row(label: str, run: dict[str, Any]) -> str:
    ok = "met" if run["p99"] < 20 else "NOT met"
    latency = f"{run['p50']:.1f} / {run['p95']:.1f} / **{run['p99']:.1f}** / {run['max']:.1f} ms"
    return (
        f"| {label} | {run['rate']:,.0f} req/s | {latency} | {run['cpu_per_request_us']:.0f} µs "
        f"| {run['failed']} | p99 < 20 ms, {ok} |"
    )


BREAKDOWN = """Where the scoring process's CPU goes (py-spy at 250 Hz on the service, 2,000
customers, shares of its busy samples; re-measure after changing the event path):

- event path: the batch handler ~71%: applying the events ~49% (window updates and the
  transaction's features ~17%, the customer features every `transaction_scored` carries ~7%,
  building and encoding that payload ~6.5%, the assessment row ~4.5%, payload to domain
  transaction ~3.5%, anomaly score ~3%), state blobs encoded for the write-back ~12% (the
  five windows' bucket lists ~4%), assessment COPY ~3%, state write ~1%. The shared kit's
  share: NATS client read loop ~6%, event parsing (pydantic `model_validate_json`) ~2.5%,
  outbox relay ~3.5%, the event loop itself ~8%. In this round: the distinct-counterparty /
  country / device / account counts became a binary search over a sorted index instead of a
  scan of every key (400 per busy customer) per transaction, a window keeps its cached
  maximum across evictions that cannot hold it, window reads return plain tuples, the
  recent-id check is a set lookup instead of a scan of 128 ids, and the `risk_levels` block
  is rebuilt only when an assessment changes. Since then the 24h and 30d windows are spans
  of the 7d and 90d windows' buckets (running totals only), so a transaction updates three
  bucket maps instead of five and their persisted entries are slices of the longer windows'
  encoded buckets (the state format is unchanged), and a remembered anomaly encodes once.
  Before the first round the handler built a pydantic model per staged event and wrote
  through SQLAlchemy `executemany`.
- pre-authorisation: the route ~39% (the one-row state-version read through the asyncpg pool
  ~15-23%, transaction features ~7%, anomaly score ~2%, response dict ~1.5%), FastAPI's
  dependency solving and body validation ~12%, sending the response ~9%, the rest uvicorn,
  Starlette routing and the middleware stack."""


# Issue #4: ≤ ~250 µs of the scoring process's CPU per transaction, so that one process
# reaches 3,000 txn/s while PostgreSQL and nats-server share the two cores.
CPU_TARGET_US = 250


def pg_cpu_text(result: dict[str, Any]) -> str:
    cpu = result["pg_cpu_per_txn_us"]
    return "not measurable (external server)" if cpu is None else f"{cpu:.0f} µs"


def state_sizes_text(result: dict[str, Any]) -> str:
    sizes = result["state_sizes"]
    raw, stored = sizes["raw"], sizes["stored"]
    hot = sizes["n_tup_hot_upd"] / sizes["n_tup_upd"] if sizes["n_tup_upd"] else 0.0
    return (
        f"customer_state after the run: {sizes['rows']:,} rows, blob p50/p90/p99/max "
        f"{raw[0]:,}/{raw[1]:,}/{raw[2]:,}/{raw[3]:,} B raw, "
        f"{stored[0]:,}/{stored[1]:,}/{stored[2]:,}/{stored[3]:,} B stored, "
        f"{sizes['over_2k']:,} over 2 KB; {hot:.0%} of {sizes['n_tup_upd']:,} updates HOT; "
        f"heap {sizes['heap'] / 1e6:.1f} MB, TOAST {sizes['toast'] / 1e6:.1f} MB"
    )


def floor_text(result: dict[str, Any], floor: dict[str, Any]) -> str:
    computing = result["cpu_per_txn_us"] - floor["cpu_per_txn_us"]
    return f"""**The same event path without its computation** (`bench/scoring_floor_service.py`,
the same events into a fresh database: each transaction still parsed, claimed in the inbox,
its state row locked, encoded and written back, an assessment row COPY'd, its own
`transaction_scored` built, committed and published by the relay, acked; only features, score,
reasons and re-assessments are replaced by the first transaction's):
**{floor["cpu_per_txn_us"]:.0f} µs** CPU per transaction, {floor["throughput"]:,.0f} txn/s,
PostgreSQL {pg_cpu_text(floor)} CPU per transaction. The computation is the other
~{computing:.0f} µs of the event path's {result["cpu_per_txn_us"]:.0f}: it, not the I/O, limits
the rate (3,000 txn/s leaves 333 µs in all)."""


def write_results(result: dict[str, Any], command: str, floor: dict[str, Any]) -> str:
    ok_rate = "met" if result["throughput"] >= 3_000 else "NOT met"
    ok_cpu = "met" if result["cpu_per_txn_us"] <= CPU_TARGET_US else "NOT met"
    rate = f"{result['throughput']:,.0f} txn/s ({result['elapsed']:.1f} s)"
    cpu_txn = f"**{result['cpu_per_txn_us']:.0f} µs**"
    servers = "embedded (pgserver 16, nats-server)" if result["embedded"] else "from env"
    saturation, steady = result["saturation"], result["steady"]
    connections = result["concurrency"]
    text = f"""# Scoring service benchmark

`{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()},
{os.cpu_count()} cores, servers {servers}, loopback only. JetStream with its default
sync (acknowledges before fsync); PostgreSQL commits fsynced. Load average (1 min) at the
end: {result["load"]:.1f} on {os.cpu_count()} cores.

**Event path**: {result["transactions"]:,} `customer.transaction_received.v1` for
{result["customers"]:,} customers (spread over one day, so each customer's credit and churn
are re-assessed once), published with `publish_async` by this script (another process)
while one scoring process (`python -m riskwatch_scoring serve`, uvicorn + uvloop, consumer and
outbox relay inside) consumes batches of 1,000, two in flight (the next is scored while
PostgreSQL writes the last; a customer's events still go one batch after another): load
the batch's states once (locked, decoded
only when the cached version is stale), update features, score, COPY the assessment rows,
stage one `scoring.transaction_scored.v1` per transaction (plus assessments and level changes)
into the outbox, write the states back in one statement, commit, ack; the relay publishes.
Timed from the first publish to the moment the SCORING stream holds all
{result["transactions"]:,} `transaction_scored` events (500 warm-up transactions before).

| measure | figure | target |
|---|---|---|
| scoring process CPU per transaction (event path) | {cpu_txn} | ≤ {CPU_TARGET_US} µs, {ok_cpu} |
| transactions scored end to end | {rate} | ≥ 3,000 txn/s, {ok_rate} |
| of which publishing the input | {result["publish_seconds"]:.1f} s | — |
| PostgreSQL CPU per transaction (all its processes) | {pg_cpu_text(result)} | — |
| WAL per transaction | {result["wal_per_txn_bytes"]:,.0f} B | — |

{state_sizes_text(result)}.

{floor_text(result, floor)}

**Pre-authorisation** `POST /v1/scores/transaction`, random customers of the run above
(their state cached by the service; each request still checks the state's version in
PostgreSQL, one round trip), after the event path drained, from a load generator in its own
process sending pre-serialised requests over {connections} kept-alive connections:

- *saturation*: closed loop, each connection sends its next request when the last one is
  answered, so the rate is whatever the server sustains ({saturation["tool"]});
- *steady rate*: open loop at {steady["target_rate"]:,} req/s, each request sent at its
  scheduled time and timed from it (queueing behind a busy connection counts), which is what
  a pre-authorisation sees in production.

| run | rate | p50 / p95 / **p99** / max | service CPU per request | non-200 | target |
|---|---|---|---|---|---|
{_preauth_row(f"saturation, {connections} connections", saturation)}
{_preauth_row(f"steady {steady['target_rate']:,} req/s, open loop", steady)}

In the steady run, p99 timed from the moment each request was actually written (leaving
out any lateness of the generator itself, which shares the cores): {steady["sent_p99"]:.1f} ms.
Its CPU per request includes the idle consumer and relay loops running meanwhile (measured
alone just before: {steady["idle_cpu_share"] * 100:.1f}% of a core); without them it is
{steady["net_cpu_per_request_us"]:.0f} µs per request.

CPU per transaction (or request) is the service process's user + system time over the
timed window divided by the work done: it depends far less on how busy the machine is than
the rates do (contention still inflates it), so 1,000,000 / that figure approximates what one
process sustains once it has a core to itself. PostgreSQL and nats-server share the same 2
cores, so one scoring process at 3,000 txn/s needs well under 333 µs: the target is
{CPU_TARGET_US} µs (0.75 of a core at 3,000 txn/s, leaving the rest to PostgreSQL, nats-server
and the publisher).

{BREAKDOWN}
"""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=30_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=int, default=300, help="open-loop pre-auth req/s")
    parser.add_argument("--no-wrk", action="store_true", help="saturation without wrk")
    parser.add_argument(
        "--ddl", action="append", default=[], help="SQL run after the migrations (repeatable)"
    )
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)  # the generator's own process
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--quick", action="store_true", help="small run, under a minute")
    parser.add_argument(
        "--events-only",
        action="store_true",
        help="measure the event path only and print it (no pre-authorisation, no results file)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="with --events-only: the service without its computation (scoring_floor_service)",
    )
    args = parser.parse_args()
    if args.loadgen:
        run_loadgen(args.loadgen)
        return
    if args.quick:
        args.transactions, args.customers, args.requests = 8_000, 500, 1_000
        args.timeout = 40
    command = "python bench/scoring_bench.py" + (" --quick" if args.quick else "")
    if args.floor and not args.events_only:
        parser.error("--floor goes with --events-only (a full run measures the floor too)")
    result = uvloop.run(run(args))
    if args.events_only:
        print(
            ("floor (no computation): " if args.floor else "")
            + f"event path: {result['cpu_per_txn_us']:.0f} µs CPU per transaction, "
            f"{result['throughput']:,.0f} txn/s ({result['transactions']:,} transactions, "
            f"{result['customers']:,} customers, load {result['load']:.1f}); target "
            f"≤ {CPU_TARGET_US} µs "
            + ("met" if result["cpu_per_txn_us"] <= CPU_TARGET_US else "NOT met")
            + f"; PostgreSQL {pg_cpu_text(result)} CPU and "
            f"{result['wal_per_txn_bytes']:,.0f} B WAL per transaction"
        )
        print(state_sizes_text(result))
        return
    floor = uvloop.run(
        run(argparse.Namespace(**{**vars(args), "events_only": True, "floor": True}))
    )
    print(write_results(result, command, floor))


if __name__ == "__main__":
    main()
