"""Churn: the probability a customer is leaving, from recency, trends, outflows and complaints.

An expert logistic model: logit = intercept + sum(weight * signal), each signal a
transformed customer feature that is 0 for a settled customer (so the intercept alone,
-3.0, is a 4.7% baseline). A reason's contribution is its weight * signal in logit units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from riskwatch_scoring.domain.assessment import Assessment, Reason, sort_reasons
from riskwatch_scoring.domain.canonical import canonical_json
from riskwatch_scoring.domain.levels import DEFAULT_CUTOFFS, LevelCutoffs
from riskwatch_scoring.domain.wording import counted

CHURN_MODEL_VERSION = "churn-expert-1"

DEFAULT_CHURN_WEIGHTS: dict[str, float] = {
    "inactivity": 0.60,  # per 30 days without a transaction, capped at 180 days
    "activity_decline": 1.50,  # per unit of fall in activity_trend_90d (0..1)
    "value_decline": 1.00,  # per unit of fall in the amount trend (0..1)
    "balance_decline": 1.00,  # per unit of fall in balance_trend_90d (0..1)
    "outflow_excess": 1.20,  # per unit of outflow share above 50% (0..1)
    "complaints": 0.50,  # per complaint in 90 days, capped at 5
    "dormant_accounts": 0.40,  # per dormant account, capped at 5
}


def _number(features: Mapping[str, Any], name: str) -> float | None:
    value = features.get(name)
    return None if value is None else float(value)


def _decline_pct(trend: float) -> float:
    """Per-day fall, in %, of the last 30 days against the 60 before, from a trend in [-1, 0]."""
    recent_over_prior = (1.0 + trend) / (1.0 - trend) if trend > -1.0 else 0.0
    return (1.0 - recent_over_prior) * 100


@dataclass(frozen=True, slots=True)
class ChurnModel:
    model_version: str = CHURN_MODEL_VERSION
    intercept: float = -3.0
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CHURN_WEIGHTS))
    cutoffs: LevelCutoffs = DEFAULT_CUTOFFS["churn"]

    def signals(self, features: Mapping[str, Any]) -> list[tuple[str, float, str, Any]]:
        fired: list[tuple[str, float, str, Any]] = []
        idle_days = _number(features, "days_since_last_activity")
        if idle_days is not None and idle_days >= 1:
            fired.append(
                (
                    "inactivity",
                    min(idle_days, 180) / 30,
                    f"no transactions for {idle_days:.0f} days",
                    idle_days,
                )
            )
        for code, trend, label in (
            ("activity_decline", _number(features, "activity_trend_90d"), "transactions per day"),
            ("value_decline", self._value_trend(features), "amounts per day"),
            ("balance_decline", _number(features, "balance_trend_90d"), "net inflow per day"),
        ):
            if trend is not None and trend < 0:
                message = f"{label} down {_decline_pct(trend):.0f}% against the previous 60 days"
                fired.append((code, -trend, message, trend))
        outflow_ratio = _number(features, "outflow_ratio_30d")
        if outflow_ratio is not None and outflow_ratio > 0.5:
            message = f"outflows are {outflow_ratio:.0%} of 30-day turnover"
            fired.append(("outflow_excess", (outflow_ratio - 0.5) * 2, message, outflow_ratio))
        complaints = int(features.get("complaints_90d") or 0)
        if complaints:
            fired.append(
                (
                    "complaints",
                    min(complaints, 5),
                    f"{counted(complaints, 'complaint', 'complaints')} in 90 days",
                    complaints,
                )
            )
        dormant = int(features.get("dormant_accounts") or 0)
        if dormant:
            message = counted(dormant, "dormant account", "dormant accounts")
            fired.append(("dormant_accounts", min(dormant, 5), message, dormant))
        return fired

    @staticmethod
    def _value_trend(features: Mapping[str, Any]) -> float | None:
        recent, whole = _number(features, "amount_sum_30d"), _number(features, "amount_sum_90d")
        if recent is None or whole is None:
            return None
        recent_per_day, prior_per_day = recent / 30, (whole - recent) / 60
        scale = recent_per_day + prior_per_day
        return 0.0 if scale == 0 else (recent_per_day - prior_per_day) / scale

    def assess(self, features: Mapping[str, Any]) -> Assessment:
        """Score customer features (`CustomerFeatures.as_dict()`)."""
        reasons = [
            Reason(code, message, self.weights.get(code, 0.0) * signal, value)
            for code, signal, message, value in self.signals(features)
        ]
        logit = self.intercept + sum(reason.contribution for reason in reasons)
        probability = 1.0 / (1.0 + math.exp(-logit))
        return Assessment(
            kind="churn",
            score=probability,
            level=self.cutoffs.level(probability),
            model_version=self.model_version,
            reasons=sort_reasons(reason for reason in reasons if reason.contribution > 0),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "model_type": "churn",
            "model_version": self.model_version,
            "intercept": self.intercept,
            "weights": dict(self.weights),
            "cutoffs": self.cutoffs.to_state(),
        }

    def to_json(self) -> str:
        return canonical_json(self.to_state())

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ChurnModel:
        return cls(
            model_version=state["model_version"],
            intercept=float(state["intercept"]),
            weights={code: float(weight) for code, weight in state["weights"].items()},
            cutoffs=LevelCutoffs.from_state(state["cutoffs"]),
        )
