"""Transaction anomaly: how far a transaction departs from the customer's own behaviour.

Each signal gives evidence e in [0, 1] (how strongly it fired) times a weight w (how much
a fully fired signal alone should worry us); signals combine as a noisy-OR,
score = 1 - prod(1 - w * e), so independent oddities add up but never pass 1. A reason's
contribution is its own w * e. Novelty signals (new country, device, counterparty, hour)
wait until the customer has `warmup_transactions` of history, when "new" starts to mean
something.
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

ANOMALY_MODEL_VERSION = "anomaly-expert-1"

DEFAULT_WEIGHTS: dict[str, float] = {
    "amount_vs_average": 0.60,
    "amount_zscore": 0.40,
    "velocity_1h": 0.50,
    "new_country": 0.35,
    "high_risk_country": 0.50,
    "new_device": 0.30,
    "new_counterparty": 0.25,
    "unusual_hour": 0.20,
}
# FATF "call for action" jurisdictions; the deployment overrides this list.
DEFAULT_HIGH_RISK_COUNTRIES: tuple[str, ...] = ("IR", "KP", "MM")


def _clamp(value: float) -> float:
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else value


@dataclass(frozen=True, slots=True)
class AnomalyModel:
    model_version: str = ANOMALY_MODEL_VERSION
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    high_risk_countries: tuple[str, ...] = DEFAULT_HIGH_RISK_COUNTRIES
    warmup_transactions: int = 5
    # amount_to_avg_30d at which the signal starts, and where it is fully fired
    ratio_start: float = 3.0
    ratio_full: float = 20.0
    zscore_start: float = 3.0
    zscore_full: float = 8.0
    velocity_start: int = 3
    velocity_full: int = 10
    cutoffs: LevelCutoffs = DEFAULT_CUTOFFS["anomaly"]

    def signals(self, txn: Mapping[str, Any]) -> list[Reason]:
        """The fired signals as reasons, with evidence already weighted."""
        fired: list[tuple[str, float, str, Any]] = []
        warmed_up = int(txn.get("history_count") or 0) >= self.warmup_transactions
        ratio = txn.get("amount_to_avg_30d")
        if ratio is not None and ratio > self.ratio_start:
            evidence = math.log(ratio / self.ratio_start) / math.log(
                self.ratio_full / self.ratio_start
            )
            fired.append(
                ("amount_vs_average", evidence, f"amount {ratio:.0f}x the 30-day average", ratio)
            )
        zscore = txn.get("amount_zscore")
        if zscore is not None and zscore > self.zscore_start:
            evidence = (zscore - self.zscore_start) / (self.zscore_full - self.zscore_start)
            message = f"amount {zscore:.1f} standard deviations above the customer's mean"
            fired.append(("amount_zscore", evidence, message, zscore))
        velocity = int(txn.get("velocity_1h") or 0)
        if velocity > self.velocity_start:
            evidence = (velocity - self.velocity_start) / (self.velocity_full - self.velocity_start)
            message = f"{counted(velocity, 'transaction', 'transactions')} in the last hour"
            fired.append(("velocity_1h", evidence, message, velocity))
        country = txn.get("counterparty_country")
        outbound = txn.get("direction") == "outbound"
        if country in self.high_risk_countries:
            word = "to" if outbound else "from"
            fired.append(
                ("high_risk_country", 1.0, f"payment {word} high-risk country {country}", country)
            )
        if warmed_up:
            fired.extend(self._novelty(txn, country, outbound))
        weighted = (
            Reason(code, message, self.weights.get(code, 0.0) * _clamp(evidence), value)
            for code, evidence, message, value in fired
        )
        return sort_reasons(reason for reason in weighted if reason.contribution > 0)

    def _novelty(
        self, txn: Mapping[str, Any], country: Any, outbound: bool
    ) -> list[tuple[str, float, str, Any]]:
        fired: list[tuple[str, float, str, Any]] = []
        if txn.get("is_new_country"):
            kind = "transfer to" if outbound else "payment from"
            fired.append(("new_country", 1.0, f"first {kind} this country ({country})", country))
        if txn.get("is_new_device"):
            fired.append(("new_device", 1.0, "first transaction from this device", True))
        if txn.get("is_new_counterparty"):
            # A new payee matters more when the amount is large for this customer.
            ratio = txn.get("amount_to_avg_30d")
            evidence = 1.0 if ratio is not None and ratio >= 2.0 else 0.4
            fired.append(
                ("new_counterparty", evidence, "first payment with this counterparty", True)
            )
        if txn.get("unusual_hour"):
            hour = txn.get("hour")
            fired.append(
                ("unusual_hour", 1.0, f"unusual hour for this customer ({hour:02d}:00 UTC)", hour)
            )
        return fired

    def assess(self, txn: Mapping[str, Any]) -> Assessment:
        """Score one transaction's features (`TransactionFeatures.as_dict()`)."""
        reasons = self.signals(txn)
        untouched = 1.0
        for reason in reasons:
            untouched *= 1.0 - reason.contribution
        score = 1.0 - untouched
        return Assessment(
            kind="anomaly",
            score=score,
            level=self.cutoffs.level(score),
            model_version=self.model_version,
            reasons=reasons,
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "model_type": "anomaly",
            "model_version": self.model_version,
            "weights": dict(self.weights),
            "high_risk_countries": list(self.high_risk_countries),
            "warmup_transactions": self.warmup_transactions,
            "ratio_start": self.ratio_start,
            "ratio_full": self.ratio_full,
            "zscore_start": self.zscore_start,
            "zscore_full": self.zscore_full,
            "velocity_start": self.velocity_start,
            "velocity_full": self.velocity_full,
            "cutoffs": self.cutoffs.to_state(),
        }

    def to_json(self) -> str:
        return canonical_json(self.to_state())

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> AnomalyModel:
        fields = {key: value for key, value in state.items() if key != "model_type"}
        fields["high_risk_countries"] = tuple(fields["high_risk_countries"])
        fields["cutoffs"] = LevelCutoffs.from_state(fields["cutoffs"])
        return cls(**fields)
