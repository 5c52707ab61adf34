"""The gateway: the one door. Admits callers, routes /v1 paths to the services, serves one
OpenAPI document and its own auth, user and API key operations."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware

from riskwatch_gateway import docs as api_docs
from riskwatch_gateway.accounts import ensure_first_admin
from riskwatch_gateway.api import router
from riskwatch_gateway.audit import AuditLog
from riskwatch_gateway.catalog import ServiceCatalog
from riskwatch_gateway.config import Settings, get_settings
from riskwatch_gateway.errors import RateLimited
from riskwatch_gateway.gatekeeper import Gatekeeper
from riskwatch_gateway.policy import DEFAULT_POLICY
from riskwatch_gateway.proxy import ProxyConfig, ProxyMiddleware
from riskwatch_gateway.sso import IdTokenVerifier, idp_client
from riskwatch_gateway.state import GatewayState, get_state
from riskwatch_gateway.tokens import TokenVerifier
from riskwatch_gateway.upstream_client import UpstreamPool
from riskwatch_shared.db.migrate import run_migrations
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.errors import Unauthorized, install_problem_handlers, problem_response
from riskwatch_shared.headers import SecurityHeadersMiddleware
from riskwatch_shared.logging import configure_logging, get_logger
from riskwatch_shared.observability import RequestContextMiddleware, metrics_endpoint
from riskwatch_shared.settings import refuse_unsafe_start
from riskwatch_shared.tracing import enable_tracing, instrument_app, instrument_engine

log = get_logger(__name__)
ALEMBIC_INI = Path(__file__).parent / "alembic.ini"
TITLE = "RiskWatch API"
DESCRIPTION = (
    "Risk management and early warning for financial payments. Sign in with "
    "`POST /v1/auth/token` and send `Authorization: Bearer <token>`; machine clients send "
    "their API key as `X-API-Key`. Errors are RFC 9457 problem+json."
)


async def start_state(settings: Settings, own_doc: Any) -> GatewayState:
    if settings.auto_migrate:
        await asyncio.to_thread(run_migrations, ALEMBIC_INI, settings.sqlalchemy_url)
    engine = create_engine(settings.sqlalchemy_url, pool_size=settings.db_pool_size)
    instrument_engine(engine)
    session_factory = create_session_factory(engine)
    http = httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_connections,
            keepalive_expiry=30.0,
        ),
        timeout=settings.upstream_timeout_seconds,
    )
    audit = AuditLog(
        session_factory,
        flush_interval_seconds=settings.audit_flush_interval_seconds,
        batch_size=settings.audit_batch_size,
        queue_size=settings.audit_queue_size,
    )
    gatekeeper = Gatekeeper(
        settings,
        session_factory=session_factory,
        verifier=TokenVerifier(settings, http),
        audit=audit,
        policy=DEFAULT_POLICY,
    )
    catalog = ServiceCatalog(
        http, settings.upstreams(), own_doc=own_doc, refresh_seconds=settings.openapi_ttl_seconds
    )
    async with session_factory() as session:
        await ensure_first_admin(
            session, email=settings.admin_email, password=settings.admin_password
        )
    audit.start()
    catalog.start()
    pool = UpstreamPool(max_idle_per_host=settings.upstream_max_connections)
    sso = IdTokenVerifier(settings, idp_client(settings)) if settings.oidc_sign_in_enabled else None
    return GatewayState(
        settings, engine, session_factory, http, pool, gatekeeper, audit, catalog, sso
    )


async def stop_state(state: GatewayState) -> None:
    await state.catalog.stop()
    await state.audit.stop()
    await state.http.aclose()
    if state.sso is not None:
        await state.sso.http.aclose()
    await state.pool.aclose()
    await state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    refuse_unsafe_start(settings)
    configure_logging("gateway", level=settings.log_level, json=settings.log_json)
    enable_tracing("gateway", endpoint=settings.otel_exporter_otlp_endpoint)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.gateway = await start_state(settings, lambda: own_openapi(app))
        log.info("gateway.started", upstreams=settings.upstreams(), port=settings.port)
        try:
            yield
        finally:
            await stop_state(app.state.gateway)
            log.info("gateway.stopped")

    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_exception_handler(RateLimited, rate_limited_handler)
    app.include_router(router)
    _add_operational_routes(app)
    # Added innermost first: request context -> CORS -> admission and proxy -> own routes.
    app.add_middleware(
        ProxyMiddleware,
        config=ProxyConfig(
            upstreams=settings.upstreams(),
            max_body_bytes=settings.max_body_bytes,
            timeout_seconds=settings.upstream_timeout_seconds,
            trusted_proxies=settings.trusted_networks,
        ),
        state=lambda: app.state.gateway,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "authorization",
                "content-type",
                "x-api-key",
                "x-request-id",
                "traceparent",
                "tracestate",
            ],
            expose_headers=["x-request-id", "retry-after"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware, service="gateway")
    app.add_middleware(SecurityHeadersMiddleware, dev_mode=settings.dev_mode)
    instrument_app(app)  # tracing on only
    return app


async def rate_limited_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    response = problem_response(
        429, exc.title, exc.detail, type_slug=exc.type_slug, instance=request.url.path
    )
    response.headers["retry-after"] = str(exc.retry_after)
    return response


def own_openapi(app: FastAPI) -> dict[str, Any]:
    return get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Ready when its own database and audit writer work and every service's OpenAPI
        document is merged (so `/openapi.json` is complete); a service that goes down later
        leaves the gateway serving the others, and is named here."""
        state = get_state(request)
        services = await state.catalog.health()
        missing = state.catalog.missing()
        checks = {f"service:{name}": ok for name, ok in services.items()}
        checks["database"] = await _database_up(state)
        checks["audit"] = state.audit.healthy
        checks.update({f"openapi:{name}": name not in missing for name in services})
        down = [name for name, ok in services.items() if not ok]
        body = {
            "status": "degraded" if down else "ready",
            "service": "gateway",
            "checks": checks,
            "services_down": down,
            "documents_missing": missing,
        }
        if checks["database"] and checks["audit"] and not missing:
            return JSONResponse(body)
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem_response(
            503, "Not ready", f"failing: {failing}", type_slug="not-ready", checks=checks,
            services_down=down, documents_missing=missing,
        )  # fmt: skip

    settings = app.state.settings

    async def metrics(request: Request) -> Response:
        if not ops_allowed(settings, request.headers):
            return not_exposed()
        return await metrics_endpoint(request)

    app.add_route("/metrics", metrics, include_in_schema=False)

    @app.get("/.well-known/jwks.json", include_in_schema=False)
    async def well_known_jwks(request: Request) -> JSONResponse:
        """The public keys of user tokens (the same document as GET /v1/auth/jwks)."""
        return JSONResponse(get_state(request).settings.user_token_public_keys().jwks())

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        if not await docs_allowed(request):
            return not_exposed()
        return JSONResponse(get_state(request).catalog.merged())

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        if not await docs_allowed(request):
            return not_exposed()
        return api_docs.swagger_ui(openapi_url="/openapi.json", title=TITLE)

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> Response:
        if not await docs_allowed(request):
            return not_exposed()
        return api_docs.redoc(openapi_url="/openapi.json", title=TITLE)

    @app.get(f"{api_docs.ASSETS_PATH}/{{name}}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        """Swagger UI's and ReDoc's own files (public: a browser fetches them without the
        credentials the pages need)."""
        found = api_docs.asset(name)
        if found is None:
            return problem_response(404, "Not found", "no such asset", type_slug="not-found")
        return found


def ops_allowed(settings: Settings, headers: Headers) -> bool:
    """/metrics, /docs, /openapi.json: open in dev mode; otherwise only with the ops token
    (`Authorization: Bearer <GATEWAY_OPS_TOKEN>`, e.g. Prometheus' bearer token)."""
    if settings.dev_mode:
        return True
    token = settings.ops_token
    scheme, _, presented = (headers.get("authorization") or "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), (token or "").encode())
    )


async def docs_allowed(request: Request) -> bool:
    """The API documents also to any signed-in caller (bearer token or API key), or to anyone
    where the documents are public (`GATEWAY_PUBLIC_DOCS`, a developer's machine)."""
    settings: Settings = request.app.state.settings
    if settings.public_docs or ops_allowed(settings, request.headers):
        return True
    try:
        await get_state(request).gatekeeper.authenticate(request.headers)
    except Unauthorized:
        return False
    return True


def not_exposed() -> Response:
    return problem_response(
        401, "Unauthorized", "needs the ops token or, for the documents, credentials",
        type_slug="unauthorized",
    )  # fmt: skip


async def _database_up(state: GatewayState) -> bool:
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
