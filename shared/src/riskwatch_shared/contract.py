"""The OpenAPI contract made truthful, once for every app (pure post-processing).

FastAPI describes errors with its own `HTTPValidationError` body, which no RiskWatch app ever
returns: every error is RFC 9457 problem+json (`riskwatch_shared.errors`). `truthful_openapi`
rewrites a document so that every error response of every operation names the one `Problem`
schema under `application/problem+json`, declares the statuses an operation can answer with
(401/403 for a secured route, 404 for a path with an identifier, 422 where input is checked,
503 while a dependency is down), and gives every component schema a `title` equal to its key
(client generators name classes by title). Idempotent, so the gateway applies it again to the
merged document; a route added later is covered without anyone remembering to declare it.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Collection
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from riskwatch_shared.errors import PROBLEM_CONTENT_TYPE

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
PROBLEM_REF = "#/components/schemas/Problem"
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
FASTAPI_ERROR_REFS = frozenset(f"#/components/schemas/{name}" for name in FASTAPI_ERROR_SCHEMAS)

PROBLEM_FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemFieldError",
    "type": "object",
    "description": "One refused field of a 422: where it is, what is wrong, the error's kind.",
    "properties": {
        "loc": {
            "title": "Loc",
            "type": "array",
            "items": {"type": "string"},
            "description": "Where: `body`, `query`, `path` or `header`, then the field's path.",
        },
        "msg": {"title": "Msg", "type": "string"},
        "type": {"title": "Type", "type": "string", "description": "A stable error kind."},
    },
    "required": ["loc", "msg", "type"],
    "example": {
        "loc": ["body", "amount"],
        "msg": "Input should be greater than 0",
        "type": "greater_than",
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": (
        "RFC 9457 problem details, the body of every error. A 422 carries `errors`, one entry "
        "per refused field; a 500 carries the `request_id` to quote. Other extension members "
        "may appear and are documented on the operation."
    ),
    "properties": {
        "type": {
            "title": "Type",
            "type": "string",
            "format": "uri",
            "description": "Identifies the kind of problem.",
        },
        "title": {"title": "Title", "type": "string"},
        "status": {"title": "Status", "type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"title": "Detail", "type": "string"},
        "instance": {"title": "Instance", "type": "string", "description": "The request path."},
        "errors": {
            "title": "Errors",
            "type": "array",
            "items": {"$ref": "#/components/schemas/ProblemFieldError"},
        },
        "request_id": {"title": "Request Id", "type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
    "example": {
        "type": "https://riskwatch.dev/problems/validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "The request does not match the schema.",
        "instance": "/v1/transactions",
        "errors": [
            {
                "loc": ["body", "currency"],
                "msg": "Value error, not an ISO 4217 currency code",
                "type": "value_error",
            }
        ],
    },
}

# What each status means everywhere; an operation may say more (its own description is kept
# unless it is one of FastAPI's or a bare placeholder).
STANDARD_DESCRIPTIONS: dict[str, str] = {
    "400": "Malformed request (problem+json)",
    "401": "No identity, or an invalid or expired one (problem+json)",
    "403": "The caller's roles do not allow this operation (problem+json)",
    "404": (
        "No such resource, or one the caller may not see: a relationship manager sees only "
        "their own customers (problem+json)"
    ),
    "409": "Not allowed in the resource's current state (problem+json)",
    "413": "The body is too large (problem+json)",
    "422": (
        "Validation failed: the path, query or body does not match the schema; `errors` "
        "lists each refused field (problem+json)"
    ),
    "429": "Rate limit exceeded; retry after `Retry-After` seconds (problem+json)",
    "500": "Unexpected failure; quote `request_id` when reporting it (problem+json)",
    "503": (
        "A dependency (database or message bus) is unavailable; nothing was stored, send the "
        "same request again after `Retry-After` seconds (problem+json)"
    ),
}
# A public operation (sign-in) answers 401 when the credentials it was given are refused.
PUBLIC_401 = "The credentials were not accepted (problem+json)"
PLACEHOLDER_DESCRIPTIONS = frozenset(
    {
        "",
        "Error",
        "Validation Error",
        "problem+json",
        "Error (problem+json)",
        "Unauthorized (problem+json)",
        "Not allowed (problem+json)",
        "Not found (problem+json)",
        "Conflict (problem+json)",
        "Not allowed in the current state (problem+json)",
        "Validation failed (problem+json)",
        "Invalid input (problem+json)",
        "Invalid input, with per-field `errors` (problem+json)",
    }
)
RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "Seconds to wait before sending the same request again.",
    "schema": {"type": "integer", "minimum": 0},
}
RETRY_STATUSES = frozenset({"429", "503"})


def problem_content() -> dict[str, Any]:
    return {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": PROBLEM_REF}}}


def truthful_openapi(
    doc: dict[str, Any],
    *,
    public_operations: Collection[tuple[str, str]] = (),
    extra_statuses: Collection[str] = (),
) -> dict[str, Any]:
    """A copy of `doc` whose every error response is problem+json (see the module's doc).

    `public_operations` ((method, path) pairs) need no identity, so they get no 401/403;
    `extra_statuses` are declared on every `/v1` operation too (the gateway's 429).
    """
    out = copy.deepcopy(doc)
    schemas: dict[str, Any] = out.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    schemas["ProblemFieldError"] = copy.deepcopy(PROBLEM_FIELD_ERROR_SCHEMA)
    for name, schema in schemas.items():
        if isinstance(schema, dict):
            schema["title"] = name
    for path, item in out.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                public = (method, path) in public_operations
                _declare_errors(path, operation, public=public, extra=extra_statuses)
    return out


def _declare_errors(
    path: str, operation: dict[str, Any], *, public: bool, extra: Collection[str]
) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if path.startswith("/v1/"):
        expected: list[str] = ["503", *extra]
        if not public:
            expected += ["401", "403"]
        if "{" in path:
            expected.append("404")
        if operation.get("parameters") or operation.get("requestBody"):
            expected.append("422")
        for status in expected:
            responses.setdefault(status, {})
    for status in list(responses):
        key = str(status)
        if not (key.startswith(("4", "5")) and len(key) == 3):
            continue
        response = responses.pop(status)
        if public and key == "401" and _is_placeholder(key, response):
            response = {"description": PUBLIC_401}
        responses[key] = _problem_response(key, response)
    operation["responses"] = dict(sorted(responses.items(), key=lambda kv: str(kv[0])))


def _problem_response(status: str, response: dict[str, Any]) -> dict[str, Any]:
    description = str(response.get("description", ""))
    if _is_placeholder(status, response):
        description = STANDARD_DESCRIPTIONS.get(status, "Error (problem+json)")
    fixed: dict[str, Any] = {"description": description, "content": problem_content()}
    headers = dict(response.get("headers", {}))
    if status in RETRY_STATUSES:
        headers.setdefault("Retry-After", dict(RETRY_AFTER_HEADER))
    if headers:
        fixed["headers"] = headers
    return fixed


def _is_placeholder(status: str, response: dict[str, Any]) -> bool:
    description = str(response.get("description", ""))
    return description in PLACEHOLDER_DESCRIPTIONS or description in _phrases(status)


def _phrases(status: str) -> set[str]:
    """FastAPI's fill-ins for an empty description: the status's reason phrase."""
    phrases = {"Additional Response"}
    with contextlib.suppress(ValueError):
        phrases.add(HTTPStatus(int(status)).phrase)
    return phrases


def install_truthful_openapi(
    app: FastAPI, *, public_operations: Collection[tuple[str, str]] = ()
) -> None:
    """Serve `app`'s own document post-processed by `truthful_openapi` (computed once)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful_openapi(build(), public_operations=public_operations)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def csv_body(
    *, description: str, example: str, json_schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its body itself and takes CSV (and, with
    `json_schema`, JSON too): the request body declared as `text/csv`, binary-safe."""
    content: dict[str, Any] = {}
    if json_schema is not None:
        content["application/json"] = {"schema": json_schema}
    content["text/csv"] = {
        "schema": {"type": "string", "format": "binary", "contentMediaType": "text/csv"},
        "example": example,
    }
    return {"requestBody": {"required": True, "description": description, "content": content}}


def csv_response(*, description: str, example: str) -> dict[str, Any]:
    """A `responses=` entry for a body given as `text/csv` (a download)."""
    return {
        "description": description,
        "content": {
            "text/csv": {
                "schema": {"type": "string", "contentMediaType": "text/csv"},
                "example": example,
            }
        },
    }
