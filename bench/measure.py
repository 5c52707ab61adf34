"""CPU and WAL meters the benchmarks share (Linux /proc, PostgreSQL's own WAL position)."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg

from riskwatch_shared.settings import to_asyncpg_dsn

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process."""
    fields = _stat_fields(pid)
    if fields is None:
        raise ProcessLookupError(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children, the reaped (exited) ones included:
    for PostgreSQL's postmaster, every backend and background worker it ever ran."""
    children: dict[int, list[int]] = {}
    fields_of: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            fields_of[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if (fields := fields_of.get(pid)) is not None:
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        todo.extend(children.get(pid, []))
    return ticks / CLOCK_TICKS


class PostgresMeter:
    """PostgreSQL's CPU (embedded server only: its postmaster's process tree; None on an
    external server, which cannot be measured from here) and the WAL it wrote."""

    def __init__(self, database_url: str, postmaster: int | None) -> None:
        self.database_url = database_url
        self.postmaster = postmaster

    def cpu_seconds(self) -> float | None:
        return None if self.postmaster is None else process_tree_cpu_seconds(self.postmaster)

    async def wal_bytes(self) -> int:
        connection = await asyncpg.connect(to_asyncpg_dsn(self.database_url))
        try:
            return int(
                await connection.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")
            )
        finally:
            await connection.close()

    async def start(self) -> tuple[float | None, int]:
        return self.cpu_seconds(), await self.wal_bytes()

    async def per_item(
        self, started: tuple[float | None, int], items: int
    ) -> tuple[float | None, float]:
        """(PostgreSQL CPU µs, WAL bytes) per item since `started`."""
        cpu_started, wal_started = started
        wal = await self.wal_bytes() - wal_started
        cpu_now = self.cpu_seconds()
        cpu = None if cpu_now is None or cpu_started is None else cpu_now - cpu_started
        return (None if cpu is None else cpu / items * 1e6), wal / items
