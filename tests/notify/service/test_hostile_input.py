"""Hostile input against notify: an oversized SSE `Last-Event-ID` or cursor is a 422 (not a
broken stream or a 500), control characters in text and oversized numbers are refused."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import httpx

from riskwatch_shared.security import Identity
from riskwatch_shared.testing.sweep import count_rows, hostile_sweep

from .conftest import Notify, make_recipient, make_team


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_an_oversized_or_foreign_last_event_id_is_a_422(service: Notify) -> None:
    user = Identity(subject=f"user-{uuid.uuid4().hex[:6]}", roles=("analyst",))
    await make_recipient(service, user_subject=user.subject)
    headers = service.headers_for(user)
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=10) as client:
        for last_event_id in (b"9" * 30, b"9" * 5000, b"-1", "١٢٣".encode(), b"12abc"):
            response = await client.get(
                "/v1/inbox/stream", headers={"Last-Event-ID": last_event_id}
            )
            assert response.status_code == 422, (last_event_id, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        async with client.stream(
            "GET", "/v1/inbox/stream", headers={"Last-Event-ID": "0"}
        ) as stream:
            assert stream.status_code == 200
            assert await anext(stream.aiter_lines()) == ": connected"


async def test_a_cursor_beyond_a_bigint_is_a_422(service: Notify) -> None:
    for raw in ("seq:" + "9" * 30, "seq:" + "9" * 5000, "seq:²"):
        for path in ("/v1/deliveries", "/v1/inbox"):
            response = await service.client.get(path, params={"cursor": _cursor(raw)})
            assert response.status_code in (404, 422), (path, response.text)
            assert response.status_code != 404 or path == "/v1/inbox"  # the admin has no inbox


async def test_control_characters_and_oversized_numbers_are_refused(service: Notify) -> None:
    before = await service.sql("SELECT count(*) FROM recipients")
    for body in (
        {"name": "Bad\x00Name"},
        {"name": "Ok", "time_zone": "x" * 5000},
        {"name": "rtl\u202e"},
    ):
        response = await service.client.post("/v1/recipients", json=body)
        assert response.status_code == 422, response.text
    team = await service.client.post("/v1/teams", json={"name": "t\x00"})
    assert team.status_code == 422
    assert await service.sql("SELECT count(*) FROM recipients") == before


# What the write endpoints store (notifications and deliveries follow consumed alerts).
WRITTEN_BY_REQUESTS = [
    "recipients",
    "teams",
    "team_members",
    "subscriptions",
    "escalation_policies",
]


async def test_no_write_endpoint_answers_hostile_input_with_a_server_error(
    service: Notify,
) -> None:
    recipient = await make_recipient(service)
    team = await make_team(service)
    document = (await service.client.get("/openapi.json")).json()

    async def scalar(sql: str) -> Any:
        [row] = await service.sql(sql)
        return row[0]

    async def count_records() -> dict[str, int]:
        return await count_rows(scalar, WRITTEN_BY_REQUESTS)

    recipient_body = {
        "name": "Swept Person",
        "email": "swept@bank.test",
        "phone": "+4915123456789",
        "locale": "en",
        "time_zone": "Europe/Berlin",
        "staff_id": "rm-9",
        "user_subject": "swept-user",
    }
    # In process: the same app uvicorn serves, without a loopback round trip per request.
    in_process = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app),
        base_url="http://notify",
        headers=service.client.headers,
    )
    async with in_process:
        report = await asyncio.to_thread(
            hostile_sweep,
            in_process,
            document,
            loop=asyncio.get_running_loop(),
            count_records=count_records,
            known_path_parameters={"recipient_id": recipient["id"], "team_id": team["id"]},
            valid_bodies={
                "POST /v1/recipients": recipient_body,
                "PUT /v1/recipients/{recipient_id}": recipient_body,
                "POST /v1/teams": {"name": "swept-team", "description": "d"},
                "PUT /v1/teams/{team_id}": {"name": "swept-team-2", "description": "d"},
                "POST /v1/subscriptions": {
                    "recipient_id": recipient["id"],
                    "channels": ["email"],
                    "min_severity": "high",
                },
                "PUT /v1/escalation-policies/{severity}": {
                    "levels": [
                        {"after_seconds": 60, "channels": ["email"], "team_ids": [team["id"]]}
                    ],
                    "repeat": 1,
                    "cycle_seconds": 600,
                },
            },
            skip=frozenset({"DELETE /v1/recipients/{recipient_id}", "DELETE /v1/teams/{team_id}"}),
        )
    assert len(report.operations) >= 8
    assert report.refused > 0
    assert not report.findings, "\n".join(report.findings)
