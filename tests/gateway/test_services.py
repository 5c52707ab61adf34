"""The real services behind the gateway: every operation they publish is routed to them and
covered by the policy, and a service called directly, without the gateway's signed identity,
refuses."""

from __future__ import annotations

import functools
import importlib
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from openapi_spec_validator import validate

import riskwatch_customer
from riskwatch_customer.config import Settings as CustomerSettings
from riskwatch_customer.main import create_app as create_customer_app
from riskwatch_gateway.config import Settings
from riskwatch_gateway.main import create_app as create_gateway_app
from riskwatch_gateway.main import own_openapi
from riskwatch_gateway.openapi import merge_openapi
from riskwatch_gateway.policy import DEFAULT_POLICY
from riskwatch_gateway.routing import service_for_path
from riskwatch_shared.security import (
    IDENTITY_AUDIENCE,
    IDENTITY_HEADER,
    IDENTITY_ISSUER,
    Identity,
    generate_signing_key,
)
from riskwatch_shared.testing import identity_headers, running_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import SERVICES, gateway_settings, new_user_token
from .test_proxy import closed_port
from .upstreams import serve

METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def service_document(name: str) -> dict[str, Any]:
    config = importlib.import_module(f"riskwatch_{name}.config")
    main = importlib.import_module(f"riskwatch_{name}.main")
    doc: dict[str, Any] = main.create_app(config.Settings()).openapi()
    return doc


def service_operations(name: str) -> list[tuple[str, str]]:
    doc = service_document(name)
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.UUID(int=1)), path)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_operation_is_routed_to_it_and_covered_by_the_policy(service: str) -> None:
    operations = service_operations(service)
    assert operations, f"{service} publishes no operation"
    for method, path in operations:
        assert service_for_path(concrete(path)) == service, (method, path)
        rule = DEFAULT_POLICY.rule_for(method, concrete(path))
        assert rule is not None, (method, path)
        assert not rule.is_public, (method, path)
        if "ingest" in rule.roles:
            assert path in ("/v1/transactions", "/v1/transactions/batch"), (method, path)


def test_the_real_services_merge_into_one_valid_openapi_3_1_document(
    gateway_database: str,
) -> None:
    gateway_app = create_gateway_app(gateway_settings(gateway_database, {}))
    docs = {name: service_document(name) for name in SERVICES}
    merged = merge_openapi(own_openapi(gateway_app), docs, owner_of=service_for_path)
    validate(merged)
    published = sum(
        1
        for doc in docs.values()
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS and path.startswith("/v1/")
    )
    merged_operations = [
        operation
        for path, item in merged["paths"].items()
        for method, operation in item.items()
        if method in METHODS
        and not path.startswith(("/v1/auth", "/v1/users", "/v1/api-keys"))
        and path != "/v1/audit-log"
    ]
    assert len(merged_operations) == published  # nothing lost, nothing overwritten
    operation_ids = [op["operationId"] for op in merged_operations]
    assert len(operation_ids) == len(set(operation_ids))
    for operation in merged_operations:
        assert operation["security"] == [
            {"bearerAuth": []},
            {"oauth2Password": []},
            {"apiKeyAuth": []},
        ]


@pytest.fixture(scope="module")
async def customer_direct(infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    alembic_ini = Path(riskwatch_customer.__file__).parent / "alembic.ini"
    async for url in migrated_database(infra, alembic_ini, "gwcustomer"):
        settings = CustomerSettings(
            database_url=url,
            NATS_URL=infra.nats_url,
            RISKWATCH_REQUIRE_INTERNAL_IDENTITY=True,
            RISKWATCH_LOG_LEVEL="WARNING",
        )
        async with running_app(create_customer_app(settings)) as (client, _runtime):
            yield client


async def test_the_customer_service_refuses_calls_that_bypass_the_gateway(
    customer_direct: httpx.AsyncClient,
) -> None:
    client = customer_direct
    operations = service_operations("customer")
    admin = Identity(subject="x", roles=("admin",))
    # Signed, but not by the gateway's key (a key a service or an attacker made).
    forged = identity_headers(admin, generate_signing_key("test-identity"))
    # HS256 with what RISKWATCH_INTERNAL_SECRET defaulted to: anyone could make these.
    now = int(time.time())
    claims = {"iss": IDENTITY_ISSUER, "aud": IDENTITY_AUDIENCE, "iat": now, "exp": now + 60,
              "sub": "mallory", "roles": ["admin"]}  # fmt: skip
    old_default = {
        IDENTITY_HEADER: jwt.encode(claims, "riskwatch-dev-internal-secret-change-me", "HS256")
    }
    for method, path in operations:
        body: dict[str, Any] | None = None if method in ("GET", "DELETE") else {}
        for headers in ({}, forged, old_default):
            response = await client.request(method, concrete(path), json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
    admitted = await client.get("/v1/customers", headers=identity_headers(admin))
    assert admitted.status_code == 200, admitted.text


@pytest.fixture(scope="module")
async def gateway_before_customer(
    infra: Infra, gateway_database: str
) -> AsyncIterator[tuple[str, Settings]]:
    """The real customer service on a socket, the gateway in front of it."""
    alembic_ini = Path(riskwatch_customer.__file__).parent / "alembic.ini"
    async for url in migrated_database(infra, alembic_ini, "gwcustomer2"):
        customer_settings = CustomerSettings(
            database_url=url,
            NATS_URL=infra.nats_url,
            RISKWATCH_LOG_LEVEL="WARNING",
        )
        async with serve(create_customer_app(customer_settings), lifespan="on") as customer_url:
            down = f"http://127.0.0.1:{closed_port()}"
            upstreams = {
                "customer": customer_url,
                "scoring": down,
                "alerting": down,
                "notify": down,
            }
            settings = gateway_settings(gateway_database, upstreams)
            async with serve(create_gateway_app(settings), lifespan="on") as gateway_url:
                yield gateway_url, settings


async def test_through_the_gateway_an_rm_sees_only_their_customers_and_pii_is_masked(
    gateway_before_customer: tuple[str, Settings], gateway_database: str
) -> None:
    url, settings = gateway_before_customer
    callers = [("relationship_manager", "rm-1"), ("relationship_manager", "rm-2"),
               ("viewer", None), ("analyst", None), ("ingest", None)]  # fmt: skip
    tokens: dict[tuple[str, str | None], str] = {}
    for role, staff_id in callers:
        _, tokens[(role, staff_id)] = await new_user_token(
            settings, gateway_database, role, staff_id=staff_id
        )

    def as_(role: str, staff_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[(role, staff_id)]}"}

    document = f"P{uuid.uuid4().hex[:10]}"
    body = {"kind": "individual", "name": "Ada Lovelace", "document_type": "passport",
            "document_number": document, "email": "ada@example.com", "country": "GB"}  # fmt: skip
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        created = await client.post(
            "/v1/customers", json=body, headers=as_("relationship_manager", "rm-1")
        )
        assert created.status_code == 201, created.text
        customer_id = created.json()["id"]
        path = f"/v1/customers/{customer_id}"
        own = await client.get(path, headers=as_("relationship_manager", "rm-1"))
        other = await client.get(path, headers=as_("relationship_manager", "rm-2"))
        viewer = await client.get(path, headers=as_("viewer"))
        analyst = await client.get(path, headers=as_("analyst"))
        ingest_key_refused = await client.get(path, headers=as_("ingest"))
    assert own.status_code == 200
    assert other.status_code == 404  # existence is not leaked to another RM
    assert viewer.json()["document_number"] != document  # masked
    assert viewer.json()["email"] != "ada@example.com"
    assert analyst.json()["document_number"] == document  # unmasked for investigators
    assert ingest_key_refused.status_code == 403
