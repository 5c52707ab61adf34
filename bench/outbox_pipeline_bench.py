"""Benchmark: outbox -> relay -> JetStream -> consumer runner (inbox claim, commit, ack).

Three processes share the machine, as in production: this one commits events to the outbox
(transactions of --txn-size events, like a batch intake), one runs the OutboxRelay, one runs a
ConsumerRunner whose handler writes one row per event (`--handler insert`) or nothing
(`--handler noop`: the kit's own cost). Reports events/s end to end and the commit-to-handled
latency percentiles. Embedded PostgreSQL/NATS unless DATABASE_URL / NATS_URL are set.

    .venv/bin/python bench/outbox_pipeline_bench.py --events 50000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import uvloop
from sqlalchemy import Column, DateTime, Float, Integer, MetaData, Table, Uuid, insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_shared.db.base import new_metadata
from riskwatch_shared.db.migrate import drop_database, ensure_database
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres
from riskwatch_shared.events.base import Event, register
from riskwatch_shared.events.streams import StreamSpec
from riskwatch_shared.messaging.bus import MessageBus, ensure_streams
from riskwatch_shared.messaging.consumer import ConsumerRunner, ConsumerSpec
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.messaging.relay import OutboxRelay
from riskwatch_shared.settings import to_async_url, to_asyncpg_dsn

STREAM = StreamSpec("RWBENCH", ("rwbench.>",), max_age_seconds=3600)


@register
class BenchEventHappened(Event):
    type: Literal["rwbench.event_happened.v1"] = "rwbench.event_happened.v1"
    source: str = "bench"
    n: int
    committed_at: float = 0.0


METADATA: MetaData = new_metadata()
HANDLED = Table(
    "bench_handled",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("handled_at", Float, nullable=False),
    Column("stored_at", DateTime(timezone=True)),
)


async def run_relay(db_url: str, nats_url: str, seconds: float) -> None:
    engine = create_engine(db_url)
    bus = MessageBus(nats_url, name="bench-relay")
    await bus.connect()
    relay = OutboxRelay(service="bench", engine=engine, bus=bus, listen_dsn=to_asyncpg_dsn(db_url))
    await relay.start()
    await asyncio.sleep(seconds)
    await relay.stop()
    await bus.close()
    await engine.dispose()


async def run_consumer(
    db_url: str, nats_url: str, expected: int, handler_kind: str, out: Path
) -> None:
    engine = create_engine(db_url)
    bus = MessageBus(nats_url, name="bench-consumer")
    await bus.connect()
    handled_at: dict[int, float] = {}

    async def handle(event: BenchEventHappened, session: AsyncSession) -> None:
        now = time.time()
        if handler_kind == "insert":
            await session.execute(
                insert(HANDLED).values(event_id=event.id, n=event.n, handled_at=now)
            )
        handled_at[event.n] = now - event.committed_at

    spec = ConsumerSpec(
        durable="bench",
        stream=STREAM.name,
        subjects=["rwbench.>"],
        handlers={BenchEventHappened: handle},
        batch_size=500,
        fetch_timeout=0.5,
    )
    runner = ConsumerRunner(spec, bus=bus, session_factory=create_session_factory(engine))
    await runner.start()
    deadline = time.monotonic() + 300
    while len(handled_at) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await runner.stop()
    out.write_text(json.dumps({"latencies": list(handled_at.values()), "last": time.time()}))
    await bus.close()
    await engine.dispose()


async def produce(db_url: str, events: int, txn_size: int, rate: float | None) -> float:
    engine = create_engine(db_url, pool_size=4)
    factory = create_session_factory(engine)
    started = time.time()
    n = 0
    while n < events:
        if rate:
            ahead = n / rate - (time.time() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
        async with factory() as session:
            # committed_at is taken just before COMMIT: latency includes the commit itself.
            batch = [
                BenchEventHappened(n=n + i, committed_at=time.time())
                for i in range(min(txn_size, events - n))
            ]
            await add_events(session, *batch)
            await session.commit()
        n += len(batch)
    await engine.dispose()
    return started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="rwbench-"))
    pg = nats = None
    server_url = os.environ.get("DATABASE_URL")
    nats_url = os.environ.get("NATS_URL")
    if not server_url:
        pg = EmbeddedPostgres(Path(f"/tmp/rwb-{uuid.uuid4().hex[:6]}"))
        server_url = pg.start()
    if not nats_url:
        nats = EmbeddedNats(work / "nats")
        nats_url = nats.start()
    from sqlalchemy.engine import make_url

    db_url = to_async_url(
        make_url(server_url).set(database=f"rwbench_{uuid.uuid4().hex[:6]}").render_as_string(False)
    )
    await ensure_database(db_url)
    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    await engine.dispose()
    bus = MessageBus(nats_url, name="bench-setup")
    await bus.connect()
    await ensure_streams(bus.js, specs=(STREAM,))
    await bus.js.purge_stream(STREAM.name)
    await bus.close()

    out = work / "consumer.json"
    me = [sys.executable, __file__]
    consumer = subprocess.Popen(
        [
            *me,
            "--role",
            "consumer",
            "--db",
            db_url,
            "--nats",
            nats_url,
            "--events",
            str(args.events),
            "--handler",
            args.handler,
            "--out",
            str(out),
        ]
    )
    relay = subprocess.Popen(
        [*me, "--role", "relay", "--db", db_url, "--nats", nats_url, "--seconds", "400"]
    )
    await asyncio.sleep(2.0)  # both subscribed and listening
    started = await produce(db_url, args.events, args.txn_size, args.rate)
    produced = time.time()
    consumer.wait(timeout=400)
    relay.terminate()
    relay.wait()
    result = json.loads(out.read_text())
    latencies = result["latencies"]
    elapsed = result["last"] - started
    await drop_database(db_url)
    if nats:
        nats.stop()
    if pg:
        pg.stop()
    return {
        "events": args.events,
        "handled": len(latencies),
        "txn_size": args.txn_size,
        "handler": args.handler,
        "rate_limit": args.rate,
        "produce_seconds": round(produced - started, 3),
        "end_to_end_events_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", default="orchestrate")
    parser.add_argument("--db")
    parser.add_argument("--nats")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--txn-size", type=int, default=100)
    parser.add_argument("--rate", type=float, default=None, help="events/s offered (default: max)")
    parser.add_argument("--handler", choices=["noop", "insert"], default="insert")
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--out")
    parser.add_argument("--results", default="bench/results/outbox_pipeline.json")
    args = parser.parse_args()
    if args.role == "relay":
        uvloop.run(run_relay(args.db, args.nats, args.seconds))
    elif args.role == "consumer":
        uvloop.run(run_consumer(args.db, args.nats, args.events, args.handler, Path(args.out)))
    else:
        figures = uvloop.run(orchestrate(args))
        print(json.dumps(figures, indent=2))
        results = Path(args.results)
        results.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(results.read_text()) if results.exists() else []
        existing.append(figures)
        results.write_text(json.dumps(existing, indent=2))


if __name__ == "__main__":
    main()
