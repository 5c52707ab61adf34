"""Issue 17: webhook URLs that reach inside (loopback, private, metadata) are refused when
saved and when sent, remote bodies are never kept, escalation policies are bounded, and one
alert whose planning fails does not take the others with it."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from riskwatch_shared.testing import wait_until

from .conftest import (
    REMOTE_SECRET,
    Notify,
    alert_raised,
    approved_policy,
    make_recipient,
    make_team,
    subscribe,
    wait_statuses,
)

PROBLEM = "application/problem+json"


@contextlib.contextmanager
def outbound_guarded(service: Notify) -> Iterator[None]:
    """The service as deployed: not in dev mode (https only, public addresses only)."""
    service.settings.dev_mode = False
    try:
        yield
    finally:
        service.settings.dev_mode = True


async def _count(service: Notify, table: str) -> int:
    [(count,)] = await service.sql(f"SELECT count(*) FROM {table}")
    return int(count)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.bank.example/alerts", "only https"),
        ("https://127.0.0.1:8443/alerts", "loopback"),
        ("https://localhost:8443/alerts", "loopback"),
        ("https://[::1]/alerts", "loopback"),
        ("https://10.0.0.5/alerts", "private"),
        ("https://192.168.10.20/alerts", "private"),
        ("https://169.254.169.254/latest/meta-data/iam/", "metadata"),
        ("https://[::ffff:169.254.169.254]/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ],
)
async def test_refused_webhook_urls_are_422_and_nothing_is_stored(
    service: Notify, url: str, reason: str
) -> None:
    before = await _count(service, "recipients")
    with outbound_guarded(service):
        response = await service.client.post(
            "/v1/recipients", json={"name": "Hook", "webhook_url": url}
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["type"].endswith("/webhook-url-refused")
    assert problem["field"] == "webhook_url"
    assert reason in problem["detail"]
    assert await _count(service, "recipients") == before


async def test_metadata_is_refused_in_dev_mode_too_and_a_replace_keeps_the_old_url(
    service: Notify,
) -> None:
    person = await make_recipient(service, webhook_url=f"{service.providers.base_url}/hooks/a")
    body = {"name": person["name"], "webhook_url": "http://169.254.169.254/latest/meta-data/"}
    created = await service.client.post("/v1/recipients", json=body)
    replaced = await service.client.put(f"/v1/recipients/{person['id']}", json=body)
    assert (created.status_code, replaced.status_code) == (422, 422)
    assert "metadata" in replaced.json()["detail"]
    stored = await service.client.get(f"/v1/recipients/{person['id']}")
    assert stored.json()["webhook_url"] == person["webhook_url"]


async def test_a_destination_that_became_internal_is_refused_at_delivery(service: Notify) -> None:
    # Saved while allowed; by delivery time the name resolves to this machine (as a rebound
    # DNS name would): the delivery fails for good, with the reason, and nothing connects.
    hook = f"https://localhost:{service.providers.base_url.rsplit(':', 1)[1]}/hooks/rebound"
    person = await make_recipient(service, webhook_url=hook)
    await subscribe(service, recipient_id=person["id"], channels=["webhook"])
    alert = alert_raised(severity="high")
    with outbound_guarded(service):
        await service.publish(alert)
        [dead] = await wait_statuses(service, alert.alert_id, {"dead": 1})
    assert dead["attempts"] == 1
    assert dead["last_error"].startswith("refused: localhost resolves to")
    assert "loopback" in dead["last_error"]
    assert service.providers.webhooks == []


async def test_deliveries_keep_the_remote_status_code_never_the_remote_body(
    service: Notify,
) -> None:
    person = await make_recipient(service, webhook_url=f"{service.providers.base_url}/answer/403")
    await subscribe(service, recipient_id=person["id"], channels=["webhook"])
    alert = alert_raised(severity="high")
    await service.publish(alert)
    [dead] = await wait_statuses(service, alert.alert_id, {"dead": 1})

    assert dead["last_error"] == "HTTP 403"
    [attempt] = dead["attempt_log"]
    assert (attempt["detail"], attempt["remote_status"]) == ("HTTP 403", 403)
    listed = await service.client.get("/v1/deliveries", params={"alert_id": str(alert.alert_id)})
    single = await service.client.get(f"/v1/deliveries/{dead['id']}")
    for response in (listed, single):
        assert response.status_code == 200
        assert REMOTE_SECRET not in response.text
    stored = await service.sql(
        "SELECT count(*) FROM delivery_attempts a JOIN notifications n ON n.id = a.notification_id"
        " WHERE a.detail LIKE :secret OR n.last_error LIKE :secret",
        secret=f"%{REMOTE_SECRET[:20]}%",
    )
    assert stored == [(0,)]


def _policy(after_seconds: int, team_id: str, **extra: Any) -> dict[str, Any]:
    level = {"after_seconds": after_seconds, "channels": ["email"], "team_ids": [team_id]}
    return {"levels": [level], **extra}


@pytest.mark.parametrize(
    "body",
    [
        _policy(2**40, "{team}"),
        _policy(7 * 86_400 + 1, "{team}"),
        _policy(-1, "{team}"),
        _policy(60, "{team}", cycle_seconds=2**40),
        _policy(60, "{team}", repeat=2**31),
    ],
)
async def test_escalation_delays_beyond_bounds_are_422(
    service: Notify, body: dict[str, Any]
) -> None:
    team = await make_team(service)
    body["levels"][0]["team_ids"] = [team["id"]]
    response = await service.client.put("/v1/escalation-policies/critical", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    missing = await service.client.get("/v1/escalation-policies/critical")
    assert missing.status_code == 404
    week = _policy(7 * 86_400, team["id"], cycle_seconds=14 * 86_400, repeat=100)
    accepted = await approved_policy(service, "critical", week)
    assert accepted["cycle_seconds"] == 14 * 86_400


async def test_quiet_hours_with_an_offset_are_422(service: Notify) -> None:
    body = {"name": "Night owl", "quiet_start": "22:00:00+08:00", "quiet_end": "07:00:00+08:00"}
    response = await service.client.post("/v1/recipients", json=body)
    assert response.status_code == 422, response.text


def _failures(stage: str) -> float:
    value = REGISTRY.get_sample_value("riskwatch_notify_planning_failures_total", {"stage": stage})
    return value or 0.0


async def test_a_failing_plan_does_not_dead_letter_the_other_notifications(
    service: Notify,
) -> None:
    # A policy saved before the bounds existed: its first step overflows any date.
    team = await make_team(service)
    person = await make_recipient(service, team_ids=[team["id"]])
    await subscribe(service, team_id=team["id"], channels=["email"])
    levels = f'[{{"after_seconds": {2**40}, "channels": ["email"], "team_ids": ["{team["id"]}"]}}]'
    await service.sql(
        "INSERT INTO escalation_policies (severity, levels, repeat, updated_at)"
        " VALUES ('critical', CAST(:levels AS jsonb), 0, now())",
        levels=levels,
    )
    before = _failures("escalation")
    critical = alert_raised(severity="critical")
    high = alert_raised(severity="high")

    await service.publish(critical)
    await service.publish(high)

    await wait_statuses(service, critical.alert_id, {"sent": 1})
    await wait_statuses(service, high.alert_id, {"sent": 1})
    assert {str(m["To"]) for m in service.mail_about(critical.alert_id)} == {person["email"]}
    told = await service.client.get(f"/v1/alerts/{critical.alert_id}/notifications")
    assert "escalation" in told.json()["planning_error"]
    assert "after_seconds" in told.json()["planning_error"]
    fine = await service.client.get(f"/v1/alerts/{high.alert_id}/notifications")
    assert fine.json()["planning_error"] is None
    assert _failures("escalation") == before + 1
    assert await service.consumer_idle()


async def test_a_stored_chain_that_cannot_advance_ends_without_stopping_the_others(
    service: Notify,
) -> None:
    team = await make_team(service)
    person = await make_recipient(service, team_ids=[team["id"]])
    good = _policy(0, team["id"])
    await approved_policy(service, "high", good)
    broken_alert, good_alert = alert_raised(severity="high"), alert_raised(severity="high")
    await service.publish(broken_alert)
    await service.publish(good_alert)
    for alert in (broken_alert, good_alert):
        await wait_statuses(service, alert.alert_id, {"sent": 1})  # the step at 0 s
    # Two chains waiting for a next cycle; one of them carries a policy past the bounds.
    broken = {
        "severity": "high",
        "levels": [{"after_seconds": 2**40, "channels": ["email"], "team_ids": [team["id"]]}],
        "repeat": 1,
        "cycle_seconds": None,
    }
    await service.sql(
        "UPDATE escalations SET policy = CAST(:policy AS jsonb), steps_done = 0,"
        " next_due_at = now(), completed_at = NULL WHERE alert_id = :alert",
        policy=json.dumps(broken),
        alert=broken_alert.alert_id,
    )
    await service.sql(  # one more cycle, a second from now
        'UPDATE escalations SET policy = policy || \'{"repeat": 1, "cycle_seconds": 1}\','
        " next_due_at = now(), completed_at = NULL WHERE alert_id = :alert",
        alert=good_alert.alert_id,
    )

    async def told() -> bool:
        response = await service.client.get(f"/v1/alerts/{broken_alert.alert_id}/notifications")
        return response.json()["planning_error"] is not None

    await wait_until(told, timeout=15, message="the broken chain is recorded")
    await wait_statuses(service, good_alert.alert_id, {"sent": 2})  # its next cycle went out
    [(completed,)] = await service.sql(
        "SELECT completed_at IS NOT NULL FROM escalations WHERE alert_id = :alert",
        alert=broken_alert.alert_id,
    )
    assert completed
    assert person["email"] in {str(m["To"]) for m in service.mail_about(good_alert.alert_id)}


async def test_a_cursor_beyond_a_bigint_is_422(service: Notify) -> None:
    cursor = base64.urlsafe_b64encode(b"seq:" + b"9" * 30).decode().rstrip("=")
    response = await service.client.get("/v1/deliveries", params={"cursor": cursor})
    assert response.status_code == 422, response.text
