"""Models to and from JSON (never pickle), and the inputs hash recorded with each score."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from riskwatch_scoring.domain.anomaly import AnomalyModel
from riskwatch_scoring.domain.boosting import BoostedModel
from riskwatch_scoring.domain.canonical import canonical_json, inputs_hash
from riskwatch_scoring.domain.churn import ChurnModel
from riskwatch_scoring.domain.scorecard import Scorecard

Model = Scorecard | AnomalyModel | ChurnModel | BoostedModel
__all__ = ["Model", "canonical_json", "inputs_hash", "load_model", "model_to_json"]


def model_to_json(model: Model) -> str:
    return model.to_json()


def load_model(document: str | Mapping[str, Any]) -> Model:
    """A model from `model_to_json` output (or its parsed dict), dispatched on model_type."""
    state = json.loads(document) if isinstance(document, str) else document
    match state.get("model_type"):
        case "scorecard":
            return Scorecard.from_state(state)
        case "anomaly":
            return AnomalyModel.from_state(state)
        case "churn":
            return ChurnModel.from_state(state)
        case "boosted":
            return BoostedModel.from_state(state)
    raise ValueError(f"unknown model_type {state.get('model_type')!r}")
