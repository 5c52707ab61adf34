"""The monitoring overlay (issue 23 item 5): the Grafana dashboards render as ConfigMaps with
the label Grafana's sidecar loads, and every query names metrics the services export."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from prometheus_client import REGISTRY

import riskwatch_shared.metrics  # noqa: F401  (registers every service's metrics)

from .contract import REPO_ROOT
from .kustomize import Manifest, render

MONITORING = REPO_ROOT / "k8s" / "overlays" / "monitoring"
# What a metric family exposes, by type (prometheus_client's naming).
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created", ""),
}


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict[str, Any]]:
    rendered: list[Manifest] = render(MONITORING)
    found = {}
    for manifest in rendered:
        labels = manifest["metadata"].get("labels", {})
        if manifest["kind"] == "ConfigMap" and labels.get("grafana_dashboard") == "1":
            for name, text in manifest["data"].items():
                found[name] = json.loads(text)
    return found


def exported_metric_names() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        for suffix in _SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def test_the_detection_health_dashboard_is_loaded_by_label(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    dashboard = dashboards["riskwatch-detection-health.json"]
    assert dashboard["uid"] == "riskwatch-detection-health"
    titles = " ".join(panel["title"] for panel in dashboard["panels"])
    for topic in ("baseline", "Precision", "Fire rate", "drift"):
        assert topic in titles


def test_every_dashboard_query_names_metrics_that_exist(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    exported = exported_metric_names()
    used: set[str] = set()
    for dashboard in dashboards.values():
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                names = set(re.findall(r"\briskwatch_[a-z0-9_]+", target["expr"]))
                assert names, f"{panel['title']}: a query naming no RiskWatch metric"
                used |= names
        for variable in dashboard["templating"]["list"]:
            used |= set(re.findall(r"\briskwatch_[a-z0-9_]+", str(variable.get("definition", ""))))
    assert used <= exported, sorted(used - exported)
    for health_metric in (
        "riskwatch_rule_matches_total",
        "riskwatch_rule_alerts_total",
        "riskwatch_rule_precision",
        "riskwatch_rule_baseline_ratio",
        "riskwatch_model_drift_psi",
    ):
        assert health_metric in used


def test_a_misspelt_metric_would_be_caught() -> None:
    assert "riskwatch_rule_precision" in exported_metric_names()
    assert "riskwatch_rule_precison" not in exported_metric_names()
    assert "riskwatch_rule_alerts" not in exported_metric_names()  # a counter needs _total
