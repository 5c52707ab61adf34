"""The one risk scale: low < medium < high < critical. Pure.

Scoring's risk levels, alert and case severities, case priorities and notify's minimum
severities are all this scale, ordered by `rank`. `RiskLevelName` is the same four words as a
`Literal`, for request and response schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

RiskLevelName = Literal["low", "medium", "high", "critical"]


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.value]

    def at_least(self, minimum: RiskLevel) -> bool:
        return self.rank >= minimum.rank


RISK_LEVELS: tuple[RiskLevelName, ...] = ("low", "medium", "high", "critical")
# By the word, so a plain string ranks too (a rule's literal, a stored column).
LEVEL_RANK: dict[str, int] = {level: rank for rank, level in enumerate(RISK_LEVELS)}


def highest(levels: Iterable[str], *, default: RiskLevel = RiskLevel.LOW) -> RiskLevel:
    """The highest of the levels (a word off the scale ranks as medium); `default` for none."""
    ranked = [RiskLevel(level) if level in LEVEL_RANK else RiskLevel.MEDIUM for level in levels]
    return max(ranked, key=lambda level: level.rank, default=default)
