"""What one `riskwatch simulate` run does (its command-line options)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    gateway: str
    customers: int = 200
    days: int = 365
    seed: int = 1
    rate: float | None = 2_000.0
    batch_size: int = 500
    concurrency: int = 2
    # The pusher waits for the payments in flight once per window of the bank's time.
    window_hours: float = 24.0
    admin_email: str = "admin@riskwatch.local"
    admin_password: str = ""
    setup_rules: bool = True
    post_labels: bool = True
    live_seconds: float = 0.0
    settle_seconds: float = 20.0
    now: datetime | None = None
    # Replay the bank generated for `now` this many days later under new identities (the
    # replay test: a bank of the past and the same bank today raise the same alerts).
    shift_days: int = 0
    attempts: int = 8
    # The harder bank (issue 22): realistic prevalence, subtle forms, everyday noise.
    hard: bool = False
