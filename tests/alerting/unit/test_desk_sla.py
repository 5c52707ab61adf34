"""The SLA badge (pure): ok, amber in the last quarter of the window, red once due or when
closed late; and who `me` is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from riskwatch_alerting.domain.desk import amber_from, assignee_of, identities_of, sla_state
from riskwatch_shared.security import Identity

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = START + timedelta(hours=4)


def test_badges_across_the_window() -> None:
    def state(now: datetime, closed: datetime | None = None) -> str:
        return sla_state(started_at=START, due_at=DUE, closed_at=closed, now=now)

    assert state(START) == "ok"
    assert state(START + timedelta(hours=2, minutes=59)) == "ok"
    assert state(START + timedelta(hours=3)) == "amber"
    assert state(DUE - timedelta(seconds=1)) == "amber"
    assert state(DUE) == "red"
    # Closed: the verdict of its SLA, whenever asked.
    assert state(DUE + timedelta(days=9), closed=DUE - timedelta(minutes=1)) == "ok"
    assert state(START, closed=DUE + timedelta(minutes=1)) == "red"


@given(
    window=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30)),
    elapsed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
)
def test_an_open_badge_only_worsens_with_time(window: timedelta, elapsed: timedelta) -> None:
    due = START + window
    rank = {"ok": 0, "amber": 1, "red": 2}
    now = START + elapsed
    earlier = sla_state(started_at=START, due_at=due, closed_at=None, now=now)
    later = sla_state(started_at=START, due_at=due, closed_at=None, now=now + window / 10)
    assert rank[later] >= rank[earlier]
    assert START <= amber_from(START, due) <= due


def test_me_is_the_staff_id_or_the_subject() -> None:
    alice = Identity(subject="u-1", roles=("analyst",), staff_id="alice")
    bob = Identity(subject="u-2", roles=("analyst",))
    assert identities_of(alice) == ("u-1", "alice")
    assert identities_of(bob) == ("u-2",)
    assert assignee_of(alice, "me") == "alice"
    assert assignee_of(bob, "me") == "u-2"
    assert assignee_of(bob, "carol") == "carol"
