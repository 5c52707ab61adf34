"""The gateway: the one door. Routes /v1 paths to the services and serves one OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import Response

from riskwatch_gateway.config import Settings, get_settings
from riskwatch_gateway.openapi import merge_openapi
from riskwatch_gateway.proxy import forward
from riskwatch_gateway.routing import service_for_path
from riskwatch_shared.errors import install_problem_handlers, problem_response
from riskwatch_shared.logging import configure_logging, get_logger
from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.observability import RequestContextMiddleware, metrics_endpoint

log = get_logger(__name__)
OPENAPI_TTL_SECONDS = 30.0


class GatewayState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
        self.bus = MessageBus(settings.nats_url, name="riskwatch-gateway")
        self.service_docs: dict[str, dict[str, Any]] = {}
        self.docs_fetched_at = 0.0

    async def service_up(self, name: str, base_url: str) -> bool:
        try:
            response = await self.http.get(f"{base_url}/readyz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def refresh_docs(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self.docs_fetched_at < OPENAPI_TTL_SECONDS:
            return

        async def fetch(name: str, base_url: str) -> tuple[str, dict[str, Any] | None]:
            try:
                response = await self.http.get(f"{base_url}/openapi.json", timeout=3.0)
                response.raise_for_status()
                doc: dict[str, Any] = response.json()
                return name, doc
            except (httpx.HTTPError, ValueError):
                return name, None

        results = await asyncio.gather(*(fetch(n, u) for n, u in self.settings.upstreams().items()))
        for name, doc in results:
            if doc is not None:
                self.service_docs[name] = doc
        self.docs_fetched_at = time.monotonic()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging("gateway", level=settings.log_level, json=settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = GatewayState(settings)
        await state.bus.connect()
        app.state.gateway = state
        try:
            yield
        finally:
            await state.http.aclose()
            await state.bus.close()

    app = FastAPI(
        title="RiskWatch API",
        description="Risk management and early warning for financial payments.",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="gateway")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        state: GatewayState = request.app.state.gateway
        upstreams = settings.upstreams()
        results = await asyncio.gather(*(state.service_up(n, u) for n, u in upstreams.items()))
        checks = {f"service:{name}": ok for name, ok in zip(upstreams, results, strict=True)}
        checks["nats"] = state.bus.connected
        if all(checks.values()):
            return JSONResponse({"status": "ready", "service": "gateway", "checks": checks})
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem_response(
            503, "Not ready", f"failing: {failing}", type_slug="not-ready", checks=checks
        )

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        state: GatewayState = request.app.state.gateway
        await state.refresh_docs()
        own = {
            "openapi": "3.1.0",
            "info": {"title": app.title, "version": app.version, "description": app.description},
            "paths": {},
        }
        return JSONResponse(merge_openapi(own, state.service_docs))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="RiskWatch API")

    @app.api_route(
        "/v1/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def proxy(request: Request, path: str) -> Response:
        service = service_for_path(request.url.path)
        if service is None:
            return problem_response(
                404,
                "Not found",
                f"no route for {request.url.path}",
                type_slug="not-found",
                instance=request.url.path,
            )
        body = await request.body()
        if len(body) > settings.max_body_bytes:
            return problem_response(
                413,
                "Payload too large",
                f"body exceeds {settings.max_body_bytes} bytes",
                type_slug="payload-too-large",
                instance=request.url.path,
            )
        state: GatewayState = request.app.state.gateway
        return await forward(
            request,
            client=state.http,
            base_url=settings.upstreams()[service],
            extra_headers={},
            body=body,
            timeout=settings.upstream_timeout_seconds,
        )

    return app
