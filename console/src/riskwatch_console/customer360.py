"""The customer 360's pure part: chart series (uPlot's columns: x in unix seconds, one column
per line) from the credit, financial-profile and risk histories; the transaction filters
(checked before the API is called); the watch-list status and the open cases."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from riskwatch_console.desk import InvalidFilter
from riskwatch_console.i18n import parse_decimal, parse_instant

RISK_KINDS = ("credit", "anomaly", "churn")
DIRECTIONS = ("inbound", "outbound")
CHANNELS = ("card", "transfer", "atm", "online", "mobile")
TRANSACTIONS_PAGE = 25
MAX_AMOUNT = Decimal("1e15")
TRANSACTION_FIELDS = (
    "direction",
    "channel",
    "min_amount",
    "max_amount",
    "occurred_from",
    "occurred_to",
)


@dataclass(frozen=True)
class TransactionQuery:
    """The 360's transaction filters: direction, channel, an amount range, a date range."""

    direction: str | None = None
    channel: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None

    def api_params(self) -> dict[str, str]:
        """The `GET /v1/customers/{id}/transactions` query (the last day given included)."""
        params = {"limit": str(TRANSACTIONS_PAGE)}
        for name in ("direction", "channel", "min_amount", "max_amount"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value)
        if self.occurred_from is not None:
            params["occurred_from"] = _midnight(self.occurred_from).isoformat()
        if self.occurred_to is not None:
            params["occurred_to"] = (_midnight(self.occurred_to) + timedelta(days=1)).isoformat()
        return params

    @property
    def filtered(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__dataclass_fields__)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if value not in allowed:
        raise InvalidFilter(name, value)
    return value


def _amount(args: Mapping[str, str], name: str) -> Decimal | None:
    raw = (args.get(name) or "").strip().replace(",", "")
    if not raw:
        return None
    amount = parse_decimal(raw) if len(raw) <= 24 else None
    if amount is None or amount < 0 or amount > MAX_AMOUNT:
        raise InvalidFilter(name, raw)
    return amount


def _day(args: Mapping[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10]) if len(raw) == 10 else date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidFilter(name, raw) from exc


def parse_transaction_query(args: Mapping[str, str]) -> TransactionQuery:
    """The filters a 360 request asks for; InvalidFilter names the first one not allowed."""
    query = TransactionQuery(
        direction=_choice(args, "direction", DIRECTIONS),
        channel=_choice(args, "channel", CHANNELS),
        min_amount=_amount(args, "min_amount"),
        max_amount=_amount(args, "max_amount"),
        occurred_from=_day(args, "occurred_from"),
        occurred_to=_day(args, "occurred_to"),
    )
    low, high = query.min_amount, query.max_amount
    if low is not None and high is not None and low > high:
        raise InvalidFilter("max_amount", str(high))
    start, end = query.occurred_from, query.occurred_to
    if start is not None and end is not None and start > end:
        raise InvalidFilter("occurred_to", end.isoformat())
    return query


def watchlist_status(entries: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The customer's watch-list entry to show: the active one, else the latest that ended."""
    listed = list(entries)
    active = [entry for entry in listed if entry.get("status") == "active"]
    if active:
        return active[0]
    return max(listed, key=lambda entry: str(entry.get("entered_at")), default=None)


def reviews_due(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The start page's watch-list reviews: active entries, the longest overdue first (then by
    customer name, so the order is stable)."""
    return sorted(
        (entry for entry in entries if entry.get("status") == "active"),
        key=lambda entry: (str(entry.get("review_due")), str(entry.get("customer_name") or "")),
    )


def open_cases(cases: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The customer's cases not closed, soonest due first."""
    return sorted(
        (case for case in cases if case.get("status") != "closed"),
        key=lambda case: str(case.get("sla_due_at")),
    )


def _seconds(value: Any) -> int | None:
    instant = parse_instant(str(value)) if value is not None else None
    if instant is None:
        return None
    return int(instant.astimezone(UTC).timestamp())


def _number(value: Any) -> float | None:
    number = parse_decimal(value)
    return float(number) if number is not None else None


def credit_series(records: Iterable[Mapping[str, Any]], labels: tuple[str, str]) -> dict[str, Any]:
    """Credit score (left axis) and utilisation in % (right axis) by as-of date, oldest
    first."""
    points = sorted(
        (
            (moment, _number(r.get("credit_score")), _number(r.get("utilisation")))
            for r in records
            if (moment := _seconds(f"{r.get('as_of')}T00:00:00+00:00")) is not None
        ),
        key=lambda point: point[0],
    )
    return {
        "labels": list(labels),
        "units": ["", "%"],
        "x": [p[0] for p in points],
        "series": [
            [p[1] for p in points],
            [round(p[2] * 100, 1) if p[2] is not None and p[2] <= 1 else p[2] for p in points],
        ],
    }


def financial_series(history: Mapping[str, Any], labels: Sequence[str]) -> dict[str, Any]:
    """Income, assets, liabilities and net worth by as-of date, oldest first, in the currency
    of the latest profile (a profile in another currency is not drawn on the same axis)."""
    points = [p for p in history.get("points", []) if isinstance(p, Mapping)]
    latest = max(points, key=lambda p: str(p.get("as_of")), default=None)
    currency = str(latest.get("currency")) if latest is not None else ""
    same = [p for p in points if p.get("currency") == currency]
    dated = sorted(
        (
            (moment, p)
            for p in same
            if (moment := _seconds(f"{p.get('as_of')}T00:00:00+00:00")) is not None
        ),
        key=lambda pair: pair[0],
    )
    fields = ("annual_income", "total_assets", "total_liabilities", "net_worth")
    return {
        "labels": list(labels),
        "units": [currency] * len(fields),
        "currency": currency,
        "x": [moment for moment, _ in dated],
        "series": [[_number(p.get(name)) for _, p in dated] for name in fields],
        "skipped": len(points) - len(same),
    }


def risk_series(assessments: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One line per model kind (its champion's score over time); a kind's column holds None
    where another kind was assessed."""
    rows = sorted(
        (
            (moment, str(a.get("kind")), _number(a.get("score")))
            for a in assessments
            if not a.get("is_shadow") and (moment := _seconds(a.get("assessed_at"))) is not None
        ),
        key=lambda row: (row[0], row[1]),
    )
    kinds = [kind for kind in RISK_KINDS if any(row[1] == kind for row in rows)]
    return {
        "labels": kinds,
        "units": ["" for _ in kinds],
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
