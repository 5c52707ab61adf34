"""Benchmark: what the gateway adds to a call, and how much of the direct throughput it keeps.

Three processes on loopback, as in production (`uvicorn`, uvloop, httptools, one worker each):
a simple upstream standing in for the customer service's intake (FastAPI, pydantic bodies,
verifies the signed identity header like every service does), the gateway in front of it
(`python -m riskwatch_gateway serve`, its own database on embedded PostgreSQL unless
DATABASE_URL is set), and this process as core banking, sending with a minimal keep-alive
HTTP/1.1 client (so the load generator costs as little CPU as possible).

1. overhead: one connection, calls one after the other; p50/p99 direct vs through the gateway
   (the gateway's API key check, policy, signed identity, proxying);
2. singles: `--clients` connections POST /v1/transactions for `--seconds`;
3. batches: `--batch-clients` connections POST /v1/transactions/batch of `--batch-size` items.

    .venv/bin/python bench/gateway_bench.py            # ~1.5 minutes
    .venv/bin/python bench/gateway_bench.py --quick    # < 60 s

Writes bench/results/gateway.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvloop
from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "gateway.md"
ADMIN_EMAIL = "bench-admin@riskwatch.local"
ADMIN_PASSWORD = "bench-admin-password-1234"

TRANSACTION: dict[str, Any] = {
    "external_id": "",
    "customer_id": "5b0e4c1e-7a57-4d6c-9f4e-2b9d5f2f7a10",
    "account_id": "8d3c2f0a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
    "amount": "1234.56",
    "currency": "EUR",
    "direction": "outbound",
    "channel": "card",
    "counterparty_name": "ACME Supplies Ltd",
    "counterparty_country": "DE",
    "occurred_at": "2026-12-01T10:15:00+00:00",
}


# --- the upstream (run in its own process with --serve-upstream PORT) ----------------------


class Transaction(BaseModel):
    external_id: str = Field(max_length=100)
    customer_id: uuid.UUID
    account_id: str
    amount: Decimal
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    direction: str
    channel: str
    counterparty_name: str | None = None
    counterparty_country: str | None = None
    occurred_at: datetime


class Batch(BaseModel):
    items: list[Transaction] = Field(max_length=5000)


def serve_upstream(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI, Header, HTTPException

    from riskwatch_shared.security import InvalidIdentity, load_public_keys, verify_identity_token

    app = FastAPI(title="bench upstream")
    # The parent hands its throwaway keys over in the environment (base_env).
    keys = load_public_keys(os.environ["RISKWATCH_IDENTITY_PUBLIC_KEYS"])

    def check(identity: str | None) -> None:
        if identity is None:
            raise HTTPException(401, "missing identity")
        try:
            verify_identity_token(identity, keys)
        except InvalidIdentity as exc:
            raise HTTPException(401, str(exc)) from exc

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/transactions", status_code=201)
    async def single(
        body: Transaction, x_riskwatch_identity: str | None = Header(default=None)
    ) -> dict[str, str]:
        check(x_riskwatch_identity)
        return {"id": str(uuid.uuid4()), "external_id": body.external_id, "status": "accepted"}

    @app.post("/v1/transactions/batch")
    async def batch(
        body: Batch, x_riskwatch_identity: str | None = Header(default=None)
    ) -> dict[str, Any]:
        check(x_riskwatch_identity)
        results = [{"index": i, "status": "accepted"} for i in range(len(body.items))]
        return {"accepted": len(body.items), "results": results}

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


# --- a lean keep-alive HTTP/1.1 client -------------------------------------------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        marker = lower.find(b"content-length:")
        if marker >= 0:
            end = lower.index(b"\r\n", marker)
            await self.reader.readexactly(int(lower[marker + 15 : end]))
        elif b"transfer-encoding: chunked" in lower:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        return status

    def close(self) -> None:
        self.writer.close()


def raw_request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Run:
    name: str
    target: str
    clients: int
    items_per_call: int
    seconds: float = 0.0
    calls: int = 0
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    upstream: str = ""

    @property
    def items_per_second(self) -> float:
        return self.calls * self.items_per_call / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if len(self.latencies_ms) < 2:
            return 0.0
        return statistics.quantiles(self.latencies_ms, n=1000)[int(q * 1000) - 1]


TOKEN = b"@@@@@@@@@@@@@@@@"  # replaced in every call, so each transaction is new
_calls = iter(range(1, 10**12))


async def load(
    run: Run, port: int, template: bytes, *, seconds: float | None, calls: int | None
) -> Run:
    """`run.clients` connections send the request back to back until the time or call budget
    ends; each call gets fresh external ids (same length, so Content-Length holds)."""
    connections = [await Connection.open(port) for _ in range(run.clients)]
    deadline = time.perf_counter() + (seconds or 1e9)
    budget = calls or 10**12

    async def client(connection: Connection) -> None:
        nonlocal budget
        while budget > 0 and time.perf_counter() < deadline:
            budget -= 1
            raw = template.replace(TOKEN, b"%016x" % next(_calls))
            started = time.perf_counter()
            status = await connection.send(raw)
            run.latencies_ms.append((time.perf_counter() - started) * 1000)
            run.calls += 1
            if status >= 300:
                run.failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    run.seconds = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return run


# --- orchestration ---------------------------------------------------------------------------


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def post_json(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


@dataclass
class Upstream:
    """What the load needs to know about the service behind the gateway."""

    name: str
    port: int
    single: bytes  # request bodies with TOKEN in every external id
    batch: bytes


@contextlib.contextmanager
def infrastructure(workdir: Path) -> Iterator[tuple[str, str]]:
    from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres

    postgres = nats = None
    server_url = os.environ.get("DATABASE_URL")
    nats_url = os.environ.get("NATS_URL")
    if not server_url:
        postgres = EmbeddedPostgres(Path(f"/tmp/rw-gwbench-{uuid.uuid4().hex[:8]}"))
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


def database_url(server_url: str, service: str) -> str:
    from sqlalchemy.engine import make_url

    name = f"rwbench_{service}_{uuid.uuid4().hex[:8]}"
    return make_url(server_url).set(database=name).render_as_string(False)


def drop(url: str) -> None:
    from riskwatch_shared.db.migrate import drop_database

    with contextlib.suppress(Exception):
        asyncio.run(drop_database(url))


LOGS = Path(tempfile.gettempdir()) / "riskwatch-gateway-bench-logs"


@contextlib.contextmanager
def child(command: list[str], env: dict[str, str], ready_url: str) -> Iterator[None]:
    """A server process (its output in LOGS), stopped on the way out."""
    LOGS.mkdir(exist_ok=True)
    name = command[2] if command[1] == "-m" else "upstream"
    with (LOGS / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(ready_url, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def base_env() -> dict[str, str]:
    from riskwatch_shared.testing import throwaway_environment

    return {**os.environ, **throwaway_environment(), "RISKWATCH_LOG_LEVEL": "WARNING"}


def bodies(pairs: list[tuple[str, str]], batch_size: int) -> tuple[bytes, bytes]:
    def item(n: int) -> dict[str, Any]:
        customer_id, account_id = pairs[n % len(pairs)]
        external_id = TOKEN.decode() + f"-{n:04d}"
        return {**TRANSACTION, "customer_id": customer_id, "account_id": account_id,
                "external_id": external_id}  # fmt: skip

    single = json.dumps(item(0)).encode()
    batch = json.dumps({"items": [item(n) for n in range(batch_size)]}).encode()
    return single, batch


@contextlib.contextmanager
def simple_upstream(args: argparse.Namespace) -> Iterator[Upstream]:
    from riskwatch_shared.embedded import free_port

    port = free_port()
    command = [sys.executable, __file__, "--serve-upstream", str(port)]
    with child(command, base_env(), f"http://127.0.0.1:{port}/readyz"):
        pairs = [(TRANSACTION["customer_id"], TRANSACTION["account_id"])]
        yield Upstream("simple upstream", port, *bodies(pairs, args.batch_size))


@contextlib.contextmanager
def customer_service(
    args: argparse.Namespace, server_url: str, nats_url: str
) -> Iterator[Upstream]:
    """The real customer service (intake writes rows and outbox events, relay publishes)."""
    import riskwatch_customer
    from riskwatch_shared.db.migrate import run_migrations
    from riskwatch_shared.embedded import free_port
    from riskwatch_shared.security import Identity
    from riskwatch_shared.testing import identity_headers

    url = database_url(server_url, "customer")
    run_migrations(Path(riskwatch_customer.__file__).parent / "alembic.ini", url)
    port = free_port()
    env = {**base_env(), "CUSTOMER_DATABASE_URL": url, "NATS_URL": nats_url,
           "CUSTOMER_PORT": str(port), "CUSTOMER_DB_POOL_SIZE": "20"}  # fmt: skip
    try:
        command = [sys.executable, "-m", "riskwatch_customer", "serve"]
        with child(command, env, f"http://127.0.0.1:{port}/readyz"):
            admin = Identity(subject="bench-admin", roles=("admin",))
            headers = identity_headers(admin)
            yield Upstream("customer service", port, *bodies(seed(port, headers), args.batch_size))
    finally:
        drop(url)


def seed(port: int, headers: dict[str, str], count: int = 10) -> list[tuple[str, str]]:
    base = f"http://127.0.0.1:{port}/v1/customers"
    pairs = []
    for n in range(count):
        person = {
            "kind": "individual",
            "name": f"Bench Customer {n}",
            "document_type": "passport",
            "document_number": f"GWB-{uuid.uuid4().hex[:10]}",
            "country": "GB",
        }
        customer = post_json(base, person, headers)
        account_body = {
            "number": f"ACC-{uuid.uuid4().hex[:12]}",
            "type": "current",
            "currency": "EUR",
            "opened_at": "2024-01-01",
        }
        account = post_json(f"{base}/{customer['id']}/accounts", account_body, headers)
        pairs.append((str(customer["id"]), str(account["id"])))
    return pairs


@contextlib.contextmanager
def gateway_in_front(server_url: str, upstream_port: int) -> Iterator[tuple[int, str]]:
    """The gateway (its own database) with every service URL on the upstream; yields its port
    and an ingest API key created through its API."""
    from riskwatch_shared.embedded import free_port

    url = database_url(server_url, "gateway")
    port = free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    env = {**base_env(), "RISKWATCH_ADMIN_EMAIL": ADMIN_EMAIL,
           "RISKWATCH_ADMIN_PASSWORD": ADMIN_PASSWORD, "GATEWAY_DATABASE_URL": url,
           "GATEWAY_PORT": str(port), "GATEWAY_AUTO_MIGRATE": "true"}  # fmt: skip
    env.update({f"GATEWAY_{name}_URL": upstream_url for name in SERVICES})
    try:
        command = [sys.executable, "-m", "riskwatch_gateway", "serve"]
        with child(command, env, f"http://127.0.0.1:{port}/healthz"):
            gateway = f"http://127.0.0.1:{port}"
            signed_in = post_json(
                f"{gateway}/v1/auth/token", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, {}
            )
            key = post_json(
                f"{gateway}/v1/api-keys",
                {"name": "bench core banking", "roles": ["ingest"]},
                {"Authorization": f"Bearer {signed_in['access_token']}"},
            )["secret"]
            yield port, key
    finally:
        drop(url)


SERVICES = ("CUSTOMER", "SCORING", "ALERTING", "NOTIFY")


async def measure(
    args: argparse.Namespace, upstream: Upstream, gateway: int, key: str
) -> list[Run]:
    from riskwatch_shared.security import Identity
    from riskwatch_shared.testing import identity_headers

    identity = Identity(subject="bench-core-banking", kind="api_key", roles=("ingest",))
    targets = {
        "direct": (upstream.port, identity_headers(identity)),
        "gateway": (gateway, {"X-API-Key": key}),
    }

    def request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
        return raw_request(path, body, headers)

    runs: list[Run] = []
    for target, (port, headers) in targets.items():  # warm both paths (pools, caches)
        single = request("/v1/transactions", upstream.single, headers)
        await load(Run("warm-up", target, 4, 1), port, single, seconds=None, calls=200)
    for target, (port, headers) in targets.items():
        single = request("/v1/transactions", upstream.single, headers)
        run = Run("overhead", target, 1, 1, upstream=upstream.name)
        runs.append(await load(run, port, single, seconds=None, calls=args.sequential))
    for target, (port, headers) in targets.items():
        single = request("/v1/transactions", upstream.single, headers)
        run = Run("singles", target, args.clients, 1, upstream=upstream.name)
        runs.append(await load(run, port, single, seconds=args.seconds, calls=None))
    for target, (port, headers) in targets.items():
        batch = request("/v1/transactions/batch", upstream.batch, headers)
        run = Run("batches", target, args.batch_clients, args.batch_size, upstream=upstream.name)
        runs.append(await load(run, port, batch, seconds=args.seconds, calls=None))
    return runs


def figures(runs: list[Run], upstream: str) -> dict[str, float]:
    by = {(r.name, r.target): r for r in runs if r.upstream == upstream}
    direct, via = by[("overhead", "direct")], by[("overhead", "gateway")]

    def ratio(phase: str) -> float:
        base = by[(phase, "direct")].items_per_second
        return by[(phase, "gateway")].items_per_second / base if base else 0.0

    return {
        "p50": via.percentile(0.5) - direct.percentile(0.5),
        "p99": via.percentile(0.99) - direct.percentile(0.99),
        "singles": ratio("singles"),
        "batches": ratio("batches"),
    }


def report(args: argparse.Namespace, runs: list[Run], command: str) -> str:
    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    rows = "\n".join(
        f"| {r.upstream} | {r.name} | {r.target} | {r.clients} | {r.items_per_call} | {r.calls:,} "
        f"| {r.failures} | {r.calls / r.seconds:,.0f} | {r.items_per_second:,.0f} "
        f"| {r.percentile(0.5):.2f} | {r.percentile(0.99):.2f} |"
        for r in runs
    )
    summary = []
    for upstream in dict.fromkeys(r.upstream for r in runs):
        f = figures(runs, upstream)
        summary += [
            f"| {upstream} | overhead added, p50 (sequential) | {f['p50']:.2f} ms | — | |",
            f"| {upstream} | overhead added, p99 (sequential) | {f['p99']:.2f} ms | < 5 ms "
            f"| {verdict(f['p99'] < 5)} |",
            f"| {upstream} | singles via gateway / direct | {f['singles']:.0%} | >= 60 % "
            f"| {verdict(f['singles'] >= 0.6)} |",
            f"| {upstream} | batches via gateway / direct | {f['batches']:.0%} | >= 90 % "
            f"| {verdict(f['batches'] >= 0.9)} |",
        ]
    summary_rows = "\n".join(summary)
    return f"""# Gateway: overhead and throughput against direct calls

Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, Python
{platform.python_version()}{" (quick run)" if args.quick else ""}; load average at the start
{args.load_average}. The machine was shared with other work while this ran: absolute figures
are low and noisy (each hop waits for a time slice); the ratios matter.

Command: `{command}`

What runs, each as its own process (uvicorn, one worker, uvloop, httptools) on loopback:
- **simple upstream**: FastAPI parsing the same pydantic bodies and verifying the signed
  identity as every service does, no database: isolates what the gateway itself costs;
- **customer service**: the real intake (`python -m riskwatch_customer serve`: rows,
  idempotency, outbox, relay to JetStream), so the ratio is the one core banking sees;
- **the gateway** in front (`python -m riskwatch_gateway serve`): API key from a 5 s cache,
  policy lookup, rate limit, signed identity minted once per 30 s, forwarding over pooled
  keep-alive connections (its own lean HTTP/1.1 client on httptools; httpx only for streams).

The load generator is a minimal keep-alive HTTP/1.1 client in this process; every call
carries new external ids. A single call carries a ~300-byte transaction, a batch
{args.batch_size} of them. Overhead: one connection, calls one after the other.

| upstream | phase | target | conns | items | calls | fails | calls/s | items/s | p50 ms | p99 ms |
|---|---|---|---|---|---|---|---|---|---|---|
{rows}

| upstream | figure | result | target | |
|---|---|---|---|---|
{summary_rows}

Against ../shared/CEILINGS.md: a FastAPI POST parsing a pydantic body tops out near
2,650 req/s on one worker, and POST + INSERT + publish near 1,280 req/s; direct singles
above sit at (or, on a busy machine, below) those ceilings. Through the gateway a single call
needs a second Python process's CPU (parse, admit, forward, relay the answer): on two cores
shared by load generator, gateway and service, that CPU comes out of the service's share,
which is what bounds the singles ratio; against the simple upstream (which does almost
nothing per call) the ratio is the worst case. Batches spread the gateway's per-call cost
over {args.batch_size} items. `serve --workers N` scales the gateway on machines with more
cores.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller run, < 60 s")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sequential", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--batch-clients", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--only", choices=["simple", "customer"], help="one upstream only")
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return
    if args.quick:
        args.seconds, args.sequential = 2.0, 200
    args.load_average = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    command = "python bench/gateway_bench.py" + (" --quick" if args.quick else "")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as workdir, infrastructure(Path(workdir)) as (pg, nats):
        upstreams: list[Callable[[], contextlib.AbstractContextManager[Upstream]]] = []
        if args.only in (None, "simple"):
            upstreams.append(lambda: simple_upstream(args))
        if args.only in (None, "customer"):
            upstreams.append(lambda: customer_service(args, pg, nats))
        for make in upstreams:
            with make() as upstream, gateway_in_front(pg, upstream.port) as (gateway, key):
                runs += uvloop.run(measure(args, upstream, gateway, key))
    text = report(args, runs, command)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
