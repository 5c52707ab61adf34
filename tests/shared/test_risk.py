"""The kit's one risk scale (issue 19): every service ranks low < medium < high < critical the
same way."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riskwatch_shared.risk import LEVEL_RANK, RISK_LEVELS, RiskLevel, highest


def test_the_scale_is_ordered() -> None:
    assert [level.rank for level in RiskLevel] == [0, 1, 2, 3]
    assert [RiskLevel(word) for word in RISK_LEVELS] == list(RiskLevel)
    assert LEVEL_RANK == {"low": 0, "medium": 1, "high": 2, "critical": 3}
    assert RiskLevel.HIGH.at_least(RiskLevel.MEDIUM)
    assert not RiskLevel.LOW.at_least(RiskLevel.MEDIUM)


@given(st.lists(st.sampled_from(RISK_LEVELS)))
def test_highest_is_the_highest_rank(levels: list[str]) -> None:
    top = highest(levels)
    assert all(top.rank >= LEVEL_RANK[level] for level in levels)
    assert top == (max(levels, key=LEVEL_RANK.__getitem__) if levels else RiskLevel.LOW)


def test_a_word_off_the_scale_ranks_as_medium() -> None:
    assert highest(["low", "severe"]) == RiskLevel.MEDIUM
    assert highest(["severe", "high"]) == RiskLevel.HIGH
