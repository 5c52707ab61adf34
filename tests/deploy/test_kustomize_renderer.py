"""The test renderer itself: it must render what we use and refuse what it does not know."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .kustomize import (
    KustomizeError,
    Manifest,
    UnsupportedKustomizeFeature,
    apply_json6902,
    render,
    strategic_merge,
)

DEPLOYMENT: Manifest = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "customer", "labels": {"tier": "api"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "customer",
                        "image": "ghcr.io/riskwatch/customer:0.1.0",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "envFrom": [{"configMapRef": {"name": "settings"}}],
                    }
                ]
            }
        },
    },
}


def write_tree(root: Path, files: dict[str, object]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return root


def test_strategic_merge_merges_containers_and_env_by_name() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "customer", "env": [{"name": "B", "value": "3"}, {"name": "C"}]}
                    ]
                }
            }
        }
    }

    merged = strategic_merge(DEPLOYMENT, patch, builtin=True)

    container = merged["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/riskwatch/customer:0.1.0"
    assert container["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C"},
    ]
    assert DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] == "2"


def test_strategic_merge_null_deletes_and_custom_resource_lists_are_replaced() -> None:
    original = {"spec": {"a": 1, "items": [{"name": "x", "v": 1}], "env": [{"name": "k"}]}}

    merged = strategic_merge(original, {"spec": {"a": None, "env": [{"name": "j"}]}}, builtin=False)

    assert merged == {"spec": {"items": [{"name": "x", "v": 1}], "env": [{"name": "j"}]}}


def test_strategic_merge_directive_is_refused() -> None:
    with pytest.raises(UnsupportedKustomizeFeature):
        strategic_merge(DEPLOYMENT, {"spec": {"$patch": "replace"}}, builtin=True)


def test_json6902_add_replace_remove() -> None:
    manifest = {"metadata": {"name": "a", "labels": {"x/y": "1"}}, "spec": {"items": [1, 2]}}

    apply_json6902(
        manifest,
        [
            {"op": "replace", "path": "/metadata/labels/x~1y", "value": "2"},
            {"op": "add", "path": "/spec/items/-", "value": 3},
            {"op": "remove", "path": "/spec/items/0"},
        ],
    )

    assert manifest == {
        "metadata": {"name": "a", "labels": {"x/y": "2"}},
        "spec": {"items": [2, 3]},
    }


@pytest.mark.parametrize("operation", ["move", "copy", "test"])
def test_json6902_unimplemented_operations_are_refused(operation: str) -> None:
    with pytest.raises(UnsupportedKustomizeFeature):
        apply_json6902({}, [{"op": operation, "path": "/a", "from": "/b"}])


def test_unknown_kustomization_field_fails_loudly(tmp_path: Path) -> None:
    write_tree(tmp_path, {"kustomization.yaml": {"resources": [], "namePrefix": "x-"}})

    with pytest.raises(UnsupportedKustomizeFeature, match="namePrefix"):
        render(tmp_path)


def test_patch_that_selects_nothing_is_an_error(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "deployment.yaml": DEPLOYMENT,
            "kustomization.yaml": {
                "resources": ["deployment.yaml"],
                "patches": [
                    {"target": {"kind": "StatefulSet"}, "patch": "- {op: remove, path: /spec}"}
                ],
            },
        },
    )

    with pytest.raises(KustomizeError, match="selects nothing"):
        render(tmp_path)


def test_overlay_generators_hash_names_and_rewrite_references(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "base/deployment.yaml": DEPLOYMENT,
            "base/kustomization.yaml": {
                "resources": ["deployment.yaml"],
                "configMapGenerator": [{"name": "settings", "literals": ["A=1", "B=2"]}],
            },
            "overlay/kustomization.yaml": {
                "namespace": "riskwatch",
                "resources": ["../base"],
                "configMapGenerator": [
                    {"name": "settings", "behavior": "merge", "literals": ["B=3"]}
                ],
                "secretGenerator": [{"name": "keys", "literals": ["K=v"]}],
                "images": [{"name": "ghcr.io/riskwatch/customer", "newTag": "1.2.3"}],
                "patches": [
                    {
                        "target": {"kind": "Deployment", "labelSelector": "tier=api"},
                        "patch": "- {op: replace, path: /spec/replicas, value: 5}",
                    }
                ],
            },
        },
    )

    manifests = {m["kind"]: m for m in render(tmp_path / "overlay")}

    config_map = manifests["ConfigMap"]
    assert config_map["data"] == {"A": "1", "B": "3"}
    assert config_map["metadata"]["name"].startswith("settings-")
    assert manifests["Secret"]["data"] == {"K": "dg=="}
    deployment = manifests["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"][0]["configMapRef"]["name"] == config_map["metadata"]["name"]
    assert container["image"] == "ghcr.io/riskwatch/customer:1.2.3"
    assert deployment["spec"]["replicas"] == 5
    assert {m["metadata"]["namespace"] for m in manifests.values()} == {"riskwatch"}


def test_generated_name_changes_with_content(tmp_path: Path) -> None:
    def generated_name(value: str) -> str:
        write_tree(
            tmp_path,
            {"kustomization.yaml": {"configMapGenerator": [{"name": "c", "literals": [value]}]}},
        )
        return str(render(tmp_path)[0]["metadata"]["name"])

    assert generated_name("A=1") != generated_name("A=2")
