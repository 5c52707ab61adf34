"""The dashboards' arithmetic (pure): a period of whole UTC days, every day of it in a series
(a day without alerts is a zero, not a gap the chart would bridge), the watch list's size at
the end of each day from the movements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DEFAULT_DAYS = 30
MAX_DAYS = 366


class InvalidPeriod(ValueError):
    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Period:
    """Whole UTC days: `first` .. `last` inclusive."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def period_of(since: date | None, until: date | None, *, today: date) -> Period:
    """The days asked for: `until` defaults to today, `since` to 29 days before it."""
    last = until or today
    first = since or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidPeriod("since must be on or before until", "since")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidPeriod(f"a dashboard covers at most {MAX_DAYS} days", "since")
    return Period(first, last)


def sizes_by_day(
    active_before: int, entered: Mapping[date, int], exited: Mapping[date, int], days: list[date]
) -> list[int]:
    """The watch list's size at the end of each day: what was on it before the first day, plus
    each day's entries, less its exits."""
    size, sizes = active_before, []
    for day in days:
        size += entered.get(day, 0) - exited.get(day, 0)
        sizes.append(size)
    return sizes
