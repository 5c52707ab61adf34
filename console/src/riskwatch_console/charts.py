"""The dashboards' figures as tables (pure): each chart is drawn from its table, the table is
what "Numbers" shows and what the CSV export writes, so the three cannot disagree.

A `Figure` is a header and rows of raw cells (ISO dates, ints, floats, text); the page formats
them for the reader's locale, the CSV writes them as they are (a dot for decimals). Its chart
JSON (static/dashboards.js) names which columns are series, which are bars and which go on the
second axis."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from riskwatch_console.labels import N_

Cell = str | int | float | None
Words = Callable[[str], str]
TYPES_ORDER = ("transaction_anomaly", "credit_risk", "churn", "custom")
SEVERITIES_ORDER = ("low", "medium", "high", "critical")
LEVELS_ORDER = ("low", "medium", "high", "critical")
UTF8_BOM = "\ufeff"
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    # The x axis: days (column 0 is an ISO day) or categories (column 0 is a name).
    axis: Literal["time", "category"] = "time"
    series: tuple[int, ...] = ()
    bars: tuple[int, ...] = ()
    # Columns on a second axis on the right (a count beside minutes, a size beside moves).
    second_axis: tuple[int, ...] = ()
    units: dict[int, str] = field(default_factory=dict)
    # Cells written as a percentage (a rate 0..1) or as a day.
    percent_columns: tuple[int, ...] = ()
    # A link for each row's first cell (a riser's customer page), when there is one.
    links: list[str | None] = field(default_factory=list)

    def chart(self) -> dict[str, Any]:
        """What dashboards.js draws: x values, each series with its label, bar, axis, unit."""
        first = [row[0] for row in self.rows]
        x: list[Any] = (
            [_epoch(str(day)) for day in first] if self.axis == "time" else list(range(len(first)))
        )
        return {
            "axis": self.axis,
            "x": x,
            "categories": [str(name) for name in first] if self.axis == "category" else [],
            "series": [
                {
                    "label": self.headers[column],
                    "values": [
                        _charted(row[column], column in self.percent_columns) for row in self.rows
                    ],
                    "bars": column in self.bars,
                    "scale": "y2" if column in self.second_axis else "y",
                    "unit": self.units.get(column, "%" if column in self.percent_columns else ""),
                }
                for column in self.series
            ],
        }

    def csv(self) -> str:
        """The table as CSV: a BOM first (Excel then reads Chinese right), formulas defused."""
        buffer = io.StringIO()
        buffer.write(UTF8_BOM)
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([_spreadsheet_safe(header) for header in self.headers])
        for row in self.rows:
            writer.writerow(["" if cell is None else _spreadsheet_safe(cell) for cell in row])
        return buffer.getvalue()


def _epoch(day: str) -> int:
    return int(datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC).timestamp())


def _charted(cell: Cell, percent: bool) -> float | None:
    if not isinstance(cell, int | float):
        return None
    return round(cell * 100, 2) if percent else cell


def _spreadsheet_safe(value: Cell) -> Cell:
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def ordered(codes: Sequence[str] | set[str], order: Sequence[str]) -> list[str]:
    """Known codes in their usual order, then any others alphabetically."""
    known = [code for code in order if code in codes]
    return known + sorted(code for code in codes if code not in order)


def _minutes(seconds: object) -> float | None:
    return None if not isinstance(seconds, int | float) else round(seconds / 60, 1)


def alert_figures(stats: dict[str, Any], gettext: Words, label: Words) -> list[Figure]:
    """The alert dashboards of `GET /v1/alerts/stats/daily`."""
    days: list[dict[str, Any]] = stats.get("days", [])
    types = ordered({t for d in days for t in d.get("by_type", {})}, TYPES_ORDER)
    severities = ordered({s for d in days for s in d.get("by_severity", {})}, SEVERITIES_ORDER)
    day_header = gettext(N_("Day (UTC)"))
    total = gettext(N_("Total"))
    by_type = Figure(
        key="volume-by-type",
        title=gettext(N_("Alerts per day by type")),
        headers=[day_header, *(label(t) for t in types), total],
        rows=[[d["day"], *(d["by_type"].get(t, 0) for t in types), d["total"]] for d in days],
        series=tuple(range(1, len(types) + 2)),
    )
    by_severity = Figure(
        key="volume-by-severity",
        title=gettext(N_("Alerts per day by severity")),
        headers=[day_header, *(label(s) for s in severities), total],
        rows=[
            [d["day"], *(d["by_severity"].get(s, 0) for s in severities), d["total"]] for d in days
        ],
        series=tuple(range(1, len(severities) + 1)),
        bars=tuple(range(1, len(severities) + 1)),
    )
    response = Figure(
        key="acknowledge-and-sla",
        title=gettext(N_("Time to acknowledge and SLA breaches")),
        headers=[
            day_header,
            total,
            gettext(N_("Acknowledged")),
            gettext(N_("Median minutes to acknowledge")),
            gettext(N_("90th percentile minutes to acknowledge")),
            gettext(N_("SLA breaches")),
        ],
        rows=[
            [
                d["day"],
                d["total"],
                d["acknowledged"],
                _minutes(d["median_acknowledge_seconds"]),
                _minutes(d["p90_acknowledge_seconds"]),
                d["sla_breaches"],
            ]
            for d in days
        ],
        series=(3, 4, 5),
        bars=(5,),
        second_axis=(5,),
        units={3: " min", 4: " min"},
    )
    rates = stats.get("false_positive_rate_by_rule", [])
    false_positives = Figure(
        key="false-positives",
        title=gettext(N_("False-positive rate per rule")),
        headers=[
            gettext(N_("Rule")),
            gettext(N_("Resolved")),
            gettext(N_("False positives")),
            gettext(N_("False-positive rate")),
        ],
        rows=[
            [r["rule_name"], r["resolved"], r["false_positives"], r["false_positive_rate"]]
            for r in rates
        ],
        axis="category",
        series=(3,),
        bars=(3,),
        percent_columns=(3,),
    )
    return [by_type, by_severity, response, false_positives]


def watchlist_figures(stats: dict[str, Any], gettext: Words) -> list[Figure]:
    """The watch list's size and movements of `GET /v1/watchlist/stats`."""
    days: list[dict[str, Any]] = stats.get("days", [])
    return [
        Figure(
            key="watchlist",
            title=gettext(N_("Watch-list size and movements")),
            headers=[
                gettext(N_("Day (UTC)")),
                gettext(N_("On the list at day end")),
                gettext(N_("Entered")),
                gettext(N_("Exited")),
                gettext(N_("Reviewed")),
            ],
            rows=[[d["day"], d["size"], d["entered"], d["exited"], d["reviewed"]] for d in days],
            series=(1, 2, 3),
            bars=(2, 3),
            second_axis=(2, 3),
        )
    ]


KINDS_ORDER = ("credit", "anomaly", "churn")


def risk_figures(
    distribution: dict[str, Any], kind: str, gettext: Words, label: Words
) -> list[Figure]:
    """Customers by level per model kind, by segment and level for `kind`, and the top risers
    of `GET /v1/customers/risk-distribution`."""
    levels: list[dict[str, Any]] = distribution.get("levels", [])
    kinds = ordered({c["kind"] for c in levels}, KINDS_ORDER)
    present = ordered({c["level"] for c in levels}, LEVELS_ORDER)
    count: dict[tuple[str, str], int] = {}
    by_segment: dict[tuple[str, str], int] = {}
    for row in levels:
        key = (row["kind"], row["level"])
        count[key] = count.get(key, 0) + int(row["customers"])
        if row["kind"] == kind:
            segment_key = (row["segment"] or gettext(N_("No segment")), row["level"])
            by_segment[segment_key] = by_segment.get(segment_key, 0) + int(row["customers"])
    segments = sorted({segment for segment, _ in by_segment})
    kind_levels = ordered({lvl for (k, lvl) in count if k == kind}, LEVELS_ORDER)
    by_level = Figure(
        key="levels",
        title=gettext(N_("Customers by current risk level, per model")),
        headers=[gettext(N_("Level")), *(label(k) for k in kinds)],
        rows=[[label(lvl), *(count.get((k, lvl), 0) for k in kinds)] for lvl in present],
        axis="category",
        series=tuple(range(1, len(kinds) + 1)),
        bars=tuple(range(1, len(kinds) + 1)),
    )
    segment_figure = Figure(
        key="segments",
        title=gettext(N_("Customers by segment and level: %(model)s")) % {"model": label(kind)},
        headers=[
            gettext(N_("Segment")),
            *(label(lvl) for lvl in kind_levels),
            gettext(N_("Total")),
        ],
        rows=[
            [
                seg,
                *(by_segment.get((seg, lvl), 0) for lvl in kind_levels),
                sum(by_segment.get((seg, lvl), 0) for lvl in kind_levels),
            ]
            for seg in segments
        ],
        axis="category",
        series=tuple(range(1, len(kind_levels) + 1)),
        bars=tuple(range(1, len(kind_levels) + 1)),
    )
    risers = distribution.get("top_risers", [])
    riser_figure = Figure(
        key="risers",
        title=gettext(N_("Top risers this week: %(model)s")) % {"model": label(kind)},
        headers=[
            gettext(N_("Customer")),
            gettext(N_("Segment")),
            gettext(N_("Score before the week")),
            gettext(N_("Level before")),
            gettext(N_("Score now")),
            gettext(N_("Level now")),
            gettext(N_("Rise")),
        ],
        rows=[
            [
                r["name"] or str(r["customer_id"])[:8],
                r["segment"] or "",
                round(float(r["score_before"]), 3),
                label(r["level_before"]),
                round(float(r["score"]), 3),
                label(r["level"]),
                round(float(r["rise"]), 3),
            ]
            for r in risers
        ],
        axis="category",
        series=(6,),
        bars=(6,),
        links=[f"/customers/{r['customer_id']}" for r in risers],
    )
    return [by_level, segment_figure, riser_figure]


# The drift check's verdicts and the serving roles of a model, in words.
DRIFT_WORDS = {
    "stable": N_("Stable"),
    "watch": N_("Watch"),
    "drifted": N_("Drifted"),
    "insufficient_data": N_("Too few scores yet"),
    "champion": N_("Champion"),
    "challenger": N_("Challenger"),
}


def drift_figures(drifts: list[dict[str, Any]], gettext: Words, label: Words) -> list[Figure]:
    """The serving models' PSI (`GET /v1/models/{id}/drift`, each with its model)."""
    return [
        Figure(
            key="drift",
            title=gettext(N_("Model drift (PSI of recent scores against the baseline)")),
            headers=[
                gettext(N_("Model")),
                gettext(N_("PSI")),
                gettext(N_("Status")),
                gettext(N_("Recent scores")),
                gettext(N_("Baseline scores")),
                gettext(N_("Window (days)")),
            ],
            rows=[
                [
                    f"{label(d['kind'])} v{d['version']} ({label(d['model_status'])})",
                    None if d["psi"] is None else round(float(d["psi"]), 4),
                    label(d["status"]),
                    d["recent_scores"],
                    d["baseline_scores"],
                    d["window_days"],
                ]
                for d in drifts
            ],
            axis="category",
            series=(1,),
            bars=(1,),
        )
    ]
