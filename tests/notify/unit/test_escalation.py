from datetime import UTC, datetime, timedelta

import pytest

from riskwatch_notify.domain.escalation import (
    EscalationLevel,
    EscalationPolicy,
    next_escalation,
    policy_for,
)
from riskwatch_notify.domain.models import Channel, Severity

RAISED = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)
ON_CALL = EscalationLevel(0, frozenset({Channel.SMS}), recipient_ids=frozenset({"u-oncall"}))
TEAM_LEAD = EscalationLevel(600, frozenset({Channel.SMS}), recipient_ids=frozenset({"u-lead"}))
HEAD_OF_RISK = EscalationLevel(1800, frozenset({Channel.EMAIL}), team_ids=frozenset({"risk"}))
CRITICAL_POLICY = EscalationPolicy(
    Severity.CRITICAL, (ON_CALL, TEAM_LEAD, HEAD_OF_RISK), repeat=1, cycle_seconds=3600
)


def at(seconds: int) -> datetime:
    return RAISED + timedelta(seconds=seconds)


def test_steps_follow_the_levels_then_repeat_the_cycle() -> None:
    due_times = []
    for steps_done in range(CRITICAL_POLICY.total_steps):
        step = next_escalation(CRITICAL_POLICY, RAISED, steps_done, at(10**6))
        assert step is not None
        due_times.append((step.level, step.due_at - RAISED))
    assert due_times == [
        (ON_CALL, timedelta(0)),
        (TEAM_LEAD, timedelta(minutes=10)),
        (HEAD_OF_RISK, timedelta(minutes=30)),
        (ON_CALL, timedelta(hours=1)),
        (TEAM_LEAD, timedelta(hours=1, minutes=10)),
        (HEAD_OF_RISK, timedelta(hours=1, minutes=30)),
    ]
    assert next_escalation(CRITICAL_POLICY, RAISED, 6, at(10**6)) is None


def test_step_is_due_only_once_its_time_has_come() -> None:
    step = next_escalation(CRITICAL_POLICY, RAISED, 1, at(599))
    assert step is not None
    assert not step.is_due
    assert step.due_at == at(600)
    later = next_escalation(CRITICAL_POLICY, RAISED, 1, at(600))
    assert later is not None
    assert later.is_due


def test_acknowledgement_cancels_the_remaining_steps() -> None:
    acknowledged = at(300)
    assert (
        next_escalation(CRITICAL_POLICY, RAISED, 1, at(600), acknowledged_at=acknowledged) is None
    )
    # An acknowledgement stamped in the future (clock skew) does not cancel yet.
    step = next_escalation(CRITICAL_POLICY, RAISED, 1, at(200), acknowledged_at=acknowledged)
    assert step is not None


def test_default_cycle_leaves_a_pause_after_the_last_level() -> None:
    policy = EscalationPolicy(Severity.HIGH, (ON_CALL, TEAM_LEAD), repeat=2)
    assert policy.effective_cycle_seconds == 1200
    step = next_escalation(policy, RAISED, 2, RAISED)
    assert step is not None
    assert (step.cycle, step.due_at) == (1, at(1200))


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="at least one level"):
        EscalationPolicy(Severity.HIGH, ())
    with pytest.raises(ValueError, match="order"):
        EscalationPolicy(Severity.HIGH, (TEAM_LEAD, ON_CALL))
    with pytest.raises(ValueError, match="cycle_seconds"):
        EscalationPolicy(Severity.HIGH, (ON_CALL, TEAM_LEAD), cycle_seconds=600)


def test_policy_for_falls_back_to_the_nearest_lower_severity() -> None:
    high_policy = EscalationPolicy(Severity.HIGH, (ON_CALL,))
    policies = {Severity.HIGH: high_policy, Severity.CRITICAL: CRITICAL_POLICY}
    assert policy_for(policies, Severity.CRITICAL) is CRITICAL_POLICY
    assert policy_for(policies, Severity.HIGH) is high_policy
    assert policy_for(policies, Severity.MEDIUM) is None
