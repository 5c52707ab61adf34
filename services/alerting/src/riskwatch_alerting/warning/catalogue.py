"""The credit early-warning indicator catalogue and its evaluation (pure: no I/O).

After EBA GL/2020/06 (loan origination and monitoring, section 8.3: early-warning indicators
for the credit monitoring of consumers) and the signal lists central banks publish for it:
falling income, early arrears, a rising debt service, a creeping utilisation, a worse bureau
score, returned payments, delinquency reported by other lenders, fewer inflows into the
current account.

Each indicator reads one or more *metrics* of the customer's features (the names scoring
publishes, see `riskwatch_scoring.domain.features`) and has AMBER and RED trigger levels of
three kinds:

- `absolute`: the metric against a fixed level (12 days past due);
- `change`: the metric is itself a change over time (inflows of the last 30 days against the
  monthly average of the 60 before, the bureau score against the previous report);
- `segment`: the metric against the customer's segment, as a percentile of the portfolio
  (the top 10% instalment-to-income of the retail segment); see `baselines.py`.

An indicator's level is the worst of its triggers; its evidence names each trigger that held
(metric, value, threshold, level). `transition` turns the last level of an indicator and a
new evaluation into what changed (raised, escalated, eased, cleared) and since when.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Level = Literal["amber", "red"]
TriggerKind = Literal["absolute", "change", "segment"]
Direction = Literal["above", "below"]
Change = Literal["raised", "escalated", "eased", "cleared", "unchanged"]

LEVEL_RANK: dict[str | None, int] = {None: 0, "amber": 1, "red": 2}
# A segment baseline speaks only once enough of the segment's customers have the metric.
MIN_SEGMENT_POPULATION = 30


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def pct_change(recent: float | None, prior: float | None) -> float | None:
    """(recent - prior) / prior in %, None when there is no prior to compare with."""
    if recent is None or prior is None or prior <= 0:
        return None
    return (recent - prior) / prior * 100


def _monthly_change(features: Mapping[str, Any], name_30d: str, name_90d: str) -> float | None:
    """The last 30 days against the monthly average of the 60 days before, in %."""
    recent, total = _number(features.get(name_30d)), _number(features.get(name_90d))
    if recent is None or total is None:
        return None
    return pct_change(recent, (total - recent) / 2)


def _feature(name: str) -> Callable[[Mapping[str, Any]], float | None]:
    def read(features: Mapping[str, Any]) -> float | None:
        return _number(features.get(name))

    read.__name__ = name
    return read


def _income_change(features: Mapping[str, Any]) -> float | None:
    """Money coming in: the inflows' monthly change, else the declared income's change."""
    inflow = _monthly_change(features, "inflow_sum_30d", "inflow_sum_90d")
    return inflow if inflow is not None else _number(features.get("income_change_pct"))


# Fewer inflows speaks for an account with some: at least this many a month before.
MIN_MONTHLY_INFLOWS = 3.0


def _inflow_count_change(features: Mapping[str, Any]) -> float | None:
    recent, total = (
        _number(features.get("inflow_count_30d")),
        _number(features.get("inflow_count_90d")),
    )
    if recent is None or total is None or (total - recent) / 2 < MIN_MONTHLY_INFLOWS:
        return None
    return pct_change(recent, (total - recent) / 2)


def _early_arrears(features: Mapping[str, Any]) -> float | None:
    return _number(features.get("days_past_due"))


# Metrics an indicator may read, by name (the names evidence and baselines use).
METRICS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {
    "income_change_3m_pct": _income_change,
    "days_past_due": _early_arrears,
    "instalment_to_income": _feature("instalment_to_income"),
    "instalment_to_income_change": _feature("instalment_to_income_change"),
    "utilisation": _feature("utilisation"),
    "utilisation_change": _feature("utilisation_change"),
    "bureau_score": _feature("bureau_score"),
    "bureau_score_change": _feature("bureau_score_change"),
    "returned_payments_90d": _feature("returned_payments_90d"),
    "external_delinquency_days": _feature("external_delinquency_days"),
    "inflow_count_change_3m_pct": _inflow_count_change,
}


# Change metrics: the value of no change.
NEUTRAL: dict[str, float] = {
    "income_change_3m_pct": 0.0,
    "inflow_count_change_3m_pct": 0.0,
    "instalment_to_income_change": 0.0,
    "utilisation_change": 0.0,
    "bureau_score_change": 0.0,
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """AMBER and RED levels of one metric. For `segment`, the levels are percentiles of the
    customer's segment (`above`: at or over the segment's p-th percentile; `below`: at or
    under it)."""

    kind: TriggerKind
    metric: str
    direction: Direction
    amber: float
    red: float
    # Segment triggers: the least the metric must reach besides the segment's tail (a
    # percentile flags a share of the portfolio by construction; the floor keeps it to
    # customers whose value is material in itself).
    floor: float | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}")
        if self.kind == "segment" and not (0 < self.amber < 100 and 0 < self.red < 100):
            raise ValueError("segment levels are percentiles between 0 and 100")
        # Red is the farther value (for a segment: the farther tail).
        worse = self.red >= self.amber if self.direction == "above" else self.red <= self.amber
        if not worse:
            raise ValueError(f"{self.metric}: red must be beyond amber")


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    name: str
    description: str
    triggers: tuple[Trigger, ...]
    required_actions: tuple[str, ...]
    exit_criteria: str


@dataclass(frozen=True, slots=True)
class TriggerHit:
    """One trigger that held: what was measured, against what, at which level."""

    kind: TriggerKind
    metric: str
    value: float
    threshold: float
    direction: Direction
    level: Level
    percentile: float | None = None  # segment triggers: the percentile the threshold is

    def describe(self) -> str:
        sign = ">=" if self.direction == "above" else "<="
        against = (
            f"segment p{self.percentile:g} {self.threshold:g}"
            if self.percentile is not None
            else f"{self.threshold:g}"
        )
        return f"{self.metric} {self.value:.4g} {sign} {against} ({self.kind}, {self.level})"

    def sentence(self) -> str:
        """The trigger in words: "utilisation 0.9867, at or above 0.95"."""
        bound = "at or above" if self.direction == "above" else "at or below"
        against = (
            f"the segment's {self.percentile:g}th percentile ({self.threshold:g})"
            if self.percentile is not None
            else f"{self.threshold:g}"
        )
        return f"{self.metric.replace('_', ' ')} {self.value:.4g}, {bound} {against}"

    def as_evidence(self) -> dict[str, Any]:
        evidence: dict[str, Any] = {
            "kind": self.kind,
            "metric": self.metric,
            "value": round(self.value, 6),
            "threshold": round(self.threshold, 6),
            "direction": self.direction,
            "level": self.level,
        }
        if self.percentile is not None:
            evidence["segment_percentile"] = self.percentile
        return evidence


@dataclass(frozen=True, slots=True)
class Signal:
    """An indicator at AMBER or RED, with every trigger that held (worst first)."""

    indicator: str
    level: Level
    hits: tuple[TriggerHit, ...]

    def describe(self) -> str:
        return "; ".join(hit.describe() for hit in self.hits)


# {segment: {metric: {percentile: value}}} and the population behind each metric.
@dataclass(frozen=True, slots=True)
class SegmentBaseline:
    population: int
    percentiles: Mapping[float, float]


Baselines = Mapping[str, Mapping[str, SegmentBaseline]]

_PAYROLL = "Three consecutive months of inflows back at their earlier level"
CATALOGUE: tuple[Indicator, ...] = (
    Indicator(
        key="income_falling",
        name="Income or payroll inflow falling over 3 months",
        description=(
            "Inflows of the last 30 days against the monthly average of the 60 days before "
            "(the declared income's change when there are no inflows to compare)."
        ),
        triggers=(
            Trigger("change", "income_change_3m_pct", "below", amber=-40, red=-70),
            Trigger("segment", "income_change_3m_pct", "below", amber=5, red=1, floor=-25),
        ),
        required_actions=(
            "Ask the customer about a change of employer or income",
            "Check the affordability of the current instalments",
        ),
        exit_criteria=_PAYROLL,
    ),
    Indicator(
        key="early_arrears",
        name="Early arrears (1-30 days past due)",
        description="Days past due on the bank's own credit (internal credit record).",
        triggers=(Trigger("absolute", "days_past_due", "above", amber=1, red=30),),
        required_actions=(
            "Contact the customer within 5 working days",
            "Offer a payment plan or forbearance assessment",
        ),
        exit_criteria="No days past due on two consecutive monthly records",
    ),
    Indicator(
        key="instalment_to_income_rising",
        name="Rising instalment-to-income",
        description="Monthly instalments over monthly income, its level and its rise.",
        triggers=(
            Trigger("absolute", "instalment_to_income", "above", amber=0.40, red=0.55),
            Trigger("change", "instalment_to_income_change", "above", amber=0.10, red=0.20),
            Trigger("segment", "instalment_to_income", "above", amber=95, red=99, floor=0.30),
        ),
        required_actions=(
            "Review the repayment capacity with a fresh income statement",
            "Consider restructuring before arrears appear",
        ),
        exit_criteria="Instalment-to-income back under 40% on two consecutive records",
    ),
    Indicator(
        key="utilisation_creeping",
        name="Utilisation creeping up",
        description="Credit line utilisation, its level and its rise since the last record.",
        triggers=(
            Trigger("absolute", "utilisation", "above", amber=0.85, red=0.95),
            Trigger("change", "utilisation_change", "above", amber=0.15, red=0.30),
            Trigger("segment", "utilisation", "above", amber=95, red=99, floor=0.60),
        ),
        required_actions=(
            "Review the credit limit and recent drawings",
            "Ask the customer about liquidity needs",
        ),
        exit_criteria="Utilisation under 85% and falling on two consecutive records",
    ),
    Indicator(
        key="bureau_score_drop",
        name="Bureau score drop",
        description="The credit bureau score against its previous report and the segment.",
        triggers=(
            Trigger("change", "bureau_score_change", "below", amber=-30, red=-60),
            Trigger("segment", "bureau_score", "below", amber=5, red=1, floor=600),
        ),
        required_actions=(
            "Obtain the full bureau report",
            "Check for new credit taken elsewhere",
        ),
        exit_criteria="Bureau score stable or rising on the next two reports",
    ),
    Indicator(
        key="returned_payments",
        name="Returned payments",
        description="Outgoing payments failed or reversed in the last 90 days.",
        triggers=(Trigger("absolute", "returned_payments_90d", "above", amber=1, red=3),),
        required_actions=(
            "Check the account's balance and standing orders",
            "Contact the customer about the returned payments",
        ),
        exit_criteria="No returned payment for 90 days",
    ),
    Indicator(
        key="delinquency_elsewhere",
        name="Delinquency reported elsewhere",
        description="The worst delinquency other lenders report to the bureau, in days.",
        triggers=(Trigger("absolute", "external_delinquency_days", "above", amber=30, red=60),),
        required_actions=(
            "Obtain the bureau report and the other lenders' positions",
            "Assess the total debt service",
        ),
        exit_criteria="No delinquency reported by other lenders on the next bureau report",
    ),
    Indicator(
        key="fewer_inflows",
        name="Fewer inflows into the current account",
        description=(
            "Number of incoming payments in the last 30 days against the monthly average "
            "of the 60 days before."
        ),
        triggers=(
            Trigger("change", "inflow_count_change_3m_pct", "below", amber=-50, red=-80),
            Trigger("segment", "inflow_count_change_3m_pct", "below", amber=5, red=1, floor=-30),
        ),
        required_actions=(
            "Ask whether the salary or business income moved to another bank",
            "Review the current account's standing orders",
        ),
        exit_criteria=_PAYROLL,
    ),
)
INDICATORS: dict[str, Indicator] = {indicator.key: indicator for indicator in CATALOGUE}
SEGMENT_METRICS: tuple[str, ...] = tuple(
    dict.fromkeys(t.metric for i in CATALOGUE for t in i.triggers if t.kind == "segment")
)


def metric_values(features: Mapping[str, Any]) -> dict[str, float]:
    """Every metric the features give (those that are missing are left out)."""
    values = {}
    for name, read in METRICS.items():
        value = read(features)
        if value is not None:
            values[name] = value
    return values


def _beyond(value: float, threshold: float, direction: Direction) -> bool:
    return value >= threshold if direction == "above" else value <= threshold


def _strictly_beyond(value: float, threshold: float, direction: Direction) -> bool:
    return value > threshold if direction == "above" else value < threshold


def _segment_threshold(
    trigger: Trigger, level: Level, baseline: SegmentBaseline | None
) -> float | None:
    if baseline is None or baseline.population < MIN_SEGMENT_POPULATION:
        return None
    found = baseline.percentiles.get(trigger.amber if level == "amber" else trigger.red)
    if found is None or trigger.floor is None:
        return found
    # The farther of the segment's tail and the floor.
    return max(found, trigger.floor) if trigger.direction == "above" else min(found, trigger.floor)


def evaluate_trigger(
    trigger: Trigger, metrics: Mapping[str, float], baseline: SegmentBaseline | None = None
) -> TriggerHit | None:
    """The trigger's worst level that holds, or None (also when its metric is missing, or a
    segment trigger has no baseline with enough customers)."""
    value = metrics.get(trigger.metric)
    if value is None:
        return None
    level: Level
    for level in ("red", "amber"):
        if trigger.kind == "segment":
            threshold = _segment_threshold(trigger, level, baseline)
            percentile = trigger.red if level == "red" else trigger.amber
            # A change metric's segment tail warns only when the customer's own change is a
            # move the wrong way (no change is no warning, however many peers rose).
            neutral = NEUTRAL.get(trigger.metric)
            if (
                threshold is not None
                and _beyond(value, threshold, trigger.direction)
                and (neutral is None or _strictly_beyond(value, neutral, trigger.direction))
            ):
                return TriggerHit(
                    trigger.kind,
                    trigger.metric,
                    value,
                    threshold,
                    trigger.direction,
                    level,
                    percentile,
                )
            continue
        threshold = trigger.red if level == "red" else trigger.amber
        if _beyond(value, threshold, trigger.direction):
            return TriggerHit(
                trigger.kind, trigger.metric, value, threshold, trigger.direction, level
            )
    return None


def evaluate_indicator(
    indicator: Indicator,
    metrics: Mapping[str, float],
    segment_baselines: Mapping[str, SegmentBaseline] | None = None,
) -> Signal | None:
    hits = []
    for trigger in indicator.triggers:
        baseline = None if segment_baselines is None else segment_baselines.get(trigger.metric)
        hit = evaluate_trigger(trigger, metrics, baseline)
        if hit is not None:
            hits.append(hit)
    if not hits:
        return None
    hits.sort(key=lambda hit: -LEVEL_RANK[hit.level])
    return Signal(indicator.key, hits[0].level, tuple(hits))


def evaluate(
    features: Mapping[str, Any],
    baselines: Baselines | None = None,
    segment: str | None = None,
    catalogue: tuple[Indicator, ...] = CATALOGUE,
) -> dict[str, Signal]:
    """Every indicator at AMBER or RED for these features, by indicator key."""
    metrics = metric_values(features)
    segment_baselines = None if baselines is None or segment is None else baselines.get(segment)
    signals = {}
    for indicator in catalogue:
        signal = evaluate_indicator(indicator, metrics, segment_baselines)
        if signal is not None:
            signals[indicator.key] = signal
    return signals


@dataclass(frozen=True, slots=True)
class IndicatorState:
    """What is remembered of one indicator of one customer between evaluations."""

    level: Level | None
    since: datetime | None  # when the current level started
    first_amber_at: datetime | None = None
    first_red_at: datetime | None = None
    value: float | None = None
    detail: tuple[dict[str, Any], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Transition:
    change: Change
    state: IndicatorState
    previous_level: Level | None


def transition(previous: IndicatorState | None, signal: Signal | None, at: datetime) -> Transition:
    """The indicator's new state after an evaluation at `at` (event time)."""
    before: Level | None = None if previous is None else previous.level
    after: Level | None = None if signal is None else signal.level
    first_amber = None if previous is None else previous.first_amber_at
    first_red = None if previous is None else previous.first_red_at
    if after is not None and first_amber is None:
        first_amber = at  # a red is also past amber
    if after == "red" and first_red is None:
        first_red = at
    if before == after:
        change: Change = "unchanged"
        since = None if previous is None else previous.since
    elif after is None:
        change, since = "cleared", at
    elif before is None:
        change, since = "raised", at
    elif LEVEL_RANK[after] > LEVEL_RANK[before]:
        change, since = "escalated", at
    else:
        change, since = "eased", at
    state = IndicatorState(
        level=after,
        since=since if after is not None else None,
        first_amber_at=first_amber,
        first_red_at=first_red,
        value=None if signal is None else signal.hits[0].value,
        detail=() if signal is None else tuple(hit.as_evidence() for hit in signal.hits),
    )
    return Transition(change, state, before)
