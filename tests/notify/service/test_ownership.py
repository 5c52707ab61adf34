"""A relationship manager sees only their own customers' alerts in notify: the alert's
notifications, the inbox, its unread count and the SSE stream (issue 17, ownership leaks)."""

from __future__ import annotations

import json
import uuid

import httpx

from riskwatch_shared.security import Identity
from riskwatch_shared.testing import wait_until

from .conftest import Notify, alert_raised, make_recipient, subscribe
from .test_delivery import next_sse_event


def _rm(tag: str) -> Identity:
    staff_id = f"rm-{tag}-{uuid.uuid4().hex[:6]}"
    return Identity(subject=f"user-{staff_id}", roles=("relationship_manager",), staff_id=staff_id)


async def test_an_rm_sees_only_their_own_customers_alerts_on_every_notify_read(
    service: Notify,
) -> None:
    mine, theirs = _rm("mine"), _rm("theirs")
    person = await make_recipient(service, user_subject=mine.subject, staff_id=mine.staff_id)
    await subscribe(service, recipient_id=person["id"], channels=["in_app"], min_severity="low")
    headers = service.headers_for(mine)
    other = alert_raised(severity="high", relationship_manager=theirs.staff_id)
    own = alert_raised(severity="high", relationship_manager=mine.staff_id)

    async with (
        httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=10) as client,
        client.stream("GET", "/v1/inbox/stream") as stream,
    ):
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        # The other RM's alert lands in this inbox first (the subscription routes every
        # alert here); the stream must skip it and carry the own one only.
        await service.publish(other)
        await wait_until(
            lambda: service.sql(
                "SELECT 1 FROM inbox_messages WHERE alert_id = :a", a=other.alert_id
            ),
            message="the other RM's alert in the inbox",
        )
        await service.publish(own)
        event = await next_sse_event(lines)
    assert json.loads(event["data"])["alert_id"] == str(own.alert_id)

    inbox = (await service.client.get("/v1/inbox", headers=headers)).json()
    assert [item["alert_id"] for item in inbox["items"]] == [str(own.alert_id)]
    assert inbox["unread_count"] == 1
    hidden = await service.sql(
        "SELECT id FROM inbox_messages WHERE alert_id = :a", a=other.alert_id
    )
    refused = await service.client.post(f"/v1/inbox/{hidden[0][0]}/read", headers=headers)
    assert refused.status_code == 404
    read_all = await service.client.post("/v1/inbox/read-all", headers=headers)
    assert read_all.json() == {"marked": 1, "unread_count": 0}
    still_unread = await service.sql(
        "SELECT read_at FROM inbox_messages WHERE alert_id = :a", a=other.alert_id
    )
    assert still_unread == [(None,)]

    theirs_out = await service.client.get(
        f"/v1/alerts/{other.alert_id}/notifications", headers=headers
    )
    assert theirs_out.status_code == 404
    assert theirs_out.headers["content-type"].startswith("application/problem+json")
    own_out = await service.client.get(f"/v1/alerts/{own.alert_id}/notifications", headers=headers)
    assert own_out.status_code == 200
    assert own_out.json()["notifications"]
    # Broader roles see both; the other RM sees theirs.
    assert (await service.notifications(other.alert_id)) != []
    as_theirs = service.headers_for(theirs)
    assert (
        await service.client.get(f"/v1/alerts/{other.alert_id}/notifications", headers=as_theirs)
    ).status_code == 200


async def test_a_customer_changing_hands_moves_its_alerts_to_the_new_rm(service: Notify) -> None:
    before, after = _rm("before"), _rm("after")
    customer = uuid.uuid4()
    first = alert_raised(customer_id=customer, relationship_manager=before.staff_id)
    await service.publish(first)
    await wait_until(
        lambda: service.sql("SELECT 1 FROM alerts WHERE alert_id = :a", a=first.alert_id),
        message="alert taken in",
    )
    url = f"/v1/alerts/{first.alert_id}/notifications"
    assert (await service.client.get(url, headers=service.headers_for(before))).status_code == 200
    # A later alert about the same customer says who owns them now.
    await service.publish(alert_raised(customer_id=customer, relationship_manager=after.staff_id))

    async def moved() -> bool:
        response = await service.client.get(url, headers=service.headers_for(after))
        return response.status_code == 200

    await wait_until(moved, message="ownership moved")
    assert (await service.client.get(url, headers=service.headers_for(before))).status_code == 404
