"""The management API: CRUD, validation as problem+json, roles, cursors."""

from __future__ import annotations

import uuid

from riskwatch_shared.security import Identity

from .conftest import Notify, approved_policy, make_recipient, make_team

PROBLEM = "application/problem+json"


async def test_recipient_crud_with_teams(service: Notify) -> None:
    risk, fraud = await make_team(service), await make_team(service)
    created = await make_recipient(
        service,
        name="Wang Fang",
        phone="+8613912345678",
        locale="zh",
        time_zone="Asia/Shanghai",
        quiet_start="22:00:00",
        quiet_end="07:00:00",
        team_ids=[risk["id"]],
        user_subject="wang.fang",
    )
    assert created["team_ids"] == [risk["id"]]
    fetched = await service.client.get(f"/v1/recipients/{created['id']}")
    assert fetched.json() == created

    body = {**{k: created[k] for k in ("name", "email", "phone", "locale", "time_zone")}}
    body["team_ids"] = [risk["id"], fraud["id"]]
    replaced = await service.client.put(f"/v1/recipients/{created['id']}", json=body)
    assert replaced.status_code == 200, replaced.text
    assert sorted(replaced.json()["team_ids"]) == sorted([risk["id"], fraud["id"]])
    assert replaced.json()["quiet_start"] is None

    members = await service.client.get("/v1/recipients", params={"team_id": fraud["id"]})
    assert [r["id"] for r in members.json()] == [created["id"]]
    team = await service.client.get(f"/v1/teams/{fraud['id']}")
    assert team.json()["member_ids"] == [created["id"]]

    deleted = await service.client.delete(f"/v1/recipients/{created['id']}")
    assert deleted.status_code == 204
    gone = await service.client.get(f"/v1/recipients/{created['id']}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM


async def test_bad_input_is_problem_json(service: Notify) -> None:
    bad_zone = await service.client.post(
        "/v1/recipients", json={"name": "X", "time_zone": "Mars/Olympus"}
    )
    assert bad_zone.status_code == 422
    assert bad_zone.headers["content-type"] == PROBLEM
    no_target = await service.client.post("/v1/subscriptions", json={"channels": ["email"]})
    assert no_target.status_code == 422
    unknown_team = await service.client.post(
        "/v1/recipients", json={"name": "X", "team_ids": [str(uuid.uuid4())]}
    )
    assert unknown_team.status_code == 404
    await make_team(service, name="Fraud operations")
    duplicate = await service.client.post("/v1/teams", json={"name": "Fraud operations"})
    assert duplicate.status_code == 409
    assert duplicate.json()["type"].endswith("/duplicate-team")
    bad_cursor = await service.client.get("/v1/deliveries", params={"cursor": "nope"})
    assert bad_cursor.status_code == 422


async def test_subscriptions_and_policies(service: Notify) -> None:
    team = await make_team(service)
    person = await make_recipient(service)
    created = await service.client.post(
        "/v1/subscriptions",
        json={
            "team_id": team["id"],
            "channels": ["email", "sms"],
            "alert_types": ["credit_risk"],
            "min_severity": "high",
        },
    )
    assert created.status_code == 201, created.text
    subscription = created.json()
    listed = await service.client.get("/v1/subscriptions", params={"team_id": team["id"]})
    assert [s["id"] for s in listed.json()] == [subscription["id"]]
    replaced = await service.client.put(
        f"/v1/subscriptions/{subscription['id']}",
        json={"recipient_id": person["id"], "channels": ["in_app"]},
    )
    assert replaced.json()["recipient_id"] == person["id"]
    assert replaced.json()["min_severity"] == "low"
    assert (
        await service.client.delete(f"/v1/subscriptions/{subscription['id']}")
    ).status_code == 204

    levels = [
        {"after_seconds": 600, "channels": ["email"], "team_ids": [team["id"]]},
        {"after_seconds": 1800, "channels": ["sms"], "recipient_ids": [person["id"]]},
    ]
    await approved_policy(service, "critical", {"levels": levels, "repeat": 2})
    got = await service.client.get("/v1/escalation-policies/critical")
    assert got.json()["repeat"] == 2
    assert len(got.json()["levels"]) == 2
    unordered = await service.client.put(
        "/v1/escalation-policies/high", json={"levels": list(reversed(levels))}
    )
    assert unordered.status_code == 422
    assert unordered.json()["type"].endswith("/invalid-escalation-policy")
    missing = await service.client.get("/v1/escalation-policies/low")
    assert missing.status_code == 404


async def test_roles_and_inbox_ownership(service: Notify) -> None:
    viewer = service.headers_for(Identity(subject="viewer-1", roles=("viewer",)))
    refused = await service.client.post("/v1/teams", json={"name": "x"}, headers=viewer)
    assert refused.status_code == 403
    assert (await service.client.get("/v1/teams", headers=viewer)).status_code == 200
    stranger = service.headers_for(Identity(subject="nobody", roles=("analyst",)))
    assert (await service.client.get("/v1/inbox", headers=stranger)).status_code == 404
    unsigned = await service.client.get("/v1/teams", headers={"x-riskwatch-identity": "forged"})
    assert unsigned.status_code == 401
