"""Backtest jobs (pure): their states, how far along one is, and the caps on how many run.

A job is `queued`, then `running` under one runner's lease, then finished: `succeeded`,
`failed`, `cancelled` or `timed_out`. Only queued and running jobs count against the caps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]
QUEUED: JobStatus = "queued"
RUNNING: JobStatus = "running"
SUCCEEDED: JobStatus = "succeeded"
FAILED: JobStatus = "failed"
CANCELLED: JobStatus = "cancelled"
TIMED_OUT: JobStatus = "timed_out"
UNFINISHED: frozenset[str] = frozenset({QUEUED, RUNNING})
FINISHED: frozenset[str] = frozenset({SUCCEEDED, FAILED, CANCELLED, TIMED_OUT})


def is_finished(status: str) -> bool:
    return status in FINISHED


def progress_of(
    status: str, *, replay_from: datetime, end: datetime, replayed_until: datetime | None
) -> float:
    """How far through its history (warm-up included) a job is, 0..1 by event time: the
    history's spread over time is not known before it is read, its time range is."""
    if status == SUCCEEDED:
        return 1.0
    if replayed_until is None or end <= replay_from:
        return 0.0
    done = (replayed_until - replay_from) / (end - replay_from)
    return round(min(max(done, 0.0), 1.0), 4)


@dataclass(frozen=True)
class JobCaps:
    per_install: int
    per_user: int


CapExceeded = Literal["install", "user"]


def cap_exceeded(caps: JobCaps, *, unfinished: int, unfinished_of_user: int) -> CapExceeded | None:
    """Which cap one more job would break, if any (the user's is reported first: it is the
    one its caller can do something about)."""
    if unfinished_of_user >= caps.per_user:
        return "user"
    if unfinished >= caps.per_install:
        return "install"
    return None


def duty_pause(busy_seconds: float, cpu_share: float) -> float:
    """The pause after `busy_seconds` of work that keeps a replay at `cpu_share` of a core."""
    if cpu_share >= 1.0 or busy_seconds <= 0.0:
        return 0.0
    return busy_seconds * (1.0 / cpu_share - 1.0)
