"""Maker-checker for escalation policies (issue 23): a change or a removal is a proposal a
second person approves; the live policy pages unchanged while it waits; every step is in the
severity's history."""

from __future__ import annotations

from typing import Any

from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers

from .conftest import Notify, approved_policy, make_team

PROBLEM = "application/problem+json"
RISK_MANAGER = Identity(subject="rm-2", roles=("risk_manager",))
ANALYST = Identity(subject="analyst-2", roles=("analyst",))
VIEWER = Identity(subject="viewer-2", roles=("viewer",))


def _policy(after_seconds: int, team_id: str) -> dict[str, Any]:
    return {
        "levels": [{"after_seconds": after_seconds, "channels": ["email"], "team_ids": [team_id]}]
    }


def _refused(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"].endswith(slug), response.json()


async def test_a_policy_change_waits_for_a_second_person(service: Notify) -> None:
    client = service.client
    team = await make_team(service)
    live = await approved_policy(service, "high", _policy(60, team["id"]))

    proposed = await client.put("/v1/escalation-policies/high", json=_policy(5, team["id"]))
    assert proposed.status_code == 202, proposed.text
    proposal = proposed.json()
    assert (proposal["status"], proposal["kind"], proposal["severity"]) == (
        "pending",
        "put",
        "high",
    )
    assert proposal["change"]["levels"][0]["after_seconds"] == 5
    assert proposal["change"]["before"]["levels"][0]["after_seconds"] == 60
    retried = await client.put("/v1/escalation-policies/high", json=_policy(5, team["id"]))
    assert retried.json()["id"] == proposal["id"]

    # While it waits, the live policy pages as before.
    assert (await client.get("/v1/escalation-policies/high")).json() == live
    pending = (
        await client.get("/v1/escalation-policy-proposals", params={"status": "pending"})
    ).json()
    assert [p["id"] for p in pending] == [proposal["id"]]

    url = f"/v1/escalation-policy-proposals/{proposal['id']}"
    _refused(await client.post(f"{url}/approve", json={}), 403, "escalation-policy-self-approval")
    analyst = service.headers_for(ANALYST)
    _refused(await client.post(f"{url}/approve", json={}, headers=analyst), 403, "forbidden")
    viewer = service.headers_for(VIEWER)
    _refused(
        await client.put(
            "/v1/escalation-policies/high", json=_policy(1, team["id"]), headers=viewer
        ),
        403,
        "forbidden",
    )
    assert (await client.get("/v1/escalation-policies/high")).json() == live

    approved = await client.post(
        f"{url}/approve",
        json={"comment": "night shift agreed"},
        headers=service.headers_for(RISK_MANAGER),
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approval"]) == ("approved", "four_eyes")
    now = (await client.get("/v1/escalation-policies/high")).json()
    assert now["levels"][0]["after_seconds"] == 5
    _refused(
        await client.post(f"{url}/reject", json={"comment": "late"}, headers=checker_headers()),
        409,
        "escalation-policy-proposal-not-pending",
    )

    history = (await client.get("/v1/escalation-policies/high/history")).json()
    assert [(step["action"], step["actor"]) for step in history] == [
        ("proposed", "admin-1"),
        ("approved", "checker"),
        ("proposed", "admin-1"),
        ("approved", RISK_MANAGER.subject),
    ]
    assert history[-1]["comment"] == "[four_eyes] night shift agreed"


async def test_superseded_rejected_and_removed(service: Notify) -> None:
    client = service.client
    team = await make_team(service)
    await approved_policy(service, "critical", _policy(60, team["id"]))

    first = (
        await client.put("/v1/escalation-policies/critical", json=_policy(30, team["id"]))
    ).json()
    second = (
        await client.put("/v1/escalation-policies/critical", json=_policy(20, team["id"]))
    ).json()
    assert (await client.get(f"/v1/escalation-policy-proposals/{first['id']}")).json()[
        "status"
    ] == "superseded"
    url = f"/v1/escalation-policy-proposals/{second['id']}"
    _refused(await client.post(f"{url}/reject", json={}, headers=checker_headers()), 422, "")
    for comment in ("ok\u202eevil", "nul\x00", "x" * 2_001):
        hostile = await client.post(
            f"{url}/reject", json={"comment": comment}, headers=checker_headers()
        )
        assert hostile.status_code == 422, comment
    assert (await client.get(url)).json()["status"] == "pending"
    rejected = await client.post(
        f"{url}/reject", json={"comment": "too fast for the desk"}, headers=checker_headers()
    )
    assert rejected.json()["status"] == "rejected"
    live = (await client.get("/v1/escalation-policies/critical")).json()
    assert live["levels"][0]["after_seconds"] == 60

    removal = await client.delete("/v1/escalation-policies/critical")
    assert removal.status_code == 202, removal.text
    assert removal.json()["kind"] == "delete"
    assert (await client.get("/v1/escalation-policies/critical")).status_code == 200
    decided = await client.post(
        f"/v1/escalation-policy-proposals/{removal.json()['id']}/approve",
        json={},
        headers=checker_headers(),
    )
    assert decided.status_code == 200, decided.text
    assert (await client.get("/v1/escalation-policies/critical")).status_code == 404

    actions = [
        s["action"] for s in (await client.get("/v1/escalation-policies/critical/history")).json()
    ]
    assert actions == [
        "proposed",
        "approved",
        "proposed",
        "superseded",
        "proposed",
        "rejected",
        "proposed",
        "approved",
    ]
    _refused(
        await client.delete("/v1/escalation-policies/critical"), 404, "escalation-policy-not-found"
    )


async def test_a_bad_policy_is_refused_at_once_and_stores_nothing(service: Notify) -> None:
    client = service.client
    unknown_team = await client.put(
        "/v1/escalation-policies/medium", json=_policy(60, "00000000-0000-4000-8000-000000000001")
    )
    assert unknown_team.status_code in (404, 422), unknown_team.text
    assert unknown_team.headers["content-type"].startswith(PROBLEM)
    assert (await client.get("/v1/escalation-policy-proposals")).json() == []
    assert (await client.get("/v1/escalation-policies/medium/history")).json() == []
    _refused(
        await client.post(
            "/v1/escalation-policy-proposals/00000000-0000-4000-8000-000000000002/approve",
            json={},
            headers=checker_headers(),
        ),
        404,
        "escalation-policy-proposal-not-found",
    )
