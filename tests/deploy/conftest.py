from __future__ import annotations

import pytest

from .contract import K8S_OVERLAYS, REPO_ROOT
from .kustomize import Manifest, render


@pytest.fixture(scope="session")
def rendered_overlays() -> dict[str, list[Manifest]]:
    """Every overlay rendered once for the whole session (rendering is pure)."""
    return {overlay: render(REPO_ROOT / "k8s" / "overlays" / overlay) for overlay in K8S_OVERLAYS}
