"""Merging the services' OpenAPI documents into one (pure)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from riskwatch_shared.contract import truthful_openapi

HIDDEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
SCHEMA_PREFIX = "#/components/schemas/"
PUBLIC_OPERATIONS = frozenset({("post", "/v1/auth/token")})

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token from `POST /v1/auth/token` or the institution's OIDC provider.",
    },
    "oauth2Password": {
        "type": "oauth2",
        "description": "Sign in with e-mail and password (the docs' Authorize dialog).",
        "flows": {"password": {"tokenUrl": "/v1/auth/token", "scopes": {}}},
    },
    "apiKeyAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A machine client's key (`rw_<id>_<secret>`); also accepted as bearer.",
    },
}
SECURITY: list[dict[str, list[str]]] = [
    {"bearerAuth": []},
    {"oauth2Password": []},
    {"apiKeyAuth": []},
]
# Declared on every secured operation: the gateway's admission answers them itself.
GATEWAY_STATUSES = ("401", "403", "429")


def merge_openapi(
    gateway_doc: dict[str, Any],
    service_docs: dict[str, dict[str, Any]],
    *,
    owner_of: Callable[[str], str | None],
) -> dict[str, Any]:
    """One document: the gateway's own paths, then each service's paths that route to it.

    A clash of different schemas under one name is resolved by prefixing the service's name
    (and rewriting its $refs); a clashing operationId gets the service's name as prefix.
    """
    merged = copy.deepcopy(gateway_doc)
    merged["openapi"] = "3.1.0"
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, Any] = merged.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    tags: list[dict[str, Any]] = merged.setdefault("tags", [])
    operation_ids = {op.get("operationId") for _, _, op in _operations(paths)}
    for service, original in sorted(service_docs.items()):
        doc = _renamed_schemas(service, copy.deepcopy(original), schemas)
        schemas.update(doc.get("components", {}).get("schemas", {}))
        for path, item in doc.get("paths", {}).items():
            if path in HIDDEN_PATHS or owner_of(path) != service:
                continue
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    op_id = operation.get("operationId")
                    if op_id in operation_ids:
                        operation["operationId"] = f"{service}-{op_id}"
                    operation_ids.add(operation.get("operationId"))
            paths.setdefault(path, {}).update(item)
        known = {t["name"] for t in tags}
        tags.extend(t for t in doc.get("tags", []) if t.get("name") not in known)
    for method, path, operation in _operations(paths):
        _secure(operation, public=(method, path) in PUBLIC_OPERATIONS)
    if not tags:
        merged.pop("tags")
    return truthful_openapi(merged, public_operations=PUBLIC_OPERATIONS, extra_statuses=["429"])


def _operations(paths: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in paths.items()
        for method, operation in item.items()
        if method in HTTP_METHODS and isinstance(operation, dict)
    ]


def _secure(operation: dict[str, Any], *, public: bool) -> None:
    if public:
        operation["security"] = []
        return
    operation["security"] = copy.deepcopy(SECURITY)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in GATEWAY_STATUSES:
        responses.setdefault(status, {})


def _renamed_schemas(
    service: str, doc: dict[str, Any], merged_schemas: dict[str, Any]
) -> dict[str, Any]:
    renames = {
        name: f"{service.capitalize()}{name}"
        for name, schema in doc.get("components", {}).get("schemas", {}).items()
        if name in merged_schemas and merged_schemas[name] != schema
    }
    return _rewrite_refs(doc, renames) if renames else doc


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_PREFIX):
                name = value.removeprefix(SCHEMA_PREFIX)
                out[key] = SCHEMA_PREFIX + renames.get(name, name)
            elif key == "schemas" and isinstance(value, dict):
                out[key] = {renames.get(k, k): _rewrite_refs(v, renames) for k, v in value.items()}
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node
