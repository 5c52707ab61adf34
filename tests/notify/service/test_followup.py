"""Follow-up: escalation until acknowledged, quiet hours, digests, relationship managers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from riskwatch_shared.testing import wait_until

from .conftest import (
    Notify,
    alert_acknowledged,
    alert_raised,
    approved_policy,
    make_recipient,
    make_team,
    plain_text,
    subscribe,
    wait_statuses,
)
from .test_delivery import published_payloads


async def test_acknowledgement_stops_the_escalation_at_once(service: Notify) -> None:
    on_call = await make_team(service)
    first = await make_recipient(service, team_ids=[on_call["id"]])
    head = await make_recipient(service)
    policy = {
        "levels": [
            {"after_seconds": 1, "channels": ["email"], "team_ids": [on_call["id"]]},
            {"after_seconds": 4, "channels": ["email", "in_app"], "recipient_ids": [head["id"]]},
        ],
    }
    await approved_policy(service, "high", policy)
    acked, ignored = alert_raised(severity="high"), alert_raised(severity="high")

    await service.publish(acked)
    await service.publish(ignored)
    await wait_statuses(service, acked.alert_id, {"sent": 1}, timeout=10)  # level 0 paged
    await service.publish(alert_acknowledged(acked))

    async def cancelled() -> bool:
        rows = await service.sql(
            "SELECT cancelled_at FROM escalations WHERE alert_id = :a", a=acked.alert_id
        )
        return bool(rows and rows[0][0] is not None)

    await wait_until(cancelled, message="escalation cancelled")

    # A cancelled escalation leaves a trace: notify.escalation_cancelled.v1 (for case timelines).
    async def cancellation_published() -> bool:
        payloads = await published_payloads(service, "notify.escalation_cancelled.v1")
        return any(str(acked.alert_id) in payload for payload in payloads)

    await wait_until(cancellation_published, message="escalation_cancelled.v1 published")
    payloads = await published_payloads(service, "notify.escalation_cancelled.v1")
    assert not any(str(ignored.alert_id) in payload for payload in payloads)
    # The unacknowledged alert reaches level 1 (email + in-app to the head of team)...
    found = await wait_statuses(service, ignored.alert_id, {"sent": 3}, timeout=15)
    assert {(n["escalation_step"], n["channel"]) for n in found} == {
        (0, "email"),
        (1, "email"),
        (1, "in_app"),
    }
    # ...and by then the scheduler has passed the acknowledged one's level-1 time too.
    level_one_due = acked.raised_at + timedelta(seconds=4)
    scheduler = service.parts.scheduler

    async def scheduler_passed() -> bool:
        return scheduler.last_run_at is not None and scheduler.last_run_at > level_one_due

    await wait_until(scheduler_passed, message="scheduler past level 1")
    pages = await service.notifications(acked.alert_id)
    assert [(n["escalation_step"], n["recipient_id"]) for n in pages] == [(0, first["id"])]
    assert len(service.mail_about(acked.alert_id)) == 1


def _quiet_window_ending_soon(time_zone: str, seconds: int) -> tuple[str, str]:
    local = datetime.now(UTC).astimezone(ZoneInfo(time_zone))
    start = (local - timedelta(hours=1)).time().replace(microsecond=0)
    end = (local + timedelta(seconds=seconds)).time().replace(microsecond=0)
    return start.isoformat(), end.isoformat()


async def test_quiet_hours_hold_non_critical_then_release_them(service: Notify) -> None:
    start, end = _quiet_window_ending_soon("Asia/Shanghai", 4)
    sleeper = await make_recipient(
        service, time_zone="Asia/Shanghai", quiet_start=start, quiet_end=end
    )
    await subscribe(service, recipient_id=sleeper["id"], channels=["email"])
    routine, critical = alert_raised(severity="medium"), alert_raised(severity="critical")

    await service.publish(routine)
    await service.publish(critical)
    await wait_statuses(service, critical.alert_id, {"sent": 1})  # critical goes through
    [held] = await wait_statuses(service, routine.alert_id, {"held": 1})
    assert held["held_until"] is not None
    assert service.mail_about(routine.alert_id) == []

    [released] = await wait_statuses(service, routine.alert_id, {"sent": 1}, timeout=15)
    assert datetime.fromisoformat(released["sent_at"]) >= datetime.fromisoformat(held["held_until"])
    assert len(service.mail_about(routine.alert_id)) == 1


async def test_a_burst_for_one_recipient_is_bundled_into_a_digest(service: Notify) -> None:
    service.settings.digest_window_seconds = 2
    person = await make_recipient(service)
    await subscribe(service, recipient_id=person["id"], channels=["email"])
    burst = [alert_raised(severity="high", title=f"Burst alert {n}") for n in range(4)]

    for alert in burst:
        await service.publish(alert)
    await wait_statuses(service, burst[0].alert_id, {"sent": 1})
    for alert in burst[1:]:
        await wait_statuses(service, alert.alert_id, {"bundled": 1, "sent": 1}, timeout=15)

    [text] = [t for t in map(plain_text, service.mail()) if "Burst alert 1" in t]
    assert all(alert.title in text for alert in burst[1:])
    assert burst[0].title not in text
    first_mails = service.mail_about(burst[0].alert_id)
    assert len(first_mails) == 1


async def test_relationship_manager_hears_of_their_customers_alerts(service: Notify) -> None:
    team = await make_team(service)
    await make_recipient(service, team_ids=[team["id"]])
    manager = await make_recipient(service, staff_id="rm-0042")
    await subscribe(
        service,
        team_id=team["id"],
        channels=["email"],
        alert_types=["credit_risk"],
        include_relationship_manager=True,
    )
    alert = alert_raised(severity="high", rule_type="credit_risk", relationship_manager="rm-0042")
    other_type = alert_raised(severity="high", relationship_manager="rm-0042")

    await service.publish(alert)
    await service.publish(other_type)
    found = await wait_statuses(service, alert.alert_id, {"sent": 3})

    to_manager = sorted(n["channel"] for n in found if n["recipient_id"] == manager["id"])
    assert to_manager == ["email", "in_app"]
    await wait_until(service.consumer_idle, message="consumed")
    assert await service.notifications(other_type.alert_id) == []
