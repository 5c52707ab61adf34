"""The dev stack behind `riskwatch run`: the whole system on one machine.

Starts (when DATABASE_URL / NATS_URL are not set) an embedded PostgreSQL and NATS JetStream
with their data under `.riskwatch/`, migrates every service, starts the four services and the
gateway as separate processes, waits until each is ready and prints where they listen.
Ctrl-C stops everything; a second run reuses the data.

No set-up: the first run generates the secrets and keys every process needs into
`.riskwatch/secrets.env` (mode 0600) and later runs reuse them; a variable already set in the
environment wins. `python -m riskwatch_shared.cli secrets > .env` prints a fresh set for
docker compose.

Supervised: a process that exits, or whose liveness (`/healthz`) fails `LIVENESS_FAILURES`
checks in a row after its start-up grace, is killed and started again (what k8s does with
the liveness probes), with a capped backoff between restarts of one process.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
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
from riskwatch_shared.security import PublicKeySet, generate_signing_key

if TYPE_CHECKING:
    from riskwatch_shared.mailcatcher import MailCatcher


SECRETS_FILE = "secrets.env"
# Only the gateway gets these: no service holds a private key (it could mint identities).
GATEWAY_ONLY_SECRETS = frozenset(
    {
        "RISKWATCH_IDENTITY_SIGNING_KEY",
        "GATEWAY_JWT_SIGNING_KEYS",
        "GATEWAY_OPS_TOKEN",
        "RISKWATCH_ADMIN_PASSWORD",
    }
)
# Only the console gets its cookie key (it could forge any console session).
CONSOLE_ONLY_SECRETS = frozenset({"CONSOLE_SESSION_KEY"})
# The services that connect to NATS, each as its own NATS user (deploy/nats/nats.conf).
NATS_USERS = ("customer", "scoring", "alerting", "notify")


def generate_secrets(*, compose: bool = False) -> dict[str, str]:
    """Every secret a RiskWatch installation needs, freshly generated (docs/operations.md,
    "Secrets"): the gateway's identity key (private for the gateway, public for the services),
    the user-token key and the ops token; for docker compose also the passwords (the embedded
    servers of `riskwatch run` listen on this machine only and need none)."""
    identity = generate_signing_key()
    user_tokens = generate_signing_key()
    values = {
        "RISKWATCH_IDENTITY_SIGNING_KEY": identity.to_json(),
        "RISKWATCH_IDENTITY_PUBLIC_KEYS": PublicKeySet.of([identity]).to_json(),
        "GATEWAY_JWT_SIGNING_KEYS": json.dumps(
            {"keys": [user_tokens.private_jwk()]}, separators=(",", ":")
        ),
        "GATEWAY_OPS_TOKEN": secrets.token_urlsafe(32),
        # The first admin's password: kept here rather than printed into a log.
        "RISKWATCH_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        # The console's session cookie key (Fernet: 32 random bytes, url-safe base64).
        "CONSOLE_SESSION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    if compose:
        values["POSTGRES_PASSWORD"] = secrets.token_urlsafe(24)
        for user in NATS_USERS:
            values[f"NATS_{user.upper()}_PASSWORD"] = secrets.token_urlsafe(24)
    return values


def format_env_file(values: dict[str, str]) -> str:
    """KEY='value' lines (single-quoted: taken literally by docker compose and by us)."""
    lines = ["# RiskWatch secrets: keep private (mode 0600), never commit."]
    lines += [f"{name}='{value}'" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def parse_env_file(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if not sep or line.lstrip().startswith("#"):
            continue
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def local_secrets(data_dir: Path) -> dict[str, str]:
    """The secrets of this machine's stack: generated on the first run into
    `<data_dir>/secrets.env` (mode 0600), the same ones on every later run. A file from an
    older version gets the secrets it lacks added; none it has is ever replaced."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / SECRETS_FILE
    existing = parse_env_file(path.read_text()) if path.exists() else {}
    generated = generate_secrets()
    if path.exists():  # the admin of an older stack exists already, with its own password
        generated.pop("RISKWATCH_ADMIN_PASSWORD")
    values = {**generated, **existing}
    if values.keys() != existing.keys():
        temporary = path.with_suffix(".tmp")
        temporary.unlink(missing_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(format_env_file(values))
        os.replace(temporary, path)
    os.chmod(path, 0o600)
    return values


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
        # The analysts' web console: a client of the gateway, started after it.
        ProcessSpec("console", "riskwatch_console", port("console", 8005), migrates=False),
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

    def env_for(self, spec: ProcessSpec) -> dict[str, str]:
        """A process's environment: the gateway's private keys for the gateway only, the
        console's cookie key for the console only."""
        withheld = GATEWAY_ONLY_SECRETS | CONSOLE_ONLY_SECRETS
        if spec.name == "gateway":
            withheld = CONSOLE_ONLY_SECRETS
        elif spec.name == "console":
            withheld = GATEWAY_ONLY_SECRETS
        return {k: v for k, v in self.env.items() if k not in withheld}

    def load_secrets(self) -> None:
        """Every process gets the stack's secrets; what the environment sets wins (an empty
        variable sets nothing: an empty secret is none)."""
        for name, value in local_secrets(self.data_dir).items():
            if not self.env.get(name):
                self.env[name] = value

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
        # This machine's own stack: a browser opens /docs without a token (never /metrics).
        self.env.setdefault("GATEWAY_PUBLIC_DOCS", "true")
        # Plain http on this machine: the console's cookie cannot be Secure-only here.
        self.env.setdefault("CONSOLE_COOKIE_SECURE", "false")
        for spec in self.processes:
            self.env.setdefault(f"{spec.env_prefix}PORT", str(spec.port))
            if spec.name == "gateway":
                self.env.setdefault("CONSOLE_GATEWAY_URL", f"http://127.0.0.1:{spec.port}")
            elif spec.name != "console":
                self.env.setdefault(
                    f"GATEWAY_{spec.name.upper()}_URL", f"http://127.0.0.1:{spec.port}"
                )

    def migrate(self) -> None:
        def run(spec: ProcessSpec) -> tuple[str, int, bytes]:
            done = subprocess.run(
                [sys.executable, "-m", spec.module, "migrate"],
                env=self.env_for(spec),
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
                env=self.env_for(spec),
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
        """The services first, then, once they are ready, the gateway (it merges their OpenAPI
        documents and is ready only when it has them all), then its clients (the console)."""
        start_rank = {"gateway": 1, "console": 2}
        groups = [
            [p for p in self.processes if start_rank.get(p.name, 0) == rank] for rank in range(3)
        ]
        for group in groups:
            for spec in group:
                self.spawn(spec)
            for spec in group:
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
        stack.load_secrets()
        print(f"  secrets              {data_dir / SECRETS_FILE} (generated once, mode 0600)")
        stack.start_servers()
        stack.migrate()
        stack.start_processes()
        gateway = next(p for p in stack.processes if p.name == "gateway")
        print(
            f"\nRiskWatch is up: API http://127.0.0.1:{gateway.port}. Logs in {data_dir / 'logs'}."
            f"\nAPI docs: http://127.0.0.1:{gateway.port}/docs (sign in with 'Authorize'); "
            f"/metrics with the GATEWAY_OPS_TOKEN in {data_dir / SECRETS_FILE}."
        )
        email = os.environ.get("RISKWATCH_ADMIN_EMAIL", "admin@riskwatch.local")
        where = (
            "RISKWATCH_ADMIN_PASSWORD"
            if os.environ.get("RISKWATCH_ADMIN_PASSWORD")
            else f"the RISKWATCH_ADMIN_PASSWORD in {data_dir / SECRETS_FILE}"
        )
        print(
            f"Sign in: POST /v1/auth/token with {email} and {where}; "
            "send the token as 'Authorization: Bearer ...'."
        )
        console = next((p for p in stack.processes if p.name == "console"), None)
        if console is not None:
            print(f"Console (the analysts' web front end): http://127.0.0.1:{console.port}/")
        print("Press Ctrl-C to stop.", flush=True)
        while True:  # a process that exits or stops being alive is restarted
            stack.supervise_once()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping...")
        return 0
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m riskwatch_shared.cli secrets`: a fresh set of every secret, as a .env file."""
    parser = argparse.ArgumentParser(prog="python -m riskwatch_shared.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("secrets", help="print freshly generated secrets as a docker compose .env")
    parser.parse_args(argv)
    sys.stdout.write(format_env_file(generate_secrets(compose=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
