"""The whole system as processes, for end-to-end tests and the end-to-end benchmark.

Uses the launcher `riskwatch run` uses (`riskwatch_shared.cli.Stack`): embedded PostgreSQL
and NATS in a fresh data folder, every service and the gateway on free loopback ports, and
an aiosmtpd server the notify service sends its email to.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import nats

from riskwatch_shared.cli import ProcessSpec, Stack, default_processes
from riskwatch_shared.embedded import free_port
from riskwatch_shared.mailcatcher import MailCatcher

ADMIN_EMAIL = "admin@riskwatch.local"
ADMIN_PASSWORD = "e2e-admin-password-0123456789"
# Never inherit a developer's servers or ports: each run gets its own.
_INHERITED = ("DATABASE_URL", "NATS_URL", "NOTIFY_SMTP_HOST", "NOTIFY_SMTP_PORT")


@dataclass
class RunningSystem:
    stack: Stack
    mail: MailCatcher
    data_dir: Path

    def url(self, name: str) -> str:
        spec = next(p for p in self.stack.processes if p.name == name)
        return f"http://127.0.0.1:{spec.port}"

    @property
    def gateway(self) -> str:
        return self.url("gateway")

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.stack.children.items()}

    def log(self, name: str) -> str:
        path = self.data_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def system_env(
    mail_port: int, extra: Mapping[str, str] | None = None, *, own_servers: bool = True
) -> dict[str, str]:
    """The processes' environment; with `own_servers`, fresh embedded PostgreSQL and NATS even
    when DATABASE_URL / NATS_URL are set (tests), else those servers are used (benchmarks)."""
    dropped = _INHERITED if own_servers else _INHERITED[2:]
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        {
            "RISKWATCH_ADMIN_EMAIL": ADMIN_EMAIL,
            "RISKWATCH_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "RISKWATCH_LOG_LEVEL": "WARNING",
            "NOTIFY_SMTP_HOST": "127.0.0.1",
            "NOTIFY_SMTP_PORT": str(mail_port),
            "NOTIFY_SMTP_SECURITY": "none",
            # One email per alert, sent at once (no digest hold-back) for the scenarios.
            "NOTIFY_DIGEST_WINDOW_SECONDS": "0",
            "NOTIFY_DELIVERY_POLL_SECONDS": "0.1",
        }
    )
    env.update(extra or {})
    return env


@contextlib.contextmanager
def running_system(
    *,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 180.0,
    own_servers: bool = True,
    modules: Mapping[str, str] | None = None,
) -> Iterator[RunningSystem]:
    """Start everything, wait for every /readyz, stop everything on the way out.

    `modules` runs another entry point for a process by name (a benchmark's instrumented one).
    """
    # Unix socket paths are limited to ~100 bytes: keep the data folder short.
    data_dir = Path(f"/tmp/rw-e2e-{uuid.uuid4().hex[:8]}")
    data_dir.mkdir(parents=True)
    mail = MailCatcher(data_dir / "mail")
    mail.start()
    processes = [
        ProcessSpec(
            spec.name, (modules or {}).get(spec.name, spec.module), free_port(), spec.migrates
        )
        for spec in default_processes()
    ]
    stack = Stack(data_dir, processes)
    stack.env = system_env(mail.port, extra_env, own_servers=own_servers)
    stack.load_secrets()  # keys the environment does not give (a benchmark): made for this run
    system = RunningSystem(stack, mail, data_dir)
    try:
        try:
            stack.start_servers()
            stack.migrate()
            stack.start_processes(timeout=timeout)
        except (RuntimeError, TimeoutError) as exc:
            tails = "\n".join(
                f"--- {spec.name}.log ---\n{system.log(spec.name)[-3000:]}" for spec in processes
            )
            raise RuntimeError(f"the system did not start: {exc}\n{tails}") from exc
        yield system
    finally:
        stack.stop()
        mail.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def consumers_drained(
    nats_url: str, *, poll_seconds: float = 3.0, polls: int = 3, timeout: float = 900.0
) -> float:
    """Wait until no JetStream consumer has anything pending or unacknowledged for `polls`
    polls in a row (everything sent has been processed, however loaded the machine); returns
    the seconds waited."""
    started = time.monotonic()
    connection = await nats.connect(nats_url)
    try:
        jetstream, drained = connection.jetstream(), 0
        while drained < polls:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"JetStream consumers still busy after {timeout:.0f}s")
            await asyncio.sleep(poll_seconds)
            busy = 0
            for stream in await jetstream.streams_info():
                name = stream.config.name
                assert name is not None
                for consumer in await jetstream.consumers_info(name):
                    busy += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
            drained = drained + 1 if busy == 0 else 0
    finally:
        await connection.close()
    return time.monotonic() - started
