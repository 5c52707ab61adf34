"""Building a service: lifespan (engine, NATS, streams, outbox relay, consumers, HTTP client),
health and readiness, problem+json errors, metrics, and the request dependencies."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared.contract import install_truthful_openapi
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.db.unit_of_work import unit_of_work
from riskwatch_shared.errors import (
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    install_problem_handlers,
    problem_response,
)
from riskwatch_shared.headers import SecurityHeadersMiddleware
from riskwatch_shared.logging import configure_logging, get_logger
from riskwatch_shared.messaging.bus import MessageBus, ensure_streams
from riskwatch_shared.messaging.consumer import ConsumerRunner, ConsumerSpec
from riskwatch_shared.messaging.deadletters import DeadLetterNotFound, DeadLetters
from riskwatch_shared.messaging.faults import describe, is_transient
from riskwatch_shared.messaging.inbox import InboxPruner
from riskwatch_shared.messaging.relay import OutboxRelay
from riskwatch_shared.observability import RequestContextMiddleware, metrics_endpoint
from riskwatch_shared.policy import DEFAULT_POLICY, decide
from riskwatch_shared.roles import ADMIN, SERVICE_ROLE, require_role
from riskwatch_shared.security import (
    IDENTITY_HEADER,
    SYSTEM_IDENTITY,
    Identity,
    InvalidIdentity,
    verify_identity_token,
)
from riskwatch_shared.settings import ServiceSettings, to_asyncpg_dsn
from riskwatch_shared.text import INT64_MAX, SafeText
from riskwatch_shared.tracing import enable_tracing, instrument_app, instrument_engine

log = get_logger(__name__)


@dataclass
class ServiceRuntime:
    """What the lifespan builds; routes and consumers reach it through `app.state.runtime`."""

    settings: ServiceSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bus: MessageBus
    http: httpx.AsyncClient
    relay: OutboxRelay
    inbox_pruner: InboxPruner
    consumers: list[ConsumerRunner] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    # Readiness checks of a service's own background loops (a delivery worker...), by name.
    checks: dict[str, Callable[[], bool]] = field(default_factory=dict)
    # Liveness checks of those loops: False only when a loop is dead or stuck past its bound
    # (never merely because PostgreSQL or NATS is away), so the process must be restarted.
    live_checks: dict[str, Callable[[], bool]] = field(default_factory=dict)


ConsumerFactory = Callable[[ServiceRuntime], Sequence[ConsumerSpec]]
RuntimeHook = Callable[[ServiceRuntime], Awaitable[None]]


# Each batch or request allocates many short-lived dicts while the process holds a large
# long-lived heap (SQLAlchemy, pydantic, compiled rules, models): with the default thresholds,
# full collections rescanning that heap cost ~20% of an event path. Freeze the startup heap and
# collect less often.
GC_THRESHOLDS = (50_000, 20, 100)


async def tune_gc(runtime: ServiceRuntime) -> None:
    """A startup hook: run last, once the service's long-lived objects exist."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    consumers: ConsumerFactory | None = None,
    on_startup: Sequence[RuntimeHook] = (),
    on_shutdown: Sequence[RuntimeHook] = (),
    version: str = "0.1.0",
) -> FastAPI:
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    enable_tracing(settings.service_name, endpoint=settings.otel_exporter_otlp_endpoint)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_lifespan(app, settings, consumers, on_startup, on_shutdown):
            yield

    # App-wide, so every route (including one a service adds later) passes the check.
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        dependencies=[Depends(_authorized)],
    )
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.add_middleware(SecurityHeadersMiddleware, dev_mode=settings.dev_mode)
    app.include_router(health_router(settings.service_name))
    for router in routers:
        app.include_router(router)
    instrument_app(app)  # tracing on only: the outermost middleware, it reads `traceparent`
    install_truthful_openapi(app)
    return app


# Start-up retries while PostgreSQL or NATS is away: capped backoff.
STARTUP_RETRY_CAP = 2.0


@contextlib.asynccontextmanager
async def service_lifespan(
    app: FastAPI,
    settings: ServiceSettings,
    consumers: ConsumerFactory | None,
    on_startup: Sequence[RuntimeHook],
    on_shutdown: Sequence[RuntimeHook],
) -> AsyncIterator[None]:
    """Start the runtime and the start-up hooks, and always stop what was started.

    When PostgreSQL or NATS is away at start-up (a transient failure), the lifespan does not
    fail: the process starts serving (the port open, `/healthz` alive, `/readyz` and every
    route 503 with Retry-After) while a task retries the start-up with a capped backoff until
    it succeeds. Anything else (a bug, bad configuration) fails the start-up as before.
    """

    async def start_once() -> ServiceRuntime:
        runtime = await start_runtime(settings, consumers)
        try:
            for hook in on_startup:
                await hook(runtime)
        except BaseException:
            # Hooks that fail must not leave loops running (what a hook started included).
            for hook in on_shutdown:
                with contextlib.suppress(Exception):
                    await hook(runtime)
            await stop_runtime(runtime)
            raise
        app.state.runtime = runtime
        log.info("service.started", host=settings.host, port=settings.port)
        return runtime

    async def start_with_retries(first: BaseException) -> None:
        failures = 1
        error: BaseException = first
        while True:
            app.state.startup_error = describe(error)
            log.warning("service.start_failed_retrying", error=describe(error), failures=failures)
            await asyncio.sleep(min(STARTUP_RETRY_CAP, 0.2 * 2**failures))
            try:
                await start_once()
                app.state.startup_error = None
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise  # the task ends: /healthz fails and the process is restarted
                error, failures = exc, failures + 1

    app.state.runtime = None
    app.state.starter = None
    try:
        await start_once()
    except Exception as exc:
        if not is_transient(exc):
            raise
        app.state.starter = asyncio.create_task(start_with_retries(exc), name="service-start")
    try:
        yield
    finally:
        starter: asyncio.Task[None] | None = app.state.starter
        if starter is not None and not starter.done():
            starter.cancel()
            await asyncio.gather(starter, return_exceptions=True)
        runtime: ServiceRuntime | None = app.state.runtime
        if runtime is not None:
            try:
                for hook in on_shutdown:
                    await hook(runtime)
            finally:
                await stop_runtime(runtime)
            app.state.runtime = None
        log.info("service.stopped")


async def start_runtime(
    settings: ServiceSettings, consumers: ConsumerFactory | None = None
) -> ServiceRuntime:
    """Engine, NATS, streams, relay, pruner and consumers; what was made is closed again when
    a step fails (the caller retries a transient failure)."""
    engine = create_engine(settings.sqlalchemy_url, pool_size=settings.db_pool_size)
    instrument_engine(engine)
    bus = MessageBus(settings.nats_url, name=f"riskwatch-{settings.service_name}")
    try:
        await bus.connect()
        await ensure_streams(bus.js, replicas=settings.stream_replicas)
        # Fail here, not in the first request, when the database does not answer.
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except BaseException:
        with contextlib.suppress(Exception):
            await bus.close()
        await engine.dispose()
        raise
    relay = OutboxRelay(
        service=settings.service_name,
        engine=engine,
        bus=bus,
        listen_dsn=to_asyncpg_dsn(settings.sqlalchemy_url),
        batch_size=settings.outbox_batch_size,
    )
    runtime = ServiceRuntime(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        bus=bus,
        http=httpx.AsyncClient(timeout=10.0),
        relay=relay,
        inbox_pruner=InboxPruner(
            service=settings.service_name,
            engine=engine,
            retention_seconds=settings.inbox_retention_seconds,
            interval_seconds=settings.inbox_prune_interval_seconds,
        ),
    )
    await relay.start()
    await runtime.inbox_pruner.start()
    for spec in consumers(runtime) if consumers else ():
        runner = ConsumerRunner(
            spec,
            bus=bus,
            session_factory=runtime.session_factory,
            default_batch_linger=settings.consumer_batch_linger,
        )
        await runner.start()
        runtime.consumers.append(runner)
    return runtime


async def stop_runtime(runtime: ServiceRuntime) -> None:
    for runner in runtime.consumers:
        await runner.stop()
    await runtime.inbox_pruner.stop()
    await runtime.relay.stop()
    await runtime.http.aclose()
    await runtime.bus.close()
    await runtime.engine.dispose()


async def readiness(runtime: ServiceRuntime) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        checks["database"] = False
    checks["nats"] = runtime.bus.connected
    checks["outbox_relay"] = runtime.relay.healthy
    for runner in runtime.consumers:
        checks[f"consumer:{runner.name}"] = runner.healthy
    for name, check in runtime.checks.items():
        checks[name] = check()
    return checks


def liveness(runtime: ServiceRuntime) -> dict[str, bool]:
    """Per loop: alive and not stuck. Waiting for a dependency that is away is alive."""
    checks = {"outbox_relay": runtime.relay.live, "inbox_pruner": runtime.inbox_pruner.live}
    for runner in runtime.consumers:
        checks[f"consumer:{runner.name}"] = runner.live
    for name, check in runtime.live_checks.items():
        checks[name] = check()
    return checks


def health_router(service: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", operation_id=f"{service}-healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        """Alive: every background loop runs and none is stuck (else 503: restart me).

        Never fails because PostgreSQL or NATS is away: a restart would not bring them back.
        """
        runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
        if runtime is None:
            starter: asyncio.Task[None] | None = getattr(request.app.state, "starter", None)
            if starter is not None and starter.done():
                return problem_response(503, "Not alive", "start-up failed", type_slug="not-alive")
            return JSONResponse({"status": "starting", "service": service})
        checks = liveness(runtime)
        if all(checks.values()):
            return JSONResponse({"status": "ok", "service": service})
        stuck = ", ".join(name for name, ok in checks.items() if not ok)
        log.error("service.not_alive", stuck=stuck)
        return problem_response(
            503, "Not alive", f"stuck: {stuck}", type_slug="not-alive", checks=checks
        )

    @router.get("/readyz", operation_id=f"{service}-readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Ready: database, NATS, outbox relay and every consumer loop are up."""
        runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
        if runtime is None:
            detail = getattr(request.app.state, "startup_error", None) or "starting"
            return problem_response(503, "Not ready", detail, type_slug="not-ready")
        checks = await readiness(runtime)
        if all(checks.values()):
            return JSONResponse({"status": "ready", "service": service, "checks": checks})
        failing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem_response(
            503, "Not ready", f"failing: {failing}", type_slug="not-ready", checks=checks
        )

    router.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    router.include_router(dead_letter_router(service))
    return router


def _dead_letters(request: Request) -> DeadLetters:
    """The service's own consumers' dead letters; admins only."""
    require_role(get_identity(request), ADMIN, action="reading or re-driving dead letters")
    runtime = get_runtime(request)
    return DeadLetters(runtime.bus, [runner.name for runner in runtime.consumers])


Letters = Annotated[DeadLetters, Depends(_dead_letters)]
# A stream sequence: JetStream takes an unsigned 64-bit number, PostgreSQL's bigint less.
Sequence_ = Annotated[
    int, FastAPIPath(ge=1, le=INT64_MAX, description="The dead letter's stream sequence")
]


def dead_letter_router(service: str) -> APIRouter:
    """`/v1/dead-letters/<service>`: list, inspect and re-drive (audited) this service's dead
    letters (see `riskwatch_shared.messaging.deadletters`)."""
    router = APIRouter(prefix=f"/v1/dead-letters/{service}", tags=["dead letters"])

    @router.get("", operation_id=f"{service}-list-dead-letters")
    async def list_dead_letters(
        letters: Letters,
        consumer: Annotated[SafeText | None, Query(max_length=200)] = None,
        after: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        """Dead letters of this service's consumers, oldest first (no payloads)."""
        found = await letters.find(consumer=consumer, after=after, limit=limit)
        return {
            "items": [letter.to_json() for letter in found],
            "consumers": letters.consumers,
            "next_after": found[-1].sequence if found else None,
        }

    @router.get("/{sequence}", operation_id=f"{service}-get-dead-letter")
    async def get_dead_letter(letters: Letters, sequence: Sequence_) -> dict[str, Any]:
        """One dead letter with its payload and why it was dead-lettered."""
        try:
            return (await letters.get(sequence)).to_json()
        except DeadLetterNotFound as exc:
            raise NotFound(str(exc)) from exc

    @router.post("/{sequence}/redrive", operation_id=f"{service}-redrive-dead-letter")
    async def redrive_dead_letter(
        request: Request, letters: Letters, sequence: Sequence_
    ) -> dict[str, Any]:
        """Publish it again for its consumer (fresh message id, same event id): the consumer's
        inbox drops it if it was applied meanwhile. Audited."""
        try:
            return await letters.redrive(sequence, actor=get_identity(request).subject)
        except DeadLetterNotFound as exc:
            raise NotFound(str(exc)) from exc

    @router.get("/audit/{consumer}", operation_id=f"{service}-dead-letter-audit")
    async def dead_letter_audit(
        letters: Letters, consumer: Annotated[SafeText, FastAPIPath(max_length=200)]
    ) -> dict[str, Any]:
        """Who re-drove which of the consumer's dead letters, and when."""
        if consumer not in letters.consumers:
            raise NotFound(f"no consumer {consumer} in {service}")
        return {"items": await letters.audit(consumer)}

    return router


def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:  # still starting (PostgreSQL or NATS away): 503 + Retry-After
        raise ServiceUnavailable("the service is starting; retry")
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed by the kit when the route returns, before the
    response is sent (`SessionDep` declares the "function" scope); routes only flush."""
    async with unit_of_work(get_runtime(request).session_factory) as session:
        yield session


def get_identity(request: Request) -> Identity:
    """The caller as the gateway signed it; refused when missing or forged."""
    runtime = get_runtime(request)
    settings = runtime.settings
    token = request.headers.get(IDENTITY_HEADER)
    if token is None:
        # Only a development machine may skip the gateway.
        if settings.dev_mode and not settings.require_internal_identity:
            return SYSTEM_IDENTITY
        raise Unauthorized("calls must come through the gateway (missing signed identity)")
    try:
        return verify_identity_token(token, settings.identity_keys())
    except InvalidIdentity as exc:
        raise Unauthorized(f"invalid gateway identity: {exc}") from exc


API_PREFIX = "/v1/"
# A service's own identity (`SYSTEM_IDENTITY`: no gateway in front, development only; tools
# and benchmarks that mint one, role `SERVICE_ROLE`) is not confined by the table; no user or
# API key can hold it.


def authorize(identity: Identity, method: str, path: str) -> None:
    """Refuse (403) what the shared policy table does not allow this caller (default deny).

    The same table and matcher as the gateway's admission, so a service reached directly
    refuses exactly what the gateway would.
    """
    if identity.kind == "service" and SERVICE_ROLE in identity.roles:
        return
    rule = DEFAULT_POLICY.rule_for(method, path)
    if not decide(rule, identity.roles, identity.scopes):
        raise Forbidden(f"{', '.join(identity.roles) or 'no role'} may not {method} {path}")


async def _authorized(request: Request) -> Identity | None:
    """Every `/v1` operation: the gateway's signed identity (401) with a role the policy
    table allows for it (403). Health, readiness and metrics stay outside."""
    path: str = request.scope["path"]
    if not path.startswith(API_PREFIX):
        return None
    identity = get_identity(request)
    authorize(identity, request.method, path)
    request.state.identity = identity
    return identity


# Async wrappers: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
async def _runtime_dependency(request: Request) -> ServiceRuntime:
    return get_runtime(request)


async def _identity_dependency(request: Request) -> Identity:
    # Already verified by the app-wide check for `/v1` routes (it runs first).
    identity: Identity | None = getattr(request.state, "identity", None)
    return identity if identity is not None else get_identity(request)


RuntimeDep = Annotated[ServiceRuntime, Depends(_runtime_dependency)]
# "function": the exit (the commit) runs when the route returns, before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
IdentityDep = Annotated[Identity, Depends(_identity_dependency)]
