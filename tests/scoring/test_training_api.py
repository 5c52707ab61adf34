"""Training through the API (CSV upload and labels x stored features), the registry, drift."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import riskwatch_scoring
from riskwatch_scoring.periodic import check_drift_once
from riskwatch_shared.events.scoring import ModelDriftDetected
from riskwatch_shared.testing import wait_until

from .builders import created, credit_record, promoted, wait_for_version
from .conftest import ScoringHarness

SAMPLE_CSV = Path(riskwatch_scoring.__file__).parent / "data" / "uci_credit_card_sample.csv"


async def test_training_on_the_public_dataset_reports_held_out_quality(
    scoring: ScoringHarness,
) -> None:
    response = await scoring.client.post(
        "/v1/models/credit/train",
        params={"target": "default"},
        content=SAMPLE_CSV.read_bytes(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    report = body["report"]
    # Reference: logistic regression on this sample, 5-fold CV AUC 0.621 +/- 0.031.
    assert 0.57 <= report["auc_mean"] <= 0.68
    assert len(report["fold_aucs"]) == 5
    assert report["validation"] == "stratified 5-fold CV"
    assert abs(report["gini"] - (2 * report["auc_mean"] - 1)) < 0.05
    assert 0.05 < report["ks"] < 0.5
    assert 0.1 < report["brier"] < 0.25
    assert len(report["calibration"]) == 10
    assert sum(row["count"] for row in report["calibration"]) == 6_000
    roc = report["roc"]
    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0)
    assert (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)
    assert 10 < len(roc) <= 102
    model = body["model"]
    assert model["status"] == "candidate"
    assert model["kind"] == "credit"
    assert set(model["features"]) == {"EDUCATION", "MARRIAGE", "LIMIT_BAL", "BILL_AMT1"}
    assert len(model["training_fingerprint"]) == 64
    assert model["metrics"]["auc_mean"] == report["auc_mean"]

    # Its columns are not customer features: it can be inspected, not put in front of customers.
    refused = await scoring.client.post(f"/v1/models/{model['id']}/activate")
    assert refused.status_code == 409
    detail = (await scoring.client.get(f"/v1/models/{model['id']}")).json()
    assert detail["deployable"] is False


async def test_training_rejects_bad_uploads(scoring: ScoringHarness) -> None:
    headers = {"content-type": "text/csv"}
    no_target = await scoring.client.post(
        "/v1/models/credit/train", params={"target": "nope"}, content=b"a,b\n1,2\n", headers=headers
    )
    assert no_target.status_code == 422
    assert no_target.json()["type"].endswith("invalid-training-data")
    anomaly = await scoring.client.post("/v1/models/anomaly/train", json={})
    assert anomaly.status_code == 422


async def _labelled_customers(scoring: ScoringHarness, n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    labels, customers = [], []
    for _ in range(n):
        customer_id = uuid.uuid4()
        late = rng.random() < 0.4
        utilisation = rng.uniform(0.6, 0.99) if late else rng.uniform(0.05, 0.7)
        score = rng.randint(520, 660) if late else rng.randint(620, 820)
        record = credit_record(
            customer_id,
            date(2026, 10, 1),
            score=score,
            debt=str(int(utilisation * 10_000)),
            limit="10000",
            delinquencies_30=rng.randint(1, 3) if late else rng.randint(0, 1),
        )
        await scoring.publish(created(customer_id), record)
        customers.append(customer_id)
        defaulted = late if rng.random() < 0.85 else not late
        labels.append((customer_id, int(defaulted)))
    for customer_id in customers:
        await wait_for_version(scoring.runtime.engine, customer_id, 2)
    observed = datetime.now(UTC).isoformat()
    return [
        {"customer_id": str(c), "kind": "credit", "outcome": o, "observed_at": observed}
        for c, o in labels
    ]


async def _model_versions_of(
    scoring: ScoringHarness, customer_id: uuid.UUID
) -> set[tuple[str, bool]]:
    history = (
        await scoring.client.get(
            f"/v1/customers/{customer_id}/risk/history",
            params={"kind": "credit", "include_shadow": "true"},
        )
    ).json()
    return {(item["model_version"], item["is_shadow"]) for item in history["items"]}


async def test_train_on_labels_shadow_activate_and_roll_back(scoring: ScoringHarness) -> None:
    labels = await _labelled_customers(scoring, 80)
    posted = await scoring.client.post("/v1/labels", json={"labels": labels})
    assert posted.status_code == 201
    trained = await scoring.client.post(
        "/v1/models/credit/train",
        json={"features": ["utilisation", "bureau_score", "delinquencies_30"], "folds": 4},
    )
    assert trained.status_code == 201, trained.text
    report, model = trained.json()["report"], trained.json()["model"]
    assert report["n_rows"] == 80
    assert report["source"] == "labels"
    assert report["auc_mean"] > 0.7  # the labels follow the record's quality
    models = (await scoring.client.get("/v1/models", params={"kind": "credit"})).json()["items"]
    expert = next(m for m in models if m["model_version"] == "credit-expert-1")

    await promoted(scoring.client, model["id"], "shadow")
    shadowed = (await scoring.client.get(f"/v1/models/{model['id']}")).json()
    assert shadowed["status"] == "challenger"
    try:
        customer_id = uuid.uuid4()
        await scoring.publish(
            created(customer_id), credit_record(customer_id, date(2026, 11, 1), score=600)
        )
        await wait_for_version(scoring.runtime.engine, customer_id, 2)
        assert await _model_versions_of(scoring, customer_id) == {
            ("credit-expert-1", False),
            (model["model_version"], True),
        }

        await promoted(scoring.client, model["id"], "activate")
        activated = (await scoring.client.get(f"/v1/models/{model['id']}")).json()
        assert activated["status"] == "champion"
        later = uuid.uuid4()
        await scoring.publish(created(later), credit_record(later, date(2026, 11, 1), score=600))
        await wait_for_version(scoring.runtime.engine, later, 2)
        assert (model["model_version"], False) in await _model_versions_of(scoring, later)
        risk = (await scoring.client.get(f"/v1/customers/{later}/risk")).json()
        assert risk["assessments"]["credit"]["model_version"] == model["model_version"]
    finally:
        await promoted(scoring.client, expert["id"], "activate")
    statuses = {
        m["id"]: m["status"]
        for m in (await scoring.client.get("/v1/models", params={"kind": "credit"})).json()["items"]
    }
    assert statuses[expert["id"]] == "champion"
    assert statuses[model["id"]] == "retired"


async def test_drift_past_the_threshold_publishes_once(scoring: ScoringHarness) -> None:
    for _ in range(25):
        customer_id = uuid.uuid4()
        await scoring.publish(created(customer_id))
    await wait_for_version(scoring.runtime.engine, customer_id, 1)
    models = (await scoring.client.get("/v1/models", params={"kind": "churn"})).json()["items"]
    churn = next(m for m in models if m["status"] == "champion")
    engine = scoring.runtime.engine
    reset = text(
        "UPDATE scoring_model SET baseline_scores = CAST(:baseline AS jsonb), "
        "drift_alerted_on = NULL WHERE id = :id"
    )
    async with engine.begin() as conn:  # a baseline far from today's churn scores
        await conn.execute(
            reset, {"baseline": "[" + ",".join(["0.9"] * 200) + "]", "id": churn["id"]}
        )
    alerted_on = text("SELECT drift_alerted_on FROM scoring_model WHERE id = :id")
    try:
        # Reading the drift announces nothing: the periodic check does.
        read = (await scoring.client.get(f"/v1/models/{churn['id']}/drift")).json()
        assert read["status"] == "drifted"
        assert read["event_published"] is False
        async with engine.connect() as conn:
            assert await conn.scalar(alerted_on, {"id": churn["id"]}) is None
        assert await check_drift_once(scoring.runtime) >= 1  # the periodic check
        assert await check_drift_once(scoring.runtime) == 0  # once a day
        drift = (await scoring.client.get(f"/v1/models/{churn['id']}/drift")).json()
        assert drift["status"] == "drifted"
        assert drift["psi"] > 0.25
        assert drift["event_published"] is True  # by the check, today
        # Detection health: the serving model's PSI as a Prometheus gauge.
        exposed = (await scoring.client.get("/metrics")).text
        labels = f'kind="churn",model_id="{churn["id"]}",status="champion"'
        gauge = f"riskwatch_model_drift_psi{{{labels}}}"
        assert gauge in exposed
        assert float(exposed.split(gauge)[1].split()[0]) == pytest.approx(drift["psi"])

        async def drift_event() -> bool:
            return any(
                isinstance(e, ModelDriftDetected)
                and str(e.model_id) == churn["id"]
                and e.model_version == churn["model_version"]
                for e in scoring.published.events
            )

        await wait_until(drift_event, timeout=20, message="drift event published")
    finally:
        async with engine.begin() as conn:
            await conn.execute(reset, {"baseline": "null", "id": churn["id"]})
    settled = (await scoring.client.get(f"/v1/models/{churn['id']}/drift")).json()
    assert settled["status"] in ("stable", "watch", "drifted")
    assert settled["baseline_scores"] == 200


async def test_registry_refuses_impossible_transitions(scoring: ScoringHarness) -> None:
    models = (await scoring.client.get("/v1/models", params={"kind": "anomaly"})).json()["items"]
    champion = next(m for m in models if m["status"] == "champion")
    as_challenger = await scoring.client.post(f"/v1/models/{champion['id']}/shadow")
    assert as_challenger.status_code == 409
    assert as_challenger.headers["content-type"].startswith("application/problem+json")
    unknown = await scoring.client.post(f"/v1/models/{uuid.uuid4()}/activate")
    assert unknown.status_code == 404


def _signal_csv(rows: int = 60, target: tuple[str, str] = ("0", "1")) -> str:
    lines = ["amount,segment,flat,bad"]
    for i in range(rows):
        defaulted = i % 3 == 0
        amount = 900 + i if defaulted else 100 + i
        segment = "sme" if i % 2 else "retail"
        lines.append(f"{amount},{segment},7,{target[int(defaulted)]}")
    return "\n".join(lines) + "\n"


async def _train_csv(scoring: ScoringHarness, text: str, **params: str) -> Any:
    return await scoring.client.post(
        "/v1/models/credit/train",
        params={"target": "bad", **params},
        content=text.encode(),
        headers={"content-type": "text/csv"},
    )


async def _credit_model_count(scoring: ScoringHarness) -> int:
    listed = await scoring.client.get("/v1/models", params={"kind": "credit"})
    return len(listed.json()["items"])


async def test_training_refuses_what_it_would_otherwise_drop_or_misread(
    scoring: ScoringHarness,
) -> None:
    before = await _credit_model_count(scoring)
    undeclared = await _train_csv(scoring, _signal_csv(), categorical="bad")
    assert undeclared.status_code == 422
    assert "segment" in undeclared.json()["detail"]
    constant = await _train_csv(scoring, _signal_csv(), features="amount,flat")
    assert constant.status_code == 422
    assert "flat" in constant.json()["detail"]
    lines = _signal_csv().splitlines()
    lines[4] = lines[4].rsplit(",", 1)[0] + ",1.5"
    half = await _train_csv(scoring, "\n".join(lines) + "\n")
    assert half.status_code == 422
    assert "1.5" in half.json()["detail"]
    assert await _credit_model_count(scoring) == before  # nothing stored

    worded = await _train_csv(scoring, _signal_csv(target=("good", "bad")), bad_value="bad")
    assert worded.status_code == 201, worded.text
    report = worded.json()["report"]
    assert report["positive_rate"] == 1 / 3
    assert report["features"] == ["amount", "segment"]
    assert report["dropped_features"] == {"flat": "fewer than two distinct values"}
    assert report["parameters"]["bad_value"] == "bad"


async def test_versions_name_the_encoding_and_candidates_can_be_retired(
    scoring: ScoringHarness,
) -> None:
    linear = (await _train_csv(scoring, _signal_csv(), encoding="linear")).json()["model"]
    binned = (await _train_csv(scoring, _signal_csv(), encoding="binned")).json()["model"]
    assert linear["training_fingerprint"] == binned["training_fingerprint"]  # same data
    assert linear["model_version"].startswith("credit-linear-")
    assert binned["model_version"].startswith("credit-binned-")
    assert linear["model_version"].split("-v")[0] != binned["model_version"].split("-v")[0]

    retired = await scoring.client.post(f"/v1/models/{linear['id']}/retire")
    assert retired.status_code == 200, retired.text
    assert retired.json()["status"] == "retired"
    again = await scoring.client.post(f"/v1/models/{linear['id']}/retire")
    assert again.status_code == 200
    assert again.json()["status"] == "retired"
    models = (await scoring.client.get("/v1/models", params={"kind": "credit"})).json()["items"]
    statuses = {m["id"]: m["status"] for m in models}
    assert statuses[linear["id"]] == "retired"
    assert statuses[binned["id"]] == "candidate"
    champion = next(m for m in models if m["status"] == "champion")
    refused = await scoring.client.post(f"/v1/models/{champion['id']}/retire")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    unknown = await scoring.client.post(f"/v1/models/{uuid.uuid4()}/retire")
    assert unknown.status_code == 404


async def test_a_boosted_model_trained_on_labels_serves_with_its_own_reasons(
    scoring: ScoringHarness,
) -> None:
    labels = await _labelled_customers(scoring, 80)
    assert (await scoring.client.post("/v1/labels", json={"labels": labels})).status_code == 201
    trained = await scoring.client.post(
        "/v1/models/credit/train",
        json={
            "features": ["utilisation", "bureau_score", "delinquencies_30"],
            "folds": 4,
            "algorithm": "lightgbm",
        },
    )
    assert trained.status_code == 201, trained.text
    report, model = trained.json()["report"], trained.json()["model"]
    assert report["algorithm"] == "lightgbm"
    assert report["calibrated_by"] == "Platt scaling on out-of-fold margins"
    assert model["model_version"].startswith("credit-lightgbm-")
    models = (await scoring.client.get("/v1/models", params={"kind": "credit"})).json()["items"]
    champion = next(m for m in models if m["status"] == "champion")
    await promoted(scoring.client, model["id"], "activate")
    try:
        customer_id = uuid.uuid4()
        record = credit_record(
            customer_id,
            date(2026, 11, 1),
            score=540,
            debt="9800",
            limit="10000",
            delinquencies_30=3,
        )
        await scoring.publish(created(customer_id), record)
        await wait_for_version(scoring.runtime.engine, customer_id, 2)
        risk = (await scoring.client.get(f"/v1/customers/{customer_id}/risk")).json()
        credit = risk["assessments"]["credit"]
        assert credit["model_version"] == model["model_version"]
        codes = {reason["code"] for reason in credit["reasons"]}
        assert codes
        assert codes <= {
            "utilisation_points",
            "bureau_score_points",
            "delinquencies_30_points",
        }
    finally:
        await promoted(scoring.client, champion["id"], "activate")


async def test_churn_trains_with_the_same_algorithms_and_churn_cut_offs(
    scoring: ScoringHarness,
) -> None:
    response = await scoring.client.post(
        "/v1/models/churn/train",
        params={"target": "bad", "algorithm": "lightgbm", "folds": "3"},
        content=_signal_csv(rows=90).encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    model = response.json()["model"]
    assert model["kind"] == "churn"
    assert model["model_version"].startswith("churn-lightgbm-")
    document = (await scoring.client.get(f"/v1/models/{model['id']}")).json()["model"]
    assert document["model_type"] == "boosted"
    assert document["kind"] == "churn"
    assert document["cutoffs"] == {"medium": 0.3, "high": 0.55, "critical": 0.8}
