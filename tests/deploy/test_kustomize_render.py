"""Rendering with `kubectl kustomize`: the real tool, and a clear message without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .contract import REPO_ROOT
from .kustomize import INSTALL_HINT, KubectlMissing, KustomizeError, Manifest, render


def test_overlays_render_with_generated_names(
    rendered_overlays: dict[str, list[Manifest]],
) -> None:
    for overlay, manifests in rendered_overlays.items():
        kinds = {manifest["kind"] for manifest in manifests}
        assert {"Deployment", "Service", "ConfigMap"} <= kinds, overlay


def test_a_missing_kubectl_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECTL", "kubectl-that-is-not-installed")
    with pytest.raises(KubectlMissing) as raised:
        render(REPO_ROOT / "k8s" / "base")
    assert INSTALL_HINT in str(raised.value)


def test_a_broken_kustomization_is_reported(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(KustomizeError, match=r"missing\.yaml"):
        render(tmp_path)


def test_production_manifests_never_load_the_starter_configuration(
    rendered_overlays: dict[str, list[Manifest]],
) -> None:
    """The starter is loaded by `riskwatch run` only: no manifest runs that launcher or the
    `riskwatch starter` verb, and none switches it on."""
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    for text in [compose, *(str(m) for ms in rendered_overlays.values() for m in ms)]:
        assert "riskwatch_simulator" not in text
        assert "'riskwatch', 'run'" not in text
        assert '"riskwatch", "run"' not in text
        assert "starter" not in text.lower()
