"""The rules studio's pure parts: a rule's form into an API body, the differences between two
versions (difflib, field by field), a message template's preview in both languages, the
figures of the rules list (precision from dispositions, fire rate) and a backtest's chart."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

from riskwatch_shared.events.common import RuleType, Severity
from riskwatch_shared.messages import PARAMETERS, TemplateError, render, template_parameters

RULE_TYPES: tuple[str, ...] = get_args(RuleType)
SEVERITIES: tuple[str, ...] = get_args(Severity)
# The events a rule may be evaluated on (alerting's TRIGGER_EVENT_TYPES; the API refuses
# any other, so a new one shows up as a clear refusal until it is added here).
TRIGGER_EVENT_TYPES: tuple[str, ...] = (
    "scoring.transaction_scored.v1",
    "scoring.customer_risk_level_changed.v1",
    "scoring.customer_assessed.v1",
    "customer.credit_record_added.v1",
    "customer.financial_profile_updated.v1",
    "customer.interaction_logged.v1",
    "customer.account_changed.v1",
)
# The rule language's words the editor completes besides the field catalogue.
FUNCTIONS: tuple[str, ...] = (
    "count", "sum", "avg", "max", "min", "distinct", "abs", "lower", "hour", "weekday", "list",
)  # fmt: skip
KEYWORDS: tuple[str, ...] = ("and", "or", "not", "in", "true", "false", "within", "by", "where")
# The fields of a rule the editor's form holds (the rest of a version is not edited here).
TEXT_FIELDS = ("name", "condition", "dedup_key", "owner_team", "description",
               "title_template", "summary_template")  # fmt: skip
CLEARABLE = frozenset({"owner_team", "description", "title_template", "summary_template"})
MAX_FIELD = 4_000
MAX_CHART_DAYS = 400  # a backtest covers at most 366
# What a preview fills the parameters with: one plausible alert.
SAMPLE_PARAMS: Mapping[str, Any] = {
    "customer": "Jane Doe",
    "rule": "Large transfer abroad",
    "amount": "12500.00",
    "currency": "EUR",
    "counterparty": "Acme Trading Ltd",
    "country": "PT",
    "counterparty_country": "AE",
    "channel": "transfer",
    "amount_to_avg_30d": "8.2",
    "anomaly_score": "0.93",
    "anomaly_level": "high",
    "credit_level": "high",
    "previous_credit_level": "medium",
    "credit_pd": "0.18",
    "churn_level": "medium",
    "churn_probability": "0.41",
    "debt_to_income": "0.62",
    "utilisation": "0.87",
    "missed_payments": 3,
    "delinquencies_30": 2,
    "delinquencies_60": 1,
    "delinquencies_90": 0,
    "bureau_score": 455,
    "bureau_score_drop": 60,
    "days_since_last_activity": 45,
    "outflow_ratio_30d": "0.78",
    "complaints_90d": 2,
    "happened_at": "2026-03-02T09:14:05+00:00",
    "indicator": "arrears",
    "warning_level": "amber",
    "since": "2026-02-20T00:00:00+00:00",
    "evidence": "missed_payments 3 >= 2",
}


def rule_body(form: Mapping[str, str], trigger_event_types: Iterable[str]) -> dict[str, Any]:
    """A new rule's JSON body from the editor's form: filled fields only (the API checks them
    all and says which one is wrong)."""
    body: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, "rule_type", "severity"):
        value = str(form.get(name, "")).strip()[: MAX_FIELD + 1]
        if value:
            body[name] = value
    body["trigger_event_types"] = [str(t)[:200] for t in trigger_event_types][:10]
    cooldown = str(form.get("cooldown_seconds", "")).strip()
    if cooldown:
        # Not a number: -1, which the API refuses with its own words.
        valid = cooldown.isdigit() and len(cooldown) < 10
        body["cooldown_seconds"] = int(cooldown) if valid else -1
    actions = [line.strip() for line in str(form.get("suggested_actions", "")).splitlines()]
    body["suggested_actions"] = [action for action in actions if action][:21]
    return body


def rule_changes(rule: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH of a rule: only what the form changed (every change makes a version); an
    emptied optional field is cleared."""
    changes = {name: value for name, value in body.items() if rule.get(name) != value}
    for name in CLEARABLE:
        if name not in body and rule.get(name):
            changes[name] = None
    return changes


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str


@dataclass(frozen=True, slots=True)
class FieldDiff:
    field: str
    lines: list[DiffLine]


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value).splitlines() or [""]


def version_diff(older: Mapping[str, Any], newer: Mapping[str, Any]) -> list[FieldDiff]:
    """Field by field, the lines of `older`'s snapshot that `newer` removed and added."""
    diffs = []
    for name in sorted(set(older) | set(newer)):
        before, after = _lines(older.get(name)), _lines(newer.get(name))
        if before == after:
            continue
        lines = []
        for line in difflib.ndiff(before, after):
            code, text = line[:2], line[2:]
            if code == "? ":
                continue
            kind = {"- ": "removed", "+ ": "added"}.get(code, "same")
            lines.append(DiffLine(kind, text))
        diffs.append(FieldDiff(name, lines))
    return diffs


@dataclass(frozen=True, slots=True)
class Preview:
    title: dict[str, str]
    summary: dict[str, str]
    error: str | None = None


def message_preview(title_template: str, summary_template: str) -> Preview:
    """The alert's title and summary as the sample alert would read them, in English and in
    Chinese (amounts, levels and times are written per language); the template's mistake
    (an unknown parameter, a stray brace) when it has one."""
    try:
        for template in (title_template, summary_template):
            template_parameters(template)
    except TemplateError as error:
        return Preview({}, {}, str(error))
    locales = ("en", "zh-CN")
    return Preview(
        {locale: render(title_template, SAMPLE_PARAMS, locale) for locale in locales},
        {locale: render(summary_template, SAMPLE_PARAMS, locale) for locale in locales},
    )


def template_parameter_names() -> list[tuple[str, str]]:
    return [(name, parameter.description) for name, parameter in PARAMETERS.items()]


@dataclass(frozen=True, slots=True)
class RuleFigures:
    """A rule's detection health over its window (alerting's /v1/rules/health)."""

    window_days: int
    events_evaluated: int
    matches: int
    fire_rate: float | None  # matches / events evaluated
    alerts_last_24h: int
    baseline_per_day: float | None
    spiking: bool
    dispositioned: int
    precision: float | None  # of the dispositioned alerts, the share not false positives


def rule_figures(health: Iterable[Mapping[str, Any]] | None) -> dict[str, RuleFigures]:
    """Per rule id, its health figures (none for a rule the health does not list)."""
    figures: dict[str, RuleFigures] = {}
    for row in health or []:
        figures[str(row.get("rule_id"))] = RuleFigures(
            window_days=_int(row.get("window_days")),
            events_evaluated=_int(row.get("events_evaluated")),
            matches=_int(row.get("matches")),
            fire_rate=_float_or_none(row.get("fire_rate")),
            alerts_last_24h=_int(row.get("alerts_last_24h")),
            baseline_per_day=_float_or_none(row.get("baseline_per_day")),
            spiking=bool(row.get("spiking")),
            dispositioned=_int(row.get("dispositioned")),
            precision=_float_or_none(row.get("precision")),
        )
    return figures


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def hits_chart(
    alerts_per_day: Iterable[Mapping[str, Any]],
    label: str,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """A backtest's alerts per day as the console's chart data (x: unix seconds of UTC days),
    every day of the range drawn, the quiet ones at 0 (a line between two hits a week apart
    would say there were alerts between them)."""
    counts: dict[date, int] = {}
    for point in alerts_per_day:
        day = _day(point.get("day"))
        if day is not None:
            counts[day] = counts.get(day, 0) + _int(point.get("alerts"))
    first, last = _day(start), _day(end)
    if counts:
        first = min([*counts, *([first] if first else [])])
        last = max([*counts, *([last] if last else [])])
    if first is None or last is None or (last - first).days > MAX_CHART_DAYS:
        days = sorted(counts)
    else:
        days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    xs = [int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) for d in days]
    return {"labels": [label], "units": [""], "x": xs, "series": [[counts.get(d, 0) for d in days]]}


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def shadow_chart(
    comparison: Mapping[str, Any] | None, active: str, shadow: str, time_label: str
) -> dict[str, Any] | None:
    """A shadow comparison's hits per day, the live version's beside the shadow's."""
    if not comparison:
        return None
    xs, live, shadowed = [], [], []
    for day in comparison.get("days", []) or []:
        try:
            moment = datetime.fromisoformat(str(day["day"])[:10]).replace(tzinfo=UTC)
        except (KeyError, ValueError):
            continue
        xs.append(int(moment.timestamp()))
        live.append(_int((day.get("active") or {}).get("hits")))
        shadowed.append(_int((day.get("shadow") or {}).get("hits")))
    return {"labels": [active, shadow], "units": ["", ""], "x": xs, "series": [live, shadowed],
            "time_label": time_label}  # fmt: skip
