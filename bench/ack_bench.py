"""Benchmark: process CPU of acking fetched JetStream messages, `Msg.ack` one by one against
`riskwatch_shared.messaging.acks.ack_all` (what the shared consumer does per batch).

An embedded nats-server, one stream of --messages 200-byte messages, one durable pull consumer
(explicit acks) read with the kit's PullFetcher in batches of --batch; the batches alternate
between the two ways of acking, each timed with `time.process_time()` (the acks and a flush).
Prints µs of CPU per message acked for each; writes no file.

    .venv/bin/python bench/ack_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from riskwatch_shared.embedded import EmbeddedNats
from riskwatch_shared.messaging.acks import ack_all
from riskwatch_shared.messaging.pull import PullFetcher


async def run(messages: int, batch: int) -> dict[str, tuple[float, int]]:
    server = EmbeddedNats(Path(tempfile.mkdtemp(prefix="rw-ack-bench-")) / "nats")
    url = server.start()
    try:
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="ACKBENCH", subjects=["ackbench.>"]))
        for _ in range(0, messages, 1000):
            acks = [await js.publish_async("ackbench.x", b"x" * 200) for _ in range(1000)]
            await asyncio.gather(*acks)
        config = ConsumerConfig(durable_name="ackbench", ack_policy=AckPolicy.EXPLICIT, ack_wait=60)
        await js.add_consumer("ACKBENCH", config)
        fetcher = PullFetcher(nc, stream="ACKBENCH", durable="ackbench")
        await fetcher.start()
        cpu = {"Msg.ack one by one": 0.0, "ack_all": 0.0}
        count = dict.fromkeys(cpu, 0)
        for turn in range(messages // batch):
            msgs = await fetcher.fetch(batch, timeout=5)
            mode = "ack_all" if turn % 2 else "Msg.ack one by one"
            started = time.process_time()
            if mode == "ack_all":
                await ack_all(msgs)
            else:
                for msg in msgs:
                    await msg.ack()
            await nc.flush()
            cpu[mode] += time.process_time() - started
            count[mode] += len(msgs)
        await fetcher.stop()
        await nc.close()
        return {mode: (cpu[mode], count[mode]) for mode in cpu}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    for mode, (cpu, count) in asyncio.run(run(args.messages, args.batch)).items():
        print(f"{mode}: {cpu / count * 1e6:.2f} µs CPU per message ({count:,} messages)")


if __name__ == "__main__":
    main()
