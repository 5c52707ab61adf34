"""Lead time of the credit early warning on the simulated bank: per indicator of the catalogue
(`GET /v1/warnings/catalogue`), the days from the customer's first AMBER or RED of it (event
time, kept by alerting after the indicator clears) to the customer's default (the label's
`outcome_at`), median over the defaulted customers the indicator warned of.

`lead_times` and `render` are pure; `fetch_warnings` asks the gateway, one defaulted customer
at a time (`GET /v1/warnings?customer_id=&include_cleared=true`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from riskwatch_simulator.bank import Label

ANY_INDICATOR = "any indicator"


class JsonClient(Protocol):
    async def get_json(self, path: str, **params: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class FirstWarning:
    indicator: str
    first_amber_at: datetime | None
    first_red_at: datetime | None

    @property
    def first_at(self) -> datetime | None:
        moments = [m for m in (self.first_amber_at, self.first_red_at) if m is not None]
        return min(moments, default=None)


@dataclass(slots=True)
class IndicatorLead:
    indicator: str
    name: str = ""
    # Days from the first warning to the default, per defaulted customer it warned of.
    days: list[float] = field(default_factory=list)
    red_days: list[float] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.days) if self.days else None

    @property
    def red_median(self) -> float | None:
        return statistics.median(self.red_days) if self.red_days else None


@dataclass(slots=True)
class LeadTimeReport:
    defaults: int = 0
    indicators: list[IndicatorLead] = field(default_factory=list)

    def render(self) -> str:
        if not self.defaults:
            return "credit early warning: no simulated default to measure a lead time on"
        lines = [
            f"credit early warning, lead time to default ({self.defaults} defaults; "
            "days from the first amber/red, event time):",
            "| indicator | defaults warned | median days (any level) | median days (red) |",
            "|---|---:|---:|---:|",
        ]
        for lead in self.indicators:
            median = "-" if lead.median is None else f"{lead.median:,.1f}"
            red = "-" if lead.red_median is None else f"{lead.red_median:,.1f}"
            label = lead.name or lead.indicator
            lines.append(f"| {label} | {len(lead.days)} | {median} | {red} |")
        return "\n".join(lines)


def parse_warnings(items: Iterable[Mapping[str, Any]]) -> list[FirstWarning]:
    def moment(value: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(str(value))

    return [
        FirstWarning(
            str(item["indicator"]),
            moment(item.get("first_amber_at")),
            moment(item.get("first_red_at")),
        )
        for item in items
    ]


def lead_times(
    defaults: Sequence[tuple[str, datetime]],
    warnings: Mapping[str, Sequence[FirstWarning]],
    names: Mapping[str, str],
) -> LeadTimeReport:
    """defaults: (service customer id, when it defaulted); warnings: customer id -> its
    indicators' first warnings; names: indicator key -> name (the catalogue's order)."""
    leads = {key: IndicatorLead(key, name) for key, name in names.items()}
    overall = IndicatorLead(ANY_INDICATOR, ANY_INDICATOR)
    for customer_id, defaulted_at in defaults:
        firsts: list[datetime] = []
        reds: list[datetime] = []
        for warning in warnings.get(customer_id, ()):
            first = warning.first_at
            if first is None or first > defaulted_at:
                continue  # a warning after the default is no early warning
            lead = leads.setdefault(warning.indicator, IndicatorLead(warning.indicator))
            lead.days.append((defaulted_at - first).total_seconds() / 86_400)
            firsts.append(first)
            red = warning.first_red_at
            if red is not None and red <= defaulted_at:
                lead.red_days.append((defaulted_at - red).total_seconds() / 86_400)
                reds.append(red)
        if firsts:
            overall.days.append((defaulted_at - min(firsts)).total_seconds() / 86_400)
        if reds:
            overall.red_days.append((defaulted_at - min(reds)).total_seconds() / 86_400)
    return LeadTimeReport(len(defaults), [*leads.values(), overall])


def defaulted(
    labels: Iterable[Label], customer_ids: Mapping[str, str]
) -> list[tuple[str, datetime]]:
    """(service customer id, default time) of every credit label that ended in default."""
    return [
        (customer_ids[label.customer_external_id], label.outcome_at)
        for label in labels
        if label.pattern == "credit_deterioration"
        and label.outcome
        and label.outcome_at is not None
        and label.customer_external_id in customer_ids
    ]


async def fetch_lead_times(
    client: JsonClient, labels: Iterable[Label], customer_ids: Mapping[str, str]
) -> LeadTimeReport:
    catalogue = await client.get_json("/v1/warnings/catalogue")
    names = {item["key"]: item["name"] for item in catalogue["indicators"]}
    defaults = defaulted(labels, customer_ids)
    warnings: dict[str, list[FirstWarning]] = {}
    for customer_id, _ in defaults:
        page = await client.get_json(
            "/v1/warnings", customer_id=customer_id, include_cleared="true", limit=100
        )
        warnings[customer_id] = parse_warnings(page["items"])
    return lead_times(defaults, warnings, names)
