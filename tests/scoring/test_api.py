"""The scoring API over the running service."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from riskwatch_scoring.schemas import TransactionScoreOut
from riskwatch_shared.security import (
    IDENTITY_HEADER,
    Identity,
    generate_signing_key,
    mint_identity_token,
)
from riskwatch_shared.testing import identity_headers, throwaway_keys, wait_until

from .builders import T0, count_rows, created, credit_record, state_version, transaction
from .builders import wait_for_version as wait_version
from .conftest import ScoringHarness

PROBLEM = "application/problem+json"


async def _customer_with_history(scoring: ScoringHarness) -> uuid.UUID:
    customer_id = uuid.uuid4()
    events = [created(customer_id)]
    for day in range(12):
        events.append(
            transaction(customer_id, T0 + timedelta(days=day), str(80 + day), counterparty="A")
        )
    await scoring.publish(*events)
    await wait_version(scoring.runtime.engine, customer_id, len(events))
    return customer_id


def _preauth(customer_id: uuid.UUID, amount: str, country: str) -> dict[str, object]:
    return {
        "customer_id": str(customer_id),
        "direction": "outbound",
        "amount": amount,
        "currency": "EUR",
        "channel": "online",
        "counterparty_account": "KP-0001",
        "counterparty_country": country,
        "country": "DE",
        "device_id": "device-unknown",
        "occurred_at": (T0 + timedelta(days=12, hours=3)).isoformat(),
    }


async def test_preauthorisation_scores_without_writing(scoring: ScoringHarness) -> None:
    engine = scoring.runtime.engine
    customer_id = await _customer_with_history(scoring)
    version = await state_version(engine, customer_id)
    assessments = await count_rows(
        engine, "SELECT count(*) FROM assessment WHERE customer_id = :id", id=customer_id
    )

    risky = await scoring.client.post(
        "/v1/scores/transaction", json=_preauth(customer_id, "9000", "KP")
    )
    assert risky.status_code == 200, risky.text
    body = risky.json()
    assert body["known_customer"] is True
    assert body["level"] in ("high", "critical")
    assert body["recommended_action"] in ("review", "block")
    codes = {reason["code"] for reason in body["reasons"]}
    assert {"amount_vs_average", "high_risk_country", "new_device", "new_country"} <= codes
    assert body["advice"]
    assert body["transaction_features"]["history_count"] == 12
    # Built as a dict, the body is exactly what its documented model would write.
    assert TransactionScoreOut.model_validate(body).model_dump(mode="json") == body

    usual = await scoring.client.post(
        "/v1/scores/transaction", json=_preauth(customer_id, "85", "DE") | {"device_id": "device-1"}
    )
    assert usual.json()["recommended_action"] == "approve"
    assert usual.json()["level"] == "low"

    stranger = await scoring.client.post(
        "/v1/scores/transaction", json=_preauth(uuid.uuid4(), "100", "DE")
    )
    assert stranger.status_code == 200
    assert stranger.json()["known_customer"] is False

    assert await state_version(engine, customer_id) == version
    assert (
        await count_rows(
            engine, "SELECT count(*) FROM assessment WHERE customer_id = :id", id=customer_id
        )
        == assessments
    )


async def test_identity_tokens_are_verified_once_and_never_trusted_past_expiry(
    scoring: ScoringHarness,
) -> None:
    body = _preauth(uuid.uuid4(), "10", "DE")
    url = "/v1/scores/transaction"
    caller = Identity(subject="short-lived", kind="service", roles=("analyst",))
    token = mint_identity_token(caller, throwaway_keys().identity, ttl_seconds=2)
    for _ in range(2):  # verified, then served from the cache
        response = await scoring.client.post(url, json=body, headers={IDENTITY_HEADER: token})
        assert response.status_code == 200, response.text

    async def expired() -> bool:
        response = await scoring.client.post(url, json=body, headers={IDENTITY_HEADER: token})
        return response.status_code == 401

    await wait_until(expired, timeout=10, interval=0.2, message="the cached token to expire")
    forged = mint_identity_token(caller, generate_signing_key("test-identity"))
    for _ in range(2):  # a refused token is never remembered
        response = await scoring.client.post(url, json=body, headers={IDENTITY_HEADER: forged})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)
    viewer = identity_headers(Identity(subject="v", roles=("viewer",)))[IDENTITY_HEADER]
    response = await scoring.client.post(url, json=body, headers={IDENTITY_HEADER: viewer})
    assert response.status_code == 403  # a cached identity still has only its own roles
    response = await scoring.client.post(url, json=body, headers={IDENTITY_HEADER: viewer})
    assert response.status_code == 403


async def test_preauthorisation_rejects_bad_input(scoring: ScoringHarness) -> None:
    bad = _preauth(uuid.uuid4(), "-5", "DE") | {"currency": "euro"}
    response = await scoring.client.post("/v1/scores/transaction", json=bad)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_risk_history_pages_by_cursor(scoring: ScoringHarness) -> None:
    customer_id = uuid.uuid4()
    await scoring.publish(
        created(customer_id),
        credit_record(customer_id, date(2026, 9, 1), score=700),
        credit_record(customer_id, date(2026, 10, 1), score=650),
    )
    await wait_version(scoring.runtime.engine, customer_id, 3)
    url = f"/v1/customers/{customer_id}/risk/history"
    first = (await scoring.client.get(url, params={"limit": 4})).json()
    assert len(first["items"]) == 4
    assert first["next_cursor"]
    second = (
        await scoring.client.get(url, params={"limit": 4, "cursor": first["next_cursor"]})
    ).json()
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None
    items = first["items"] + second["items"]
    assert len({item["id"] for item in items}) == 6  # credit + churn for each of 3 events
    assert [item["sequence"] for item in items] == [3, 3, 2, 2, 1, 1]
    assert all(len(item["inputs_hash"]) == 64 for item in items)
    credit_only = (await scoring.client.get(url, params={"kind": "credit"})).json()
    assert {item["kind"] for item in credit_only["items"]} == {"credit"}

    # The 360's risk-level history: per model kind, the assessments that moved the level.
    changes = (await scoring.client.get(url, params={"changes_only": "true"})).json()
    expected: list[str] = []
    last_level: dict[str, str] = {}
    for item in reversed(items):  # oldest first
        if last_level.get(item["kind"]) != item["level"]:
            expected.append(item["id"])
        last_level[item["kind"]] = item["level"]
    assert [item["id"] for item in changes["items"]] == expected[::-1]
    assert changes["total"] == len(expected)
    assert len(expected) < len(items), [(i["kind"], i["level"]) for i in items]
    assert {item["kind"] for item in changes["items"]} == {"credit", "churn"}
    assert all("reasons" in item for item in changes["items"])

    invalid = await scoring.client.get(url, params={"cursor": "not-a-cursor"})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith(PROBLEM)


async def test_unknown_customer_is_a_problem(scoring: ScoringHarness) -> None:
    for path in ("risk", "features"):
        response = await scoring.client.get(f"/v1/customers/{uuid.uuid4()}/{path}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith(PROBLEM)


async def test_fresh_install_serves_the_expert_models(scoring: ScoringHarness) -> None:
    models = (await scoring.client.get("/v1/models")).json()["items"]
    champions = {m["kind"]: m for m in models if m["status"] == "champion"}
    assert set(champions) == {"credit", "anomaly", "churn"}
    assert champions["credit"]["model_version"] == "credit-expert-1"
    detail = (await scoring.client.get(f"/v1/models/{champions['credit']['id']}")).json()
    assert detail["model"]["base_points"] == 600
    assert detail["model"]["scaling"] == {"base_score": 600.0, "base_odds": 50.0, "pdo": 20.0}
    assert detail["deployable"] is True
    missing = await scoring.client.get(f"/v1/models/{uuid.uuid4()}")
    assert missing.status_code == 404


async def test_labels_are_recorded_and_listed(scoring: ScoringHarness) -> None:
    customer_id = uuid.uuid4()
    observed = datetime.now(UTC)
    labels = [
        {
            "customer_id": str(customer_id),
            "kind": "churn",
            "outcome": 1,
            "observed_at": (observed - timedelta(days=i)).isoformat(),
        }
        for i in range(3)
    ]
    created_response = await scoring.client.post("/v1/labels", json={"labels": labels})
    assert created_response.status_code == 201, created_response.text
    assert created_response.json() == {"created": 3}
    page = (
        await scoring.client.get("/v1/labels", params={"customer_id": str(customer_id), "limit": 2})
    ).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    assert page["items"][0]["created_by"] == "scoring-tester"
    bad = await scoring.client.post("/v1/labels", json={"labels": [labels[0] | {"outcome": 2}]})
    assert bad.status_code == 422


async def test_writes_need_the_right_role(scoring: ScoringHarness) -> None:
    viewer = Identity(subject="viewer-1", roles=("viewer",))
    headers = identity_headers(viewer)
    label = {
        "customer_id": str(uuid.uuid4()),
        "kind": "credit",
        "outcome": 1,
        "observed_at": datetime.now(UTC).isoformat(),
    }
    refused = await scoring.client.post("/v1/labels", json={"labels": [label]}, headers=headers)
    assert refused.status_code == 403
    train = await scoring.client.post("/v1/models/credit/train", json={}, headers=headers)
    assert train.status_code == 403
    listed = await scoring.client.get("/v1/models", headers=headers)
    assert listed.status_code == 200
