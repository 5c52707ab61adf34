"""The customer 360's pure part: chart series (uPlot's columns: x in unix seconds, one column
per line) from the credit history and the risk history, newest-first lists turned oldest-first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from riskwatch_console.i18n import parse_decimal, parse_instant

RISK_KINDS = ("credit", "anomaly", "churn")


def _seconds(value: Any) -> int | None:
    instant = parse_instant(str(value)) if value is not None else None
    if instant is None:
        return None
    return int(instant.astimezone(UTC).timestamp())


def _number(value: Any) -> float | None:
    number = parse_decimal(value)
    return float(number) if number is not None else None


def credit_series(records: Iterable[Mapping[str, Any]], labels: tuple[str, str]) -> dict[str, Any]:
    """Credit score and utilisation (%) by as-of date, oldest first."""
    points = sorted(
        (moment, _number(r.get("credit_score")), _number(r.get("utilisation")))
        for r in records
        if (moment := _seconds(f"{r.get('as_of')}T00:00:00+00:00")) is not None
    )
    return {
        "labels": list(labels),
        "x": [p[0] for p in points],
        "series": [
            [p[1] for p in points],
            [round(p[2] * 100, 1) if p[2] is not None and p[2] <= 1 else p[2] for p in points],
        ],
    }


def risk_series(assessments: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One line per model kind (its champion's score over time); a kind's column holds None
    where another kind was assessed."""
    rows = sorted(
        (moment, str(a.get("kind")), _number(a.get("score")))
        for a in assessments
        if not a.get("is_shadow") and (moment := _seconds(a.get("assessed_at"))) is not None
    )
    kinds = [kind for kind in RISK_KINDS if any(row[1] == kind for row in rows)]
    return {
        "labels": kinds,
        "x": [row[0] for row in rows],
        "series": [[row[2] if row[1] == kind else None for row in rows] for kind in kinds],
    }


def latest_by_kind(assessments: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The newest champion assessment of each model kind, with its reasons."""
    newest: dict[str, Mapping[str, Any]] = {}
    for assessment in assessments:
        kind = str(assessment.get("kind"))
        if assessment.get("is_shadow"):
            continue
        current = newest.get(kind)
        if current is None or str(assessment.get("assessed_at")) > str(current.get("assessed_at")):
            newest[kind] = assessment
    return [newest[kind] for kind in sorted(newest)]
