"""A truthful contract (issue 18, item 3): the merged OpenAPI describes what the apps return.

The document is built the way the gateway builds it (its own routes merged with every
service's document), without a running stack: every error response is the one RFC 9457
`Problem` under `application/problem+json`, the statuses an operation can answer with are
declared, CSV is declared where it is taken or given, schema titles equal their keys, and
openapi-python-client generates a client from it with no warning and no skipped endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from riskwatch_alerting.config import Settings as AlertingSettings
from riskwatch_alerting.main import create_app as create_alerting
from riskwatch_customer.config import Settings as CustomerSettings
from riskwatch_customer.main import create_app as create_customer
from riskwatch_gateway.api import router as gateway_router
from riskwatch_gateway.main import own_openapi
from riskwatch_gateway.openapi import PUBLIC_OPERATIONS, merge_openapi
from riskwatch_gateway.routing import service_for_path
from riskwatch_notify.config import Settings as NotifySettings
from riskwatch_notify.main import create_app as create_notify
from riskwatch_scoring.config import Settings as ScoringSettings
from riskwatch_scoring.main import create_app as create_scoring
from riskwatch_shared.contract import install_truthful_openapi
from riskwatch_shared.errors import PROBLEM_CONTENT_TYPE, install_problem_handlers
from riskwatch_shared.testing.client_generator import PACKAGE, generate_client

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
RULE_PATHS = ("/v1/rules", "/v1/backtests", "/v1/backtest-jobs", "/v1/rule-templates")


def service_documents() -> dict[str, dict[str, Any]]:
    return {
        "alerting": create_alerting(AlertingSettings()).openapi(),
        "customer": create_customer(CustomerSettings()).openapi(),
        "notify": create_notify(NotifySettings()).openapi(),
        "scoring": create_scoring(ScoringSettings()).openapi(),
    }


def gateway_document() -> dict[str, Any]:
    app = FastAPI(title="RiskWatch", version="0.1.0")
    app.include_router(gateway_router)
    return own_openapi(app)


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return merge_openapi(gateway_document(), service_documents(), owner_of=service_for_path)


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def test_the_merged_document_is_valid_and_covers_every_service(merged: dict[str, Any]) -> None:
    validate(merged)
    services = {service_for_path(path) for path in merged["paths"]}
    assert {"alerting", "customer", "notify", "scoring"} <= services
    assert len(operations(merged)) >= 120


def test_every_error_response_is_the_problem_schema(merged: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(merged)
    assert "ValidationError" not in merged["components"]["schemas"]
    errors = 0
    for method, path, op in operations(merged):
        for status, response in op["responses"].items():
            if status[0] in "45":
                errors += 1
                assert response["content"] == PROBLEM, (method, path, status)
                assert response["description"], (method, path, status)
                if status in ("429", "503"):
                    assert "Retry-After" in response["headers"], (method, path, status)
    assert errors > 500


def test_each_operation_declares_the_statuses_it_can_answer_with(merged: dict[str, Any]) -> None:
    for method, path, op in operations(merged):
        declared = set(op["responses"])
        label = f"{method.upper()} {path}"
        assert {"429", "503"} <= declared, label
        if (method, path) not in PUBLIC_OPERATIONS:
            assert {"401", "403"} <= declared, label
        else:
            assert op["responses"]["401"]["description"].startswith("The credentials"), label
        if "{" in path:
            assert "404" in declared, label
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in declared, label
        if "rule" in op["responses"].get("422", {}).get("description", ""):
            assert path.startswith(RULE_PATHS), f"{label}: a rule's 422 on another endpoint"


def test_schema_titles_equal_their_keys(merged: dict[str, Any]) -> None:
    schemas = merged["components"]["schemas"]
    assert "CustomerAuditEntryOut" in schemas  # the renamed one the generator used to drop
    assert {name: s.get("title") for name, s in schemas.items() if s.get("title") != name} == {}


def test_csv_is_declared_where_it_is_taken_or_given(merged: dict[str, Any]) -> None:
    paths = merged["paths"]
    imported = paths["/v1/customers/import"]["post"]["requestBody"]["content"]
    trained = paths["/v1/models/{kind}/train"]["post"]["requestBody"]["content"]
    exported = paths["/v1/alerts/export"]["get"]["responses"]["200"]["content"]
    assert set(imported) == {"text/csv"}
    assert set(trained) == {"application/json", "text/csv"}
    assert {"text/csv", "application/json"} <= set(exported)
    for content in (imported, trained, exported):
        assert content["text/csv"]["example"].count("\n") >= 2


class Transfer(BaseModel):
    amount: int = Field(gt=0)


async def test_the_problem_schema_describes_what_the_handlers_render() -> None:
    """A 422 and a 404 as `riskwatch_shared.errors` renders them validate against `Problem`."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/transfers")
    async def transfer(body: Transfer) -> dict[str, int]:
        return {"amount": body.amount}

    install_truthful_openapi(app)
    doc = app.openapi()
    validate(doc)
    responses = doc["paths"]["/v1/transfers"]["post"]["responses"]
    assert responses["422"]["content"] == PROBLEM
    schema = {"$ref": "#/components/schemas/Problem", "components": doc["components"]}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        invalid = await client.post("/v1/transfers", json={"amount": -5})
        missing = await client.get("/v1/nowhere")
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert invalid.json()["errors"][0]["loc"] == ["body", "amount"]
    for response in (invalid, missing):
        jsonschema.validate(response.json(), schema)


def test_the_client_generator_takes_every_operation_without_a_warning(
    merged: dict[str, Any], tmp_path: Path
) -> None:
    package = generate_client(merged, tmp_path) / PACKAGE
    modules = {p.stem for p in (package / "api").rglob("*.py")} - {"__init__"}
    expected = {op["operationId"].replace("-", "_") for _, _, op in operations(merged)}
    assert expected - modules == set(), "endpoints the generator skipped"


# The main operations' bodies and answers carry an example (schema-level `examples`).
EXAMPLED = {
    ("post", "/v1/auth/token"): ("TokenRequest", "TokenResponse"),
    ("post", "/v1/api-keys"): ("ApiKeyCreate", None),
    ("post", "/v1/customers"): ("CustomerCreate", "CustomerOut"),
    ("post", "/v1/customers/{customer_id}/accounts"): ("AccountCreate", None),
    ("post", "/v1/rules"): ("RuleCreate", None),
    ("post", "/v1/alerts/{alert_id}/resolve"): ("ResolveBody", None),
    ("post", "/v1/recipients"): ("RecipientIn", None),
    ("post", "/v1/teams"): ("TeamIn", None),
    ("post", "/v1/subscriptions"): ("SubscriptionIn", None),
    ("post", "/v1/labels"): ("LabelsIn", None),
}


def test_the_main_operations_carry_examples_that_match_their_schemas(
    merged: dict[str, Any],
) -> None:
    schemas = merged["components"]["schemas"]
    for (method, path), (body, answer) in EXAMPLED.items():
        op = merged["paths"][path][method]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        # A component, or (the token endpoint, which takes a form too) the model inline.
        ref = schema.get("$ref") or f"/{schema.get('title')}"
        assert ref.endswith(f"/{body}"), (path, ref)
        assert "$ref" in schema or schema.get("examples"), (path, "an inline body has examples")
        if answer is not None:
            ok = next(r for s, r in op["responses"].items() if s.startswith("2"))
            assert ok["content"]["application/json"]["schema"]["$ref"].endswith(f"/{answer}")
    ingest = merged["paths"]["/v1/transactions"]["post"]["requestBody"]["content"]
    assert ingest["application/json"]["schema"]["examples"][0]["currency"] == "EUR"
    checked = 0
    for name, schema in schemas.items():
        for example in schema.get("examples", []):
            whole = {"$ref": f"#/components/schemas/{name}", "components": merged["components"]}
            jsonschema.validate(example, whole)
            checked += 1
    assert checked >= 12
    names = {n for n, s in schemas.items() if s.get("examples")}
    # The token endpoint's JSON body is declared inline (it takes the OAuth2 form too).
    token = merged["paths"]["/v1/auth/token"]["post"]["requestBody"]["content"]
    inline = token["application/json"]["schema"]
    for example in inline["examples"]:
        jsonschema.validate(example, inline)
    names.add(inline["title"])
    wanted = {b for b, _ in EXAMPLED.values()} | {a for _, a in EXAMPLED.values() if a}
    assert wanted | {"AlertOut"} <= names, wanted - names
    amounts = [
        e["amount"] for s in schemas.values() for e in s.get("examples", []) if "amount" in e
    ]
    assert all(isinstance(a, str) for a in amounts)  # Decimal money travels as a string
