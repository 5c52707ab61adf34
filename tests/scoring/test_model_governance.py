"""Maker-checker for which model serves (issue 23): activation and shadowing are proposals a
second person approves; the champion keeps serving while one is pending; every step is in the
model's history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from riskwatch_scoring.domain.anomaly import AnomalyModel
from riskwatch_scoring.model_governance import owners_of
from riskwatch_scoring.registry import store_trained_model
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers, identity_headers

from .builders import promoted
from .conftest import ScoringHarness

ANALYST = Identity(subject="analyst-1", roles=("analyst",))
RISK_MANAGER = Identity(subject="rm-1", roles=("risk_manager",))


async def _models(scoring: ScoringHarness) -> dict[str, dict[str, Any]]:
    items = (await scoring.client.get("/v1/models", params={"kind": "anomaly"})).json()["items"]
    return {item["id"]: item for item in items}


@pytest.fixture
async def candidate(scoring: ScoringHarness) -> AsyncIterator[dict[str, Any]]:
    """A deployable anomaly model version, a candidate; the anomaly champion is restored
    (through maker-checker) afterwards."""
    champion = next(m for m in (await _models(scoring)).values() if m["status"] == "champion")
    async with scoring.runtime.session_factory() as session, session.begin():
        row = await store_trained_model(
            session,
            kind="anomaly",
            model=AnomalyModel(),
            metrics={},
            fingerprint="f" * 64,
            features=["transaction_features"],
            baseline=[],
        )
        model_id = str(row.id)
    yield (await _models(scoring))[model_id] | {"champion_id": champion["id"]}
    if (await _models(scoring))[champion["id"]]["status"] != "champion":
        await promoted(scoring.client, champion["id"], "activate")


def _problem(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith(slug)


async def test_activation_waits_for_a_second_person(
    scoring: ScoringHarness, candidate: dict[str, Any]
) -> None:
    client, model_id, champion_id = scoring.client, candidate["id"], candidate["champion_id"]
    proposed = await client.post(f"/v1/models/{model_id}/activate")
    assert proposed.status_code == 202, proposed.text
    proposal = proposed.json()
    assert proposal["status"] == "pending"
    assert proposal["model_id"] == model_id
    assert proposal["kind"] == "activate"
    assert proposal["change"]["status"] == "champion"
    assert proposal["self_approval_allowed"] is False
    # A retry is the same proposal, not a second one.
    again = await client.post(f"/v1/models/{model_id}/activate")
    assert again.json()["id"] == proposal["id"]

    # While it waits, the champion serves unchanged.
    models = await _models(scoring)
    assert models[champion_id]["status"] == "champion"
    assert models[model_id]["status"] == "candidate"
    pending = (await client.get("/v1/model-proposals", params={"status": "pending"})).json()
    assert proposal["id"] in {p["id"] for p in pending}

    # Its author cannot approve it; an analyst cannot decide at all.
    url = f"/v1/model-proposals/{proposal['id']}"
    _problem(await client.post(f"{url}/approve", json={}), 403, "model-self-approval")
    analyst = identity_headers(ANALYST)
    _problem(
        await client.post(f"{url}/approve", json={}, headers=analyst),
        403,
        "forbidden",
    )
    _problem(
        await client.post(f"/v1/models/{model_id}/activate", headers=analyst), 403, "forbidden"
    )
    assert (await _models(scoring))[champion_id]["status"] == "champion"

    # A second person approves: the candidate serves, the old champion retires.
    approved = await client.post(
        f"{url}/approve",
        json={"comment": "validated on last month"},
        headers=identity_headers(RISK_MANAGER),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["approval"] == "four_eyes"
    assert approved.json()["decided_by"] == RISK_MANAGER.subject
    models = await _models(scoring)
    assert models[model_id]["status"] == "champion"
    assert models[champion_id]["status"] == "retired"
    _problem(
        await client.post(f"{url}/approve", json={}, headers=checker_headers()),
        409,
        "model-proposal-not-pending",
    )

    _problem(await client.post(f"/v1/models/{model_id}/activate"), 409, "invalid-model-transition")

    history = (await client.get(f"/v1/models/{model_id}/history")).json()
    assert [(step["action"], step["actor"]) for step in history] == [
        ("proposed", "scoring-tester"),
        ("approved", RISK_MANAGER.subject),
    ]
    assert history[1]["comment"] == "[four_eyes] validated on last month"
    assert history[1]["actor_roles"] == "risk_manager"
    replaced = (await client.get(f"/v1/models/{champion_id}/history")).json()
    assert replaced[-1]["action"] == "retired"
    assert replaced[-1]["proposal_id"] == proposal["id"]
    # Its owners (who a drift alert reaches): the proposer and the approver.
    async with scoring.runtime.session_factory() as session:
        assert await owners_of(session, uuid.UUID(model_id)) == [
            "scoring-tester",
            RISK_MANAGER.subject,
        ]
        assert await owners_of(session, uuid.uuid4()) == []  # promoted by no one


async def test_a_rejected_shadow_changes_nothing(
    scoring: ScoringHarness, candidate: dict[str, Any]
) -> None:
    client, model_id = scoring.client, candidate["id"]
    proposal = (await client.post(f"/v1/models/{model_id}/shadow")).json()
    url = f"/v1/model-proposals/{proposal['id']}"
    no_reason = await client.post(f"{url}/reject", json={}, headers=checker_headers())
    assert no_reason.status_code == 422
    # Hostile input is refused and decides nothing.
    for comment in ("ok\u202eevil", "nul\x00", "x" * 2_001):
        hostile = await client.post(
            f"{url}/reject", json={"comment": comment}, headers=checker_headers()
        )
        assert hostile.status_code == 422, comment
    unknown_field = await client.post(
        f"{url}/approve", json={"comment": "ok", "approval": "self"}, headers=checker_headers()
    )
    assert unknown_field.status_code == 422
    assert (await client.get(url)).json()["status"] == "pending"
    rejected = await client.post(
        f"{url}/reject", json={"comment": "not on month-end"}, headers=checker_headers()
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert (await _models(scoring))[model_id]["status"] == "candidate"
    got = (await client.get(url)).json()
    assert (got["status"], got["comment"]) == ("rejected", "not on month-end")
    history = (await client.get(f"/v1/models/{model_id}/history")).json()
    assert [step["action"] for step in history] == ["proposed", "rejected"]
    assert history[1]["comment"] == "not on month-end"
    # Retiring takes effect at once (a shadow switched off is not held up), and is audited.
    retired = await client.post(f"/v1/models/{model_id}/retire")
    assert retired.json()["status"] == "retired"
    history = (await client.get(f"/v1/models/{model_id}/history")).json()
    assert history[-1]["action"] == "retired"


async def test_self_approval_only_where_the_install_allows_it(
    scoring: ScoringHarness, candidate: dict[str, Any]
) -> None:
    client, model_id = scoring.client, candidate["id"]
    proposal = (await client.post(f"/v1/models/{model_id}/shadow")).json()
    settings: Any = scoring.runtime.settings
    settings.allow_self_approval = True
    try:
        approved = await client.post(f"/v1/model-proposals/{proposal['id']}/approve", json={})
    finally:
        settings.allow_self_approval = False
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval"] == "self"
    assert approved.json()["self_approval_allowed"] is True
    assert (await _models(scoring))[model_id]["status"] == "challenger"
    await client.post(f"/v1/models/{model_id}/retire")


async def test_unknown_proposals_and_models(scoring: ScoringHarness) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    _problem(
        await scoring.client.post(
            f"/v1/model-proposals/{missing}/approve", json={}, headers=checker_headers()
        ),
        404,
        "model-proposal-not-found",
    )
    _problem(await scoring.client.get(f"/v1/models/{missing}/history"), 404, "model-not-found")
    bad = await scoring.client.get("/v1/model-proposals", params={"status": "maybe"})
    assert bad.status_code == 422
