"""The alert lifecycle as pure logic: allowed and refused transitions, as a state machine."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from riskwatch_alerting.domain.lifecycle import (
    ACTIONS,
    OPEN_STATUSES,
    STATUSES,
    TransitionRefused,
    allowed_actions,
    mitigation_of,
    next_status,
)

ALLOWED = [
    ("new", "acknowledge", "acknowledged"),
    ("acknowledged", "investigate", "investigating"),
    ("new", "investigate", "investigating"),
    ("investigating", "escalate", "escalated"),
    ("escalated", "investigate", "investigating"),
    ("escalated", "resolve", "resolved"),
    ("investigating", "resolve", "resolved"),
    ("new", "resolve", "resolved"),
    ("resolved", "reopen", "investigating"),
    ("investigating", "assign", "investigating"),
    ("resolved", "comment", "resolved"),
    ("acknowledged", "contact", "acknowledged"),
]
REFUSED = [
    ("acknowledged", "acknowledge"),
    ("investigating", "acknowledge"),
    ("resolved", "acknowledge"),
    ("resolved", "investigate"),
    ("resolved", "escalate"),
    ("escalated", "escalate"),
    ("resolved", "resolve"),
    ("new", "reopen"),
    ("investigating", "reopen"),
    ("resolved", "assign"),
    ("resolved", "contact"),
]


@pytest.mark.parametrize(("status", "action", "expected"), ALLOWED)
def test_allowed_transitions(status: str, action: str, expected: str) -> None:
    assert next_status(status, action) == expected
    assert action in allowed_actions(status)


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_refused_transitions(status: str, action: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        next_status(status, action)
    assert refused.value.status == status
    assert action in str(refused.value)
    assert action not in allowed_actions(status)


def test_mitigations() -> None:
    assert mitigation_of("mitigated_account_frozen") == "account_frozen"
    assert mitigation_of("false_positive") is None


class AlertLifecycle(RuleBasedStateMachine):
    """Random action sequences: the status stays valid, resolved is left only by reopen."""

    def __init__(self) -> None:
        super().__init__()
        self.status = "new"
        self.acknowledged = False

    @rule(action=st.sampled_from(ACTIONS))
    def act(self, action: str) -> None:
        before = self.status
        if action in allowed_actions(before):
            self.status = next_status(before, action)
            if before == "resolved":
                assert action in ("reopen", "comment")
            if action in ("assign", "comment", "contact"):
                assert self.status == before
        else:
            with pytest.raises(TransitionRefused):
                next_status(before, action)

    @invariant()
    def status_is_known(self) -> None:
        assert self.status in STATUSES
        assert ("resolve" in allowed_actions(self.status)) == (self.status in OPEN_STATUSES)


TestAlertLifecycle = AlertLifecycle.TestCase
