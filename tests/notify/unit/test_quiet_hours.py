from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from riskwatch_notify.domain.models import QuietHours, Severity
from riskwatch_notify.domain.quiet_hours import hold_until, is_quiet, quiet_hours_end

from .factories import make_recipient

NIGHT = QuietHours(start=time(22, 0), end=time(7, 0))
LUNCH = QuietHours(start=time(12, 0), end=time(13, 0))
BERLIN = "Europe/Berlin"


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(BERLIN)).astimezone(UTC)


def test_window_crossing_midnight_covers_late_evening_and_early_morning() -> None:
    assert is_quiet(NIGHT, BERLIN, berlin(2024, 6, 1, 23, 30))
    assert is_quiet(NIGHT, BERLIN, berlin(2024, 6, 2, 0, 15))
    assert is_quiet(NIGHT, BERLIN, berlin(2024, 6, 2, 6, 59))
    assert not is_quiet(NIGHT, BERLIN, berlin(2024, 6, 2, 7, 0))
    assert not is_quiet(NIGHT, BERLIN, berlin(2024, 6, 1, 21, 59))


def test_daytime_window_and_empty_window() -> None:
    assert is_quiet(LUNCH, BERLIN, berlin(2024, 6, 1, 12, 30))
    assert not is_quiet(LUNCH, BERLIN, berlin(2024, 6, 1, 13, 0))
    empty = QuietHours(start=time(9, 0), end=time(9, 0))
    assert not is_quiet(empty, BERLIN, berlin(2024, 6, 1, 9, 0))


def test_window_is_read_on_the_recipients_clock() -> None:
    # 23:30 UTC is 07:30 next morning in Shanghai: not quiet there, quiet in London summer.
    moment = datetime(2024, 6, 1, 23, 30, tzinfo=UTC)
    assert not is_quiet(NIGHT, "Asia/Shanghai", moment)
    assert is_quiet(NIGHT, "Europe/London", moment)


def test_release_is_next_morning_when_held_in_the_evening() -> None:
    assert quiet_hours_end(NIGHT, BERLIN, berlin(2024, 6, 1, 23, 0)) == berlin(2024, 6, 2, 7, 0)
    assert quiet_hours_end(NIGHT, BERLIN, berlin(2024, 6, 2, 3, 0)) == berlin(2024, 6, 2, 7, 0)
    assert quiet_hours_end(NIGHT, BERLIN, berlin(2024, 6, 2, 9, 0)) is None


def test_release_across_spring_forward_is_seven_local_on_summer_time() -> None:
    # Berlin jumps 02:00 -> 03:00 on 2024-03-31: the night is an hour shorter.
    held_at = berlin(2024, 3, 30, 23, 0)
    release = quiet_hours_end(NIGHT, BERLIN, held_at)
    assert release == datetime(2024, 3, 31, 5, 0, tzinfo=UTC)  # 07:00 CEST
    assert release - held_at == timedelta(hours=7)


def test_release_across_fall_back_is_seven_local_on_winter_time() -> None:
    held_at = berlin(2024, 10, 26, 23, 0)
    release = quiet_hours_end(NIGHT, BERLIN, held_at)
    assert release == datetime(2024, 10, 27, 6, 0, tzinfo=UTC)  # 07:00 CET
    assert release - held_at == timedelta(hours=9)


def test_window_ending_in_the_repeated_fall_back_hour_releases_in_the_future() -> None:
    window = QuietHours(start=time(0, 30), end=time(2, 30))
    # 2024-10-27 02:15 CET is the second 02:15 of the night in Berlin.
    second_pass = datetime(2024, 10, 27, 1, 15, tzinfo=UTC)
    release = quiet_hours_end(window, BERLIN, second_pass)
    assert release == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)


def test_window_ending_in_the_spring_forward_gap_releases_after_the_gap() -> None:
    window = QuietHours(start=time(1, 0), end=time(2, 30))  # 02:30 does not exist that night
    release = quiet_hours_end(window, BERLIN, berlin(2024, 3, 31, 1, 30))
    assert release is not None
    assert not is_quiet(window, BERLIN, release)
    assert release.astimezone(ZoneInfo(BERLIN)).hour == 3


@given(
    moment=st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2030, 12, 31),
        timezones=st.just(UTC),
    ),
    start=st.times(),
    end=st.times(),
    time_zone=st.sampled_from([BERLIN, "America/New_York", "Asia/Shanghai", "Australia/Sydney"]),
)
def test_release_is_always_later_and_outside_the_window(
    moment: datetime, start: time, end: time, time_zone: str
) -> None:
    window = QuietHours(start=start.replace(microsecond=0), end=end.replace(microsecond=0))
    release = quiet_hours_end(window, time_zone, moment)
    if release is None:
        assert not is_quiet(window, time_zone, moment)
        return
    assert release > moment
    assert release - moment <= timedelta(hours=25)


def test_critical_alerts_are_never_held_others_wait_for_the_morning() -> None:
    recipient = make_recipient(quiet_hours=NIGHT, time_zone=BERLIN)
    night = berlin(2024, 6, 1, 23, 0)
    assert hold_until(recipient, Severity.CRITICAL, night) is None
    assert hold_until(recipient, Severity.HIGH, night) == berlin(2024, 6, 2, 7, 0)
    assert hold_until(make_recipient(), Severity.LOW, night) is None
