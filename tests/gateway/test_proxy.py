"""The proxy path: signed identity in, forged identity out, correlation ids, streaming,
timeouts, body limits, a service that is down, and the merged OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from riskwatch_gateway.main import create_app
from riskwatch_shared.security import (
    IDENTITY_HEADER,
    Identity,
    generate_signing_key,
    mint_identity_token,
)
from riskwatch_shared.testing import wait_until

from .conftest import IDENTITY_KEYS, OPS, SERVICES, Gateway, gateway_settings, seeded_user_id
from .upstreams import Upstream, serve


async def test_identity_is_signed_by_the_gateway_and_forged_copies_are_dropped(
    gateway: Gateway,
) -> None:
    forged = mint_identity_token(
        Identity(subject="mallory", roles=("admin",)), generate_signing_key("test-identity")
    )
    headers = {**gateway.bearer("relationship_manager", staff_id="RM-1"), IDENTITY_HEADER: forged}
    async with gateway.client(**headers) as client:
        response = await client.get("/v1/customers", params={"status": "active", "q": "a b"})
    echoed = response.json()
    assert echoed["service"] == "customer"
    assert echoed["identity_headers"] == 1
    assert echoed["identity"]["subject"] == str(seeded_user_id("relationship_manager", "RM-1"))
    assert echoed["identity"]["roles"] == ["relationship_manager"]
    assert echoed["identity"]["staff_id"] == "RM-1"
    assert echoed["authorization"] is None
    assert echoed["query"] == "status=active&q=a+b"


async def test_proxied_answers_carry_one_date_and_one_server_header(gateway: Gateway) -> None:
    async with gateway.client(**gateway.bearer("analyst")) as client:
        pooled = await client.get("/v1/alerts")
        through_httpx = await client.head("/v1/alerts")
    for response in (pooled, through_httpx):
        assert response.status_code == 200
        assert response.headers["x-upstream"] == "alerting"  # really proxied
        assert len(response.headers.get_list("date")) == 1, response.headers
        assert len(response.headers.get_list("server")) == 1, response.headers


async def test_correlation_id_is_forwarded_echoed_and_made_up_when_missing(
    gateway: Gateway,
) -> None:
    async with gateway.client(**gateway.bearer("analyst")) as client:
        given = await client.get("/v1/alerts", headers={"X-Request-ID": "req-123"})
        made_up = await client.get("/v1/alerts")
    assert given.json()["request_id"] == "req-123"
    assert given.headers["x-request-id"] == "req-123"
    assert given.headers["x-upstream"] == "alerting"
    generated = made_up.headers["x-request-id"]
    assert len(generated) >= 16
    assert made_up.json()["request_id"] == generated


@pytest.mark.parametrize(
    ("service", "path"), [("notify", "/v1/inbox/stream"), ("alerting", "/v1/alerts/stream")]
)
async def test_server_sent_events_are_streamed_through_as_they_come(
    gateway: Gateway, service: str, path: str
) -> None:
    upstream = gateway.upstreams[service]
    upstream.release_stream.clear()
    headers = {"Accept": "text/event-stream", **gateway.bearer("viewer")}
    async with (
        gateway.client(**headers) as client,
        client.stream("GET", path) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        # The first event arrives while the service still holds the stream open.
        assert await asyncio.wait_for(anext_data(lines), 10) == "data: one"
        upstream.release_stream.set()
        assert await asyncio.wait_for(anext_data(lines), 10) == "data: two"
    async with gateway.client(**gateway.bearer("ingest")) as client:
        assert (await client.get(path, headers={"Accept": "text/event-stream"})).status_code == 403


async def anext_data(lines: AsyncIterator[str]) -> str:
    async for line in lines:
        if line.startswith("data:"):
            return line
    raise AssertionError("stream ended")


async def test_an_answer_without_body_passes_through(gateway: Gateway) -> None:
    async with gateway.client(**gateway.bearer("risk_manager")) as client:
        response = await client.delete("/v1/recipients/gone")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers


async def test_a_slow_service_gets_a_504_problem(gateway: Gateway) -> None:
    async with gateway.client(**gateway.bearer("analyst")) as client:
        response = await client.get("/v1/customers/slow")
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/upstream-timeout")


async def test_bodies_over_the_limit_get_a_413_problem(gateway: Gateway) -> None:
    too_big = b"x" * (gateway.settings.max_body_bytes + 1)

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(too_big), 8192):
            yield too_big[start : start + 8192]

    async with gateway.client(**gateway.bearer("admin")) as client:
        declared = await client.post("/v1/transactions/batch", content=too_big)
        streamed = await client.post("/v1/transactions/batch", content=chunked())
        fits = await client.post("/v1/transactions/batch", content=too_big[:-1])
    assert declared.status_code == streamed.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert fits.status_code == 200
    assert fits.json()["body_bytes"] == len(too_big) - 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def gateway_with_notify_down(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    urls = {name: gateway.upstreams[name].url for name in SERVICES}
    urls["notify"] = f"http://127.0.0.1:{closed_port()}"
    app = create_app(gateway_settings(gateway.database_url, urls))
    async with serve(app, lifespan="on") as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_a_service_that_is_down_leaves_the_rest_served_and_named_in_readyz(
    gateway: Gateway,
) -> None:
    async with gateway_with_notify_down(gateway) as client:
        headers = gateway.bearer("analyst")
        down = await client.get("/v1/inbox", headers=headers)
        up = await client.get("/v1/alerts", headers=headers)
        ready = await client.get("/readyz")

        async def served_doc() -> dict[str, Any] | None:
            doc: dict[str, Any] = (await client.get("/openapi.json", headers=OPS)).json()
            return doc if "/v1/alerts" in doc["paths"] else None

        served = await wait_until(served_doc, message="merged document without notify")
    assert down.status_code == 503
    assert down.json()["type"].endswith("/upstream-unavailable")
    assert up.status_code == 200
    # Its document was never fetched: not ready (the merged document would be incomplete).
    assert ready.status_code == 503
    assert ready.json()["services_down"] == ["notify"]
    assert ready.json()["documents_missing"] == ["notify"]
    assert ready.json()["checks"]["service:notify"] is False
    assert ready.json()["checks"]["openapi:notify"] is False
    assert "openapi:notify" in ready.json()["detail"]
    assert served is not None
    assert "/v1/inbox" not in served["paths"]
    validate(served)


async def test_the_gateway_is_ready_only_with_every_document_merged(gateway: Gateway) -> None:
    """A service whose document cannot be fetched yet: the gateway asks again within a
    fraction of a second, says in /readyz which document is missing, and at its first green
    /readyz the merged document has every service's paths. Later outages keep the paths."""
    late = Upstream("notify", IDENTITY_KEYS, down=True)
    async with serve(late.app()) as late_url:
        urls = {name: gateway.upstreams[name].url for name in SERVICES} | {"notify": late_url}
        # The refresh period is long: only the quick retries can pick the document up.
        settings = gateway_settings(gateway.database_url, urls, openapi_ttl_seconds=60.0)
        async with (
            serve(create_app(settings), lifespan="on") as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            waiting = await client.get("/readyz")
            late.down = False
            came_up = asyncio.get_running_loop().time()

            async def first_green() -> httpx.Response | None:
                ready = await client.get("/readyz")
                return ready if ready.status_code == 200 else None

            ready = await wait_until(first_green, timeout=10, interval=0.05, message="ready")
            ready_after = asyncio.get_running_loop().time() - came_up
            doc = (await client.get("/openapi.json", headers=OPS)).json()
            late.down = True
            still = await client.get("/readyz")
            doc_later = (await client.get("/openapi.json", headers=OPS)).json()
    assert waiting.status_code == 503
    assert waiting.json()["documents_missing"] == ["notify"]
    assert waiting.json()["checks"]["openapi:notify"] is False
    assert ready.json()["documents_missing"] == []
    assert ready_after < 2.0  # retries backing off from 0.2 s, not the 60 s refresh period
    for area in ("/v1/customers", "/v1/models", "/v1/alerts", "/v1/inbox"):
        assert area in doc["paths"], area
    validate(doc)
    assert still.json()["services_down"] == ["notify"]  # degraded, named...
    assert still.json()["documents_missing"] == []  # ...but its document is kept
    assert "/v1/inbox" in doc_later["paths"]


async def test_readyz_reports_every_service(gateway: Gateway) -> None:
    async with gateway.client() as client:
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
    assert health.json()["status"] == "ok"
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert all(ready.json()["checks"][f"service:{name}"] for name in SERVICES)


async def test_one_merged_openapi_document_valid_as_3_1(gateway: Gateway) -> None:
    async with gateway.client() as client:

        async def complete() -> dict[str, Any] | None:
            doc: dict[str, Any] = (await client.get("/openapi.json", headers=OPS)).json()
            return doc if "/v1/inbox" in doc["paths"] else None

        found = await wait_until(complete, message="all four services in the document")
        docs_page = await client.get("/docs", headers=OPS)
    assert found is not None
    doc: dict[str, Any] = found
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    paths: dict[str, dict[str, dict[str, Any]]] = doc["paths"]
    assert {"/v1/auth/token", "/v1/auth/me", "/v1/users", "/v1/api-keys"} <= set(paths)
    assert {"/v1/customers", "/v1/models", "/v1/alerts", "/v1/inbox"} <= set(paths)
    assert "/v1/elsewhere" not in paths
    assert "/healthz" not in paths
    schemas = doc["components"]["schemas"]
    # Sorted by service: alerting's `Page` came first, the others' clashing ones renamed.
    assert {"Page", "CustomerPage", "NotifyPage", "ScoringPage"} <= set(schemas)
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert set(doc["components"]["securitySchemes"]) == {
        "bearerAuth",
        "oauth2Password",
        "apiKeyAuth",
    }
    assert paths["/v1/auth/token"]["post"]["security"] == []
    assert paths["/v1/customers"]["get"]["security"] == [
        {"bearerAuth": []},
        {"oauth2Password": []},
        {"apiKeyAuth": []},
    ]
    assert "swagger" in docs_page.text.lower()


async def test_the_document_follows_a_service_that_changes(gateway: Gateway) -> None:
    scoring = gateway.upstreams["scoring"]
    scoring.doc_version += 1
    new_path = f"/v1/models/v{scoring.doc_version}"
    async with gateway.client() as client:

        async def refreshed() -> bool:
            return new_path in (await client.get("/openapi.json", headers=OPS)).json()["paths"]

        await wait_until(refreshed, message="the changed scoring document merged")
