"""Escalation: who is paged next, and when, until someone acknowledges the alert.

A policy is a chain of levels, each `after_seconds` from the alert being raised. When the
chain is exhausted it starts over (`repeat` more times), one cycle every `cycle_seconds`.
Steps are numbered 0, 1, 2... across cycles; the caller stores how many are done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from riskwatch_notify.domain.models import Channel, Severity

# Bounds of a policy: a level at most a week after the alert, a cycle at most two weeks, a
# hundred repeats. Beyond them a date overflows (or an alert is paged for years).
MAX_LEVEL_DELAY_SECONDS = 7 * 86_400
MAX_CYCLE_SECONDS = 14 * 86_400
MAX_REPEAT = 100
MAX_LEVELS = 20


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    after_seconds: int
    channels: frozenset[Channel]
    team_ids: frozenset[str] = frozenset()
    recipient_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    severity: Severity
    levels: tuple[EscalationLevel, ...]
    repeat: int = 0
    # Length of one pass through the chain; defaults to the last level plus a pause.
    cycle_seconds: int | None = None

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError("an escalation policy needs at least one level")
        offsets = [level.after_seconds for level in self.levels]
        if offsets != sorted(offsets) or offsets[0] < 0:
            raise ValueError("levels must be in non-decreasing after_seconds order, from 0")
        if offsets[-1] > MAX_LEVEL_DELAY_SECONDS:
            raise ValueError(f"after_seconds is at most {MAX_LEVEL_DELAY_SECONDS} (7 days)")
        if len(self.levels) > MAX_LEVELS:
            raise ValueError(f"a policy has at most {MAX_LEVELS} levels")
        if not 0 <= self.repeat <= MAX_REPEAT:
            raise ValueError(f"repeat is between 0 and {MAX_REPEAT}")
        if self.cycle_seconds is not None and self.cycle_seconds <= offsets[-1]:
            raise ValueError("cycle_seconds must exceed the last level's after_seconds")
        if self.cycle_seconds is not None and self.cycle_seconds > MAX_CYCLE_SECONDS:
            raise ValueError(f"cycle_seconds is at most {MAX_CYCLE_SECONDS} (14 days)")

    @property
    def effective_cycle_seconds(self) -> int:
        if self.cycle_seconds is not None:
            return self.cycle_seconds
        last = self.levels[-1].after_seconds
        return last + max(last - self.levels[0].after_seconds, 300)

    @property
    def total_steps(self) -> int:
        return len(self.levels) * (self.repeat + 1)


@dataclass(frozen=True, slots=True)
class EscalationStep:
    step: int  # 0-based across cycles; store step + 1 as `steps_done` once notified
    cycle: int
    level: EscalationLevel
    due_at: datetime
    is_due: bool


def next_escalation(
    policy: EscalationPolicy,
    raised_at: datetime,
    steps_done: int,
    now: datetime,
    *,
    acknowledged_at: datetime | None = None,
) -> EscalationStep | None:
    """The next step after `steps_done` completed ones, or None when nothing remains.

    Acknowledgement cancels every step not yet taken. A step whose time has passed is
    returned with `is_due=True`; a caller that was down calls again after each step and
    so catches up in order.
    """
    if acknowledged_at is not None and acknowledged_at <= now:
        return None
    if steps_done >= policy.total_steps:
        return None
    cycle, level_index = divmod(max(steps_done, 0), len(policy.levels))
    level = policy.levels[level_index]
    offset = cycle * policy.effective_cycle_seconds + level.after_seconds
    due_at = raised_at + timedelta(seconds=offset)
    return EscalationStep(
        step=max(steps_done, 0), cycle=cycle, level=level, due_at=due_at, is_due=due_at <= now
    )


def policy_for(
    policies: Mapping[Severity, EscalationPolicy], severity: Severity
) -> EscalationPolicy | None:
    """The policy for `severity`, falling back to the nearest lower severity that has one."""
    for candidate in sorted(Severity, key=lambda s: s.rank, reverse=True):
        if candidate.rank <= severity.rank and candidate in policies:
            return policies[candidate]
    return None
