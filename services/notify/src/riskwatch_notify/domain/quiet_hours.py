"""Quiet hours in the recipient's own time zone; critical alerts always go through."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from riskwatch_notify.domain.models import QuietHours, Recipient, Severity


def _local_wall_time(moment: datetime, time_zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(time_zone))


def _within(window: QuietHours, wall: time) -> bool:
    if window.start == window.end:
        return False  # an empty window, not a 24-hour one
    if window.start < window.end:
        return window.start <= wall < window.end
    return wall >= window.start or wall < window.end


def is_quiet(window: QuietHours, time_zone: str, moment: datetime) -> bool:
    """Whether `moment` falls inside the daily `window` as read on a clock in `time_zone`."""
    local = _local_wall_time(moment, time_zone)
    return _within(window, local.time().replace(tzinfo=None))


def _at_local(day: date, wall: time, time_zone: str, not_before: datetime) -> datetime:
    # A wall time skipped by a spring-forward gap maps past the gap (fold=0 keeps the old
    # offset); one repeated by a fall-back takes whichever occurrence is still ahead.
    local = datetime.combine(day, wall, tzinfo=ZoneInfo(time_zone))
    first = local.astimezone(UTC)
    return first if first > not_before else local.replace(fold=1).astimezone(UTC)


def quiet_hours_end(window: QuietHours, time_zone: str, moment: datetime) -> datetime | None:
    """When the quiet window containing `moment` ends (UTC), or None if not quiet now."""
    if not is_quiet(window, time_zone, moment):
        return None
    local = _local_wall_time(moment, time_zone)
    crosses_midnight = window.start > window.end
    ends_tomorrow = crosses_midnight and local.time().replace(tzinfo=None) >= window.start
    end_day = local.date() + timedelta(days=1) if ends_tomorrow else local.date()
    return _at_local(end_day, window.end, time_zone, moment)


def hold_until(recipient: Recipient, severity: Severity, moment: datetime) -> datetime | None:
    """When a message to `recipient` may be released, or None to send it now.

    Critical alerts are never held: a bank cannot wait for the morning on those.
    """
    if recipient.quiet_hours is None or severity is Severity.CRITICAL:
        return None
    return quiet_hours_end(recipient.quiet_hours, recipient.time_zone, moment)
