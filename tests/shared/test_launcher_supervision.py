"""`riskwatch run`'s launcher restarts a process that exits or whose liveness fails."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from riskwatch_shared import cli
from riskwatch_shared.embedded import free_port


def _supervise_until(stack: cli.Stack, name: str, restarts: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while stack.supervised[name].restarts < restarts or stack.supervised[name].restart_at:
        assert time.monotonic() < deadline, f"{name}: {stack.supervised[name]}"
        stack.supervise_once()
        time.sleep(0.05)


def test_a_process_that_exits_is_started_again(tmp_path: Path) -> None:
    # `python -m http.server serve` exits at once: "serve" is not a port.
    spec = cli.ProcessSpec("flaky", "http.server", free_port(), migrates=False)
    stack = cli.Stack(tmp_path, [spec])
    first = stack.spawn(spec)
    try:
        first.wait(timeout=10)
        _supervise_until(stack, "flaky", 2)
        assert stack.children["flaky"].pid != first.pid
    finally:
        stack.stop()


def test_a_process_whose_liveness_fails_is_killed_and_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "STARTUP_GRACE", 0.5)
    monkeypatch.setattr(cli, "LIVENESS_PERIOD", 0.1)
    port = free_port()
    # Serves, but /healthz answers 404: running yet not alive (a stuck service looks the same).
    command = (str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path))
    spec = cli.ProcessSpec("stuck", "http.server", port, migrates=False, command=command)
    stack = cli.Stack(tmp_path, [spec])
    first = stack.spawn(spec)
    try:
        cli.wait_ready(f"http://127.0.0.1:{port}/", timeout=10, proc=first)
        _supervise_until(stack, "stuck", 1)
        assert first.poll() is not None  # killed
        assert stack.children["stuck"].poll() is None  # its successor runs
    finally:
        stack.stop()
