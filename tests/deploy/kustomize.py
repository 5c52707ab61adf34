"""The k8s/ overlays rendered by kustomize itself: `kubectl kustomize` (kustomize is built into
kubectl since 1.14), so the deployment tests check exactly what `kubectl apply -k` would send.

`KUBECTL` names the binary when it is not `kubectl` on the PATH. Without one, the tests fail
with a message saying how to get it, never silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
INSTALL_HINT = (
    "the deployment tests render k8s/ with `kubectl kustomize`, and no kubectl was found: "
    "install kubectl (e.g. `apt-get install kubectl`, or "
    "https://kubernetes.io/docs/tasks/tools/) or point KUBECTL at the binary"
)


class KubectlMissing(RuntimeError):
    """No kubectl to render the kustomizations with."""


class KustomizeError(RuntimeError):
    """`kubectl kustomize` refused the kustomization (its message included)."""


def kubectl() -> str:
    configured = os.environ.get("KUBECTL")
    found = shutil.which(configured or "kubectl")
    if found is None:
        raise KubectlMissing(f"{INSTALL_HINT} (looked for {configured or 'kubectl'!r})")
    return found


def render(kustomization_dir: Path) -> list[Manifest]:
    """Every resource `kubectl kustomize <dir>` renders, in its order."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(kustomization_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise KustomizeError(f"kubectl kustomize {kustomization_dir}: {done.stderr.strip()}")
    return [document for document in yaml.safe_load_all(done.stdout) if document]
