"""Merging the services' OpenAPI documents into one (pure)."""

from __future__ import annotations

import copy
from typing import Any

HIDDEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def merge_openapi(
    gateway_doc: dict[str, Any], service_docs: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Paths and component schemas from every service; a clash of different schemas under one
    name is resolved by prefixing the service's name (and rewriting its $refs)."""
    merged = copy.deepcopy(gateway_doc)
    merged["openapi"] = "3.1.0"
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, Any] = merged.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    tags: list[dict[str, Any]] = merged.setdefault("tags", [])
    for service, doc in sorted(service_docs.items()):
        doc = copy.deepcopy(doc)
        renames: dict[str, str] = {}
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                renames[name] = f"{service.capitalize()}{name}"
        if renames:
            doc = _rewrite_refs(doc, renames)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = schema
        for path, item in doc.get("paths", {}).items():
            if path in HIDDEN_PATHS:
                continue
            paths.setdefault(path, {}).update(item)
        known = {t["name"] for t in tags}
        for tag in doc.get("tags", []):
            if tag["name"] not in known:
                tags.append(tag)
    return merged


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                prefix = "#/components/schemas/"
                name = value.removeprefix(prefix)
                out[key] = prefix + renames.get(name, name) if value.startswith(prefix) else value
            elif key == "schemas" and isinstance(value, dict):
                out[key] = {renames.get(k, k): _rewrite_refs(v, renames) for k, v in value.items()}
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node
