"""A tiny, strict kustomize renderer for the deployment tests (no kustomize binary here).

It implements only what k8s/ uses and raises `UnsupportedKustomizeFeature` on anything else,
so a kustomization that grows a new feature fails the tests instead of rendering wrongly:

- `resources` (YAML files, possibly multi-document, and directories holding a kustomization),
- `namespace`,
- `images` (`name` with `newName` / `newTag`),
- `patches` from `path` or inline `patch`: a YAML list is a JSON 6902 patch (add, replace,
  remove) applied to every resource `target` selects (kind, name, labelSelector of `k=v`
  pairs); a mapping is a strategic merge patch matched by kind and name, merging the
  Kubernetes list keys in `STRATEGIC_MERGE_KEYS` (other lists, and all lists of custom
  resources, are replaced; `null` deletes a key),
- `configMapGenerator` / `secretGenerator` (`literals`, `files`, `envs`, `behavior`
  create|merge|replace, `options.disableNameSuffixHash`, `options.labels`) and
  `generatorOptions`, with a content-hash name suffix and the rewrite of references to
  generated names in pod templates.

Checked by hand against `kubectl kustomize` (v5.5): the same resources, names and fields,
except the hash digits and the order of strategically merged list items.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

KUSTOMIZATION_KEYS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "namespace",
        "images",
        "patches",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
    }
)
GENERATOR_KEYS = frozenset({"name", "behavior", "literals", "files", "envs", "options", "type"})
GENERATOR_OPTION_KEYS = frozenset({"disableNameSuffixHash", "labels"})
IMAGE_KEYS = frozenset({"name", "newName", "newTag"})
PATCH_KEYS = frozenset({"path", "patch", "target"})
TARGET_KEYS = frozenset({"kind", "name", "labelSelector"})
JSON6902_OPS = frozenset({"add", "replace", "remove"})
SMP_DIRECTIVES = ("$patch", "$setElementOrder", "$retainKeys", "$deleteFromPrimitiveList")

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
    }
)
POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"})
# Lists that Kubernetes' strategic merge patch merges by a key instead of replacing.
STRATEGIC_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "topologySpreadConstraints": "topologyKey",
}
# kustomize re-letters its hash so that it never reads as a number or a word.
HASH_RELETTERING = str.maketrans("013ae", "ghkmt")
BUILTIN_API_GROUPS = frozenset(
    {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "rbac.authorization.k8s.io"}
)


class UnsupportedKustomizeFeature(Exception):
    """The kustomization uses something this renderer does not implement."""


class KustomizeError(Exception):
    """The kustomization is wrong (missing file, unmatched patch, duplicate resource...)."""


@dataclass
class _Rendered:
    manifests: list[Manifest] = field(default_factory=list)
    # Generated resources by their name before the hash suffix, with their hash option.
    generated: dict[tuple[str, str], bool] = field(default_factory=dict)


def render(kustomization_dir: Path) -> list[Manifest]:
    """Render the kustomization in `kustomization_dir` the way `kubectl kustomize` would."""
    rendered = _render_tree(kustomization_dir.resolve())
    return _apply_name_suffix_hashes(rendered)


def _render_tree(directory: Path) -> _Rendered:
    kustomization = _load_kustomization(directory)
    rendered = _Rendered()
    for entry in kustomization.get("resources", []):
        _add_resource(rendered, directory / entry)
    default_options = _generator_options(kustomization.get("generatorOptions", {}))
    for generator in kustomization.get("configMapGenerator", []):
        _generate(rendered, directory, generator, "ConfigMap", default_options)
    for generator in kustomization.get("secretGenerator", []):
        _generate(rendered, directory, generator, "Secret", default_options)
    for patch_entry in kustomization.get("patches", []):
        _apply_patch_entry(rendered.manifests, directory, patch_entry)
    if "namespace" in kustomization:
        _set_namespace(rendered.manifests, kustomization["namespace"])
    for image in kustomization.get("images", []):
        _set_image(rendered.manifests, image)
    _check_unique_ids(rendered.manifests)
    return rendered


def _load_kustomization(directory: Path) -> dict[str, Any]:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"no kustomization.yaml in {directory}")
    kustomization = yaml.safe_load(path.read_text())
    if not isinstance(kustomization, dict):
        raise KustomizeError(f"{path} is not a mapping")
    unknown = set(kustomization) - KUSTOMIZATION_KEYS
    if unknown:
        raise UnsupportedKustomizeFeature(f"{path}: {sorted(unknown)}")
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        raise UnsupportedKustomizeFeature(f"{path}: kind {kustomization['kind']}")
    return kustomization


def _add_resource(rendered: _Rendered, path: Path) -> None:
    if path.is_dir():
        base = _render_tree(path)
        rendered.manifests.extend(base.manifests)
        rendered.generated.update(base.generated)
    elif path.is_file():
        rendered.manifests.extend(load_manifests(path))
    else:
        raise KustomizeError(f"resource {path} does not exist (remote resources are unsupported)")


def load_manifests(path: Path) -> list[Manifest]:
    """Every non-empty YAML document of `path`, each required to be a Kubernetes object."""
    manifests = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for manifest in manifests:
        if not isinstance(manifest, dict) or not {"apiVersion", "kind", "metadata"} <= set(
            manifest
        ):
            raise KustomizeError(f"{path}: a document is not a Kubernetes object")
    return manifests


# --- generators --------------------------------------------------------------------------


def _generator_options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - GENERATOR_OPTION_KEYS
    if unknown:
        raise UnsupportedKustomizeFeature(f"generator options {sorted(unknown)}")
    return options


def _generate(
    rendered: _Rendered,
    directory: Path,
    generator: dict[str, Any],
    kind: str,
    default_options: dict[str, Any],
) -> None:
    unknown = set(generator) - GENERATOR_KEYS
    if unknown:
        raise UnsupportedKustomizeFeature(f"{kind} generator keys {sorted(unknown)}")
    options = {**default_options, **_generator_options(generator.get("options", {}))}
    name = generator["name"]
    data = _generator_data(directory, generator)
    behavior = generator.get("behavior", "create")
    existing = _find(rendered.manifests, kind, name)
    if behavior == "create":
        if existing is not None:
            raise KustomizeError(f"{kind} {name} already exists: use behavior merge or replace")
        rendered.manifests.append(_generated_manifest(kind, name, data, generator, options))
        rendered.generated[(kind, name)] = not options.get("disableNameSuffixHash", False)
        return
    if existing is None or (kind, name) not in rendered.generated:
        raise KustomizeError(f"{kind} {name}: behavior {behavior} needs a generated base")
    if behavior == "merge":
        existing["data"] = {**existing.get("data", {}), **_encode(kind, data)}
    elif behavior == "replace":
        existing["data"] = _encode(kind, data)
    else:
        raise UnsupportedKustomizeFeature(f"generator behavior {behavior}")


def _generator_data(directory: Path, generator: dict[str, Any]) -> dict[str, str]:
    data: dict[str, str] = {}
    for literal in generator.get("literals", []):
        key, separator, value = literal.partition("=")
        if not separator:
            raise KustomizeError(f"literal {literal!r} is not KEY=VALUE")
        data[key] = value
    for file_entry in generator.get("files", []):
        if "=" in file_entry:
            raise UnsupportedKustomizeFeature(f"renamed generator file {file_entry!r}")
        file_path = directory / file_entry
        data[file_path.name] = file_path.read_text()
    for env_file in generator.get("envs", []):
        for line in (directory / env_file).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                data[key.strip()] = value
    return data


def _encode(kind: str, data: dict[str, str]) -> dict[str, str]:
    if kind == "ConfigMap":
        return dict(data)
    return {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}


def _generated_manifest(
    kind: str, name: str, data: dict[str, str], generator: dict[str, Any], options: dict[str, Any]
) -> Manifest:
    manifest: Manifest = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    if options.get("labels"):
        manifest["metadata"]["labels"] = dict(options["labels"])
    if kind == "Secret":
        manifest["type"] = generator.get("type", "Opaque")
    manifest["data"] = _encode(kind, data)
    return manifest


def _apply_name_suffix_hashes(rendered: _Rendered) -> list[Manifest]:
    renames: dict[tuple[str, str], str] = {}
    for (kind, name), hashed in rendered.generated.items():
        if not hashed:
            continue
        for manifest in rendered.manifests:
            if manifest["kind"] == kind and manifest["metadata"]["name"] == name:
                new_name = f"{name}-{content_hash(manifest)}"
                manifest["metadata"]["name"] = new_name
                renames[(kind, name)] = new_name
    for manifest in rendered.manifests:
        for pod_spec in _pod_specs(manifest):
            _rename_references(pod_spec, renames)
    return rendered.manifests


def content_hash(manifest: Manifest) -> str:
    """A name suffix that changes with the content, as kustomize's does (not the same digits)."""
    encoded = {
        "kind": manifest["kind"],
        "name": manifest["metadata"]["name"],
        "type": manifest.get("type", ""),
        "data": manifest.get("data", {}),
    }
    digest = hashlib.sha256(json.dumps(encoded, sort_keys=True).encode()).hexdigest()[:10]
    return digest.translate(HASH_RELETTERING)


def _rename_references(pod_spec: dict[str, Any], renames: dict[tuple[str, str], str]) -> None:
    def rename(reference: dict[str, Any] | None, kind: str, key: str = "name") -> None:
        if reference is not None and (kind, reference.get(key)) in renames:
            reference[key] = renames[(kind, reference[key])]

    for container in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        for source in container.get("envFrom", []):
            rename(source.get("configMapRef"), "ConfigMap")
            rename(source.get("secretRef"), "Secret")
        for variable in container.get("env", []):
            value_from = variable.get("valueFrom", {})
            rename(value_from.get("configMapKeyRef"), "ConfigMap")
            rename(value_from.get("secretKeyRef"), "Secret")
    for volume in pod_spec.get("volumes", []):
        rename(volume.get("configMap"), "ConfigMap")
        rename(volume.get("secret"), "Secret", key="secretName")
        for source in volume.get("projected", {}).get("sources", []):
            rename(source.get("configMap"), "ConfigMap")
            rename(source.get("secret"), "Secret")


def _pod_specs(manifest: Manifest) -> Iterator[dict[str, Any]]:
    if manifest["kind"] in POD_TEMPLATE_KINDS:
        yield manifest["spec"]["template"]["spec"]
    elif manifest["kind"] == "CronJob":
        yield manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    elif manifest["kind"] == "Pod":
        yield manifest["spec"]


# --- patches -----------------------------------------------------------------------------


def _apply_patch_entry(manifests: list[Manifest], directory: Path, entry: dict[str, Any]) -> None:
    unknown = set(entry) - PATCH_KEYS
    if unknown:
        raise UnsupportedKustomizeFeature(f"patch keys {sorted(unknown)}")
    if ("path" in entry) == ("patch" in entry):
        raise KustomizeError("a patch needs exactly one of path and patch")
    text = (directory / entry["path"]).read_text() if "path" in entry else entry["patch"]
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    if len(documents) == 1 and isinstance(documents[0], list):
        targets = _select_targets(manifests, entry.get("target"))
        for manifest in targets:
            apply_json6902(manifest, documents[0])
        return
    if "target" in entry:
        raise UnsupportedKustomizeFeature("a target on a strategic merge patch")
    for document in documents:
        target = _find(manifests, document["kind"], document["metadata"]["name"])
        if target is None:
            raise KustomizeError(f"patch target {document['kind']}/{document['metadata']['name']}")
        merged = strategic_merge(target, document, builtin=_is_builtin(target))
        target.clear()
        target.update(merged)


def _select_targets(manifests: list[Manifest], target: dict[str, Any] | None) -> list[Manifest]:
    if not target:
        raise KustomizeError("a JSON 6902 patch needs a target")
    unknown = set(target) - TARGET_KEYS
    if unknown:
        raise UnsupportedKustomizeFeature(f"patch target keys {sorted(unknown)}")
    labels = _parse_label_selector(target.get("labelSelector", ""))
    selected = [
        manifest
        for manifest in manifests
        if manifest["kind"] == target.get("kind", manifest["kind"])
        and manifest["metadata"]["name"] == target.get("name", manifest["metadata"]["name"])
        and labels.items() <= manifest["metadata"].get("labels", {}).items()
    ]
    if not selected:
        raise KustomizeError(f"patch target {target} selects nothing")
    return selected


def _parse_label_selector(selector: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for requirement in filter(None, (part.strip() for part in selector.split(","))):
        key, separator, value = requirement.partition("=")
        if not separator or value.startswith("=") or key.endswith("!"):
            raise UnsupportedKustomizeFeature(f"label selector {requirement!r} (only k=v)")
        labels[key] = value
    return labels


def apply_json6902(manifest: Manifest, operations: list[dict[str, Any]]) -> None:
    """Apply JSON 6902 `add`, `replace` and `remove` operations to `manifest` in place."""
    for operation in operations:
        op = operation.get("op")
        if op not in JSON6902_OPS:
            raise UnsupportedKustomizeFeature(f"JSON 6902 op {op!r}")
        *parents, last = [
            token.replace("~1", "/").replace("~0", "~")
            for token in operation["path"].split("/")[1:]
        ]
        container: Any = manifest
        for token in parents:
            container = container[int(token)] if isinstance(container, list) else container[token]
        _apply_operation(container, op, last, operation.get("value"))


def _apply_operation(container: Any, op: str, key: str, value: Any) -> None:
    if isinstance(container, list):
        if op == "add":
            position = len(container) if key == "-" else int(key)
            container.insert(position, copy.deepcopy(value))
        elif op == "replace":
            container[int(key)] = copy.deepcopy(value)
        else:
            del container[int(key)]
        return
    if op == "replace" and key not in container:
        raise KustomizeError(f"JSON 6902 replace of missing key {key!r}")
    if op == "remove":
        del container[key]
    else:
        container[key] = copy.deepcopy(value)


def strategic_merge(original: Any, patch: Any, *, builtin: bool) -> Any:
    """Kubernetes strategic merge of `patch` onto `original` (plain JSON merge if not builtin)."""
    if not isinstance(patch, dict) or not isinstance(original, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(original)
    for key, value in patch.items():
        if key in SMP_DIRECTIVES:
            raise UnsupportedKustomizeFeature(f"strategic merge directive {key}")
        if value is None:
            merged.pop(key, None)
        elif builtin and key in STRATEGIC_MERGE_KEYS and isinstance(value, list):
            merged[key] = _merge_list(merged.get(key, []), value, STRATEGIC_MERGE_KEYS[key])
        else:
            merged[key] = strategic_merge(merged.get(key), value, builtin=builtin)
    return merged


def _merge_list(original: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    merged = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise UnsupportedKustomizeFeature(f"list item without merge key {merge_key}")
        position = next(
            (index for index, old in enumerate(merged) if old.get(merge_key) == item[merge_key]),
            None,
        )
        if position is None:
            merged.append(strategic_merge({}, item, builtin=True))
        else:
            merged[position] = strategic_merge(merged[position], item, builtin=True)
    return merged


def _is_builtin(manifest: Manifest) -> bool:
    api_version: str = manifest["apiVersion"]
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return group in BUILTIN_API_GROUPS


# --- namespace, images, identity ----------------------------------------------------------


def _set_namespace(manifests: list[Manifest], namespace: str) -> None:
    for manifest in manifests:
        if manifest["kind"] not in CLUSTER_SCOPED_KINDS:
            manifest["metadata"]["namespace"] = namespace


def _set_image(manifests: list[Manifest], image: dict[str, Any]) -> None:
    unknown = set(image) - IMAGE_KEYS
    if unknown:
        raise UnsupportedKustomizeFeature(f"image keys {sorted(unknown)}")
    for manifest in manifests:
        for pod_spec in _pod_specs(manifest):
            for container in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
                name, _, tag = container["image"].partition(":")
                if "@" in container["image"]:
                    raise UnsupportedKustomizeFeature("image digests")
                if name == image["name"]:
                    new_tag = image.get("newTag", tag)
                    new_name = image.get("newName", name)
                    container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def _find(manifests: list[Manifest], kind: str, name: str) -> Manifest | None:
    for manifest in manifests:
        if manifest["kind"] == kind and manifest["metadata"]["name"] == name:
            return manifest
    return None


def resource_id(manifest: Manifest) -> tuple[str, str, str, str]:
    """(apiVersion group, kind, namespace, name): what kustomize requires to be unique."""
    group = manifest["apiVersion"].rpartition("/")[0]
    metadata = manifest["metadata"]
    return group, manifest["kind"], metadata.get("namespace", ""), metadata["name"]


def _check_unique_ids(manifests: list[Manifest]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for manifest in manifests:
        identity = resource_id(manifest)
        if identity in seen:
            raise KustomizeError(f"duplicate resource {identity}")
        seen.add(identity)
