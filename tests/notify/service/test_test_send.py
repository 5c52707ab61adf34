"""A test send per channel (the notifications screen): queued and delivered like an alert's
message and shown in the delivery log; managers only; no address, an unknown channel or a
webhook URL the outbound guard refuses stores nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from riskwatch_shared.security import Identity
from riskwatch_shared.testing import wait_until

from .conftest import Notify, make_recipient
from .test_outbound_and_bounds import outbound_guarded

PROBLEM = "application/problem+json"


async def _sent(service: Notify, delivery_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        found: dict[str, Any] = (await service.client.get(f"/v1/deliveries/{delivery_id}")).json()
        return found if found["status"] in ("sent", "dead") else None

    delivered = await wait_until(done, timeout=15, message="the test message delivered")
    assert delivered is not None
    return delivered


async def _tests_stored(service: Notify) -> int:
    [(count,)] = await service.sql("SELECT count(*) FROM notifications WHERE kind = 'test'")
    return int(count)


async def test_a_test_send_goes_out_on_each_channel_and_is_in_the_delivery_log(
    service: Notify,
) -> None:
    hook = f"{service.providers.base_url}/hooks/chatops"
    person = await make_recipient(service, phone="+351912345678", webhook_url=hook,
                                  user_subject=f"user-{uuid.uuid4().hex[:6]}",
                                  quiet_start="00:00:00", quiet_end="23:59:00")  # fmt: skip
    for channel in ("email", "sms", "webhook", "in_app"):
        queued = await service.client.post(
            f"/v1/recipients/{person['id']}/test", json={"channel": channel}
        )
        assert queued.status_code == 202, queued.text
        assert queued.json()["channel"] == channel
        assert queued.json()["kind"] == "test"
        delivered = await _sent(service, queued.json()["id"])
        assert delivered["status"] == "sent", (channel, delivered)
    mails = [m for m in service.mail() if m["To"] == person["email"]]
    assert any(m["Subject"] == "RiskWatch test message" for m in mails)
    (hooked,) = [w for w in service.providers.webhooks if b"riskwatch.test" in w["body"]]
    assert json.loads(hooked["body"])["message"].startswith("This is a test message")
    listed = await service.client.get("/v1/deliveries", params={"recipient_id": person["id"]})
    assert {d["channel"] for d in listed.json()["items"]} >= {"email", "sms", "webhook", "in_app"}


async def test_a_test_send_is_refused_without_an_address_a_role_or_an_allowed_url(
    service: Notify,
) -> None:
    before = await _tests_stored(service)
    email_only = await make_recipient(service)
    no_phone = await service.client.post(
        f"/v1/recipients/{email_only['id']}/test", json={"channel": "sms"}
    )
    assert no_phone.status_code == 409
    assert no_phone.headers["content-type"].startswith(PROBLEM)
    unknown = await service.client.post(
        f"/v1/recipients/{email_only['id']}/test", json={"channel": "pigeon"}
    )
    assert unknown.status_code == 422
    missing = await service.client.post(
        f"/v1/recipients/{uuid.uuid4()}/test", json={"channel": "email"}
    )
    assert missing.status_code == 404
    analyst = service.headers_for(Identity(subject="analyst-1", roles=("analyst",)))
    refused = await service.client.post(
        f"/v1/recipients/{email_only['id']}/test", json={"channel": "email"}, headers=analyst
    )
    assert refused.status_code == 403
    # A webhook saved when it was allowed, refused by the guard at test time: nothing queued.
    hooked = await make_recipient(service, webhook_url=f"{service.providers.base_url}/webhook")
    with outbound_guarded(service):
        guarded = await service.client.post(
            f"/v1/recipients/{hooked['id']}/test", json={"channel": "webhook"}
        )
    assert guarded.status_code == 422
    assert guarded.headers["content-type"].startswith(PROBLEM)
    assert await _tests_stored(service) == before
