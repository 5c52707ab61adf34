"""The dev stack behind `riskwatch run`: the whole system on one machine.

Starts (when DATABASE_URL / NATS_URL are not set) an embedded PostgreSQL and NATS JetStream
with their data under `.riskwatch/`, migrates every service, starts the four services and the
gateway as separate processes, waits until each is ready and prints where they listen.
Ctrl-C stops everything; a second run reuses the data.

Supervised: a process that exits, or whose liveness (`/healthz`) fails `LIVENESS_FAILURES`
checks in a row after its start-up grace, is killed and started again (what k8s does with
the liveness probes), with a capped backoff between restarts of one process.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch_shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port

if TYPE_CHECKING:
    from riskwatch_shared.mailcatcher import MailCatcher


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    module: str
    port: int
    migrates: bool = True
    command: tuple[str, ...] = ("serve",)

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"


def default_processes() -> list[ProcessSpec]:
    def port(name: str, default: int) -> int:
        return int(os.environ.get(f"{name.upper()}_PORT", default))

    return [
        ProcessSpec("customer", "riskwatch_customer", port("customer", 8001)),
        ProcessSpec("scoring", "riskwatch_scoring", port("scoring", 8002)),
        ProcessSpec("alerting", "riskwatch_alerting", port("alerting", 8003)),
        ProcessSpec("notify", "riskwatch_notify", port("notify", 8004)),
        ProcessSpec("gateway", "riskwatch_gateway", port("gateway", 8000)),
    ]


# Liveness checks as the k8s probes make them: every LIVENESS_PERIOD seconds, a restart after
# LIVENESS_FAILURES failures in a row, not before STARTUP_GRACE seconds after a (re)start.
LIVENESS_PERIOD = 2.0
LIVENESS_FAILURES = 3
STARTUP_GRACE = 30.0
RESTART_BACKOFF_CAP = 5.0


@dataclass
class Supervised:
    """What the launcher knows about one child: when it started, how its liveness goes."""

    started_at: float
    restarts: int = 0
    crash_loop: int = 0  # restarts in a row of a process that died young
    failed_checks: int = 0
    next_check: float = 0.0
    restart_at: float | None = None


def alive(url: str, *, timeout: float = 2.0) -> bool:
    """One liveness check: the process answers `/healthz` with 200 in time."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(url: str, *, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s")


class Stack:
    """The embedded servers (if any) and the service processes of one `riskwatch run`."""

    def __init__(self, data_dir: Path, processes: Sequence[ProcessSpec]) -> None:
        self.data_dir = data_dir
        self.processes = list(processes)
        self.postgres: EmbeddedPostgres | None = None
        self.nats: EmbeddedNats | None = None
        self.mail: MailCatcher | None = None
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.supervised: dict[str, Supervised] = {}
        self.env = dict(os.environ)

    def start_servers(self) -> None:
        if not self.env.get("DATABASE_URL"):
            self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
            self.env["DATABASE_URL"] = self.postgres.start()
            print(f"  embedded PostgreSQL  {self.postgres.data_dir} (unix socket)")
        if not self.env.get("NATS_URL"):
            self.nats = EmbeddedNats(
                self.data_dir / "nats", port=free_port(), log_file=self.data_dir / "nats.log"
            )
            self.env["NATS_URL"] = self.nats.start()
            where = f"{self.env['NATS_URL']} (JetStream in {self.nats.store_dir})"
            print(f"  embedded NATS        {where}")
        if not self.env.get("NOTIFY_SMTP_HOST"):
            from riskwatch_shared.mailcatcher import MailCatcher

            self.mail = MailCatcher(self.data_dir / "mail")
            self.mail.start()
            self.env["NOTIFY_SMTP_HOST"] = "127.0.0.1"
            self.env["NOTIFY_SMTP_PORT"] = str(self.mail.port)
            self.env.setdefault("NOTIFY_SMTP_SECURITY", "none")  # the catcher speaks plain SMTP
            where = f"127.0.0.1:{self.mail.port} (mail in {self.data_dir / 'mail'})"
            print(f"  local SMTP catcher   {where}")
        for spec in self.processes:
            self.env.setdefault(f"{spec.env_prefix}PORT", str(spec.port))
            if spec.name != "gateway":
                self.env.setdefault(
                    f"GATEWAY_{spec.name.upper()}_URL", f"http://127.0.0.1:{spec.port}"
                )

    def migrate(self) -> None:
        def run(spec: ProcessSpec) -> tuple[str, int, bytes]:
            done = subprocess.run(
                [sys.executable, "-m", spec.module, "migrate"],
                env=self.env,
                capture_output=True,
                check=False,
            )
            return spec.name, done.returncode, done.stderr

        with ThreadPoolExecutor(max_workers=len(self.processes)) as pool:
            results = list(pool.map(run, [p for p in self.processes if p.migrates]))
        for name, code, stderr in results:
            if code != 0:
                raise RuntimeError(f"migrating {name} failed:\n{stderr.decode(errors='replace')}")
            print(f"  migrated             {name}")

    def spawn(self, spec: ProcessSpec) -> subprocess.Popen[bytes]:
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{spec.name}.log").open("ab") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", spec.module, *spec.command],
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        self.children[spec.name] = proc
        previous = self.supervised.get(spec.name)
        self.supervised[spec.name] = Supervised(
            started_at=time.monotonic(),
            restarts=previous.restarts if previous else 0,
            crash_loop=previous.crash_loop if previous else 0,
        )
        return proc

    def supervise_once(self) -> list[str]:
        """Restart what exited or failed its liveness; returns the names restarted now."""
        restarted: list[str] = []
        now = time.monotonic()
        for spec in self.processes:
            proc = self.children.get(spec.name)
            state = self.supervised.get(spec.name)
            if proc is None or state is None:
                continue
            if state.restart_at is not None:  # dead, waiting out its backoff
                if now >= state.restart_at:
                    self.spawn(spec)
                    restarted.append(spec.name)
                    print(f"  restarted            {spec.name} (restart {state.restarts})")
                continue
            reason = None
            if proc.poll() is not None:
                reason = f"exited with {proc.returncode}"
            elif now - state.started_at > STARTUP_GRACE and now >= state.next_check:
                state.next_check = now + LIVENESS_PERIOD
                if alive(f"http://127.0.0.1:{spec.port}/healthz"):
                    state.failed_checks = 0
                else:
                    state.failed_checks += 1
                    if state.failed_checks >= LIVENESS_FAILURES:
                        reason = f"liveness failed {state.failed_checks} times"
            if reason is None:
                continue
            print(f"  {spec.name} {reason}: restarting", file=sys.stderr, flush=True)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            state.restarts += 1
            state.crash_loop = 0 if now - state.started_at > 10 else state.crash_loop + 1
            # At once after a process that ran a while; backing off while it keeps dying.
            delay = 0.0 if state.crash_loop == 0 else 0.5 * 2 ** (state.crash_loop - 1)
            state.restart_at = now + min(RESTART_BACKOFF_CAP, delay)
        return restarted

    def start_processes(self, *, timeout: float = 60.0) -> None:
        for spec in self.processes:
            self.spawn(spec)
        for spec in self.processes:
            wait_ready(
                f"http://127.0.0.1:{spec.port}/readyz",
                timeout=timeout,
                proc=self.children[spec.name],
            )
            print(f"  ready                {spec.name:<9} http://127.0.0.1:{spec.port}")

    def stop(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.children.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.mail is not None:
            self.mail.stop()
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(data_dir, default_processes())
    print(f"RiskWatch starting (data in {data_dir})")
    try:
        stack.start_servers()
        stack.migrate()
        stack.start_processes()
        gateway = next(p for p in stack.processes if p.name == "gateway")
        print(
            f"\nRiskWatch is up: API http://127.0.0.1:{gateway.port}  "
            f"(docs http://127.0.0.1:{gateway.port}/docs). Logs in {data_dir / 'logs'}."
        )
        email = os.environ.get("RISKWATCH_ADMIN_EMAIL", "admin@riskwatch.local")
        where = (
            "RISKWATCH_ADMIN_PASSWORD"
            if os.environ.get("RISKWATCH_ADMIN_PASSWORD")
            else f"the password printed once in {data_dir / 'logs' / 'gateway.log'}"
        )
        print(
            f"Sign in: POST /v1/auth/token with {email} and {where}; "
            "send the token as 'Authorization: Bearer ...'."
        )
        print("Press Ctrl-C to stop.", flush=True)
        while True:  # a process that exits or stops being alive is restarted
            stack.supervise_once()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping...")
        return 0
    finally:
        stack.stop()
