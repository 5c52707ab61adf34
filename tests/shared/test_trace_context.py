"""W3C trace context through a request, the outbox, JetStream and the consumer runner (always
on, no spans), and OpenTelemetry spans for the request and the consumer when tracing is on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from fastapi import FastAPI, Request
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_shared import tracing
from riskwatch_shared.logging import _add_context_ids, trace_id_var
from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.messaging.consumer import ConsumerRunner, ConsumerSpec, PerEvent
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.observability import RequestContextMiddleware
from riskwatch_shared.testing import wait_until
from riskwatch_shared.tracing import (
    TraceParent,
    new_span_id,
    new_trace_id,
    parse_traceparent,
    traceparent_for,
    traceparent_var,
)

from .conftest import TEST_STREAM, Pinged
from .test_messaging import make_relay

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_traceparent_is_parsed_as_w3c_says() -> None:
    assert parse_traceparent(VALID) == TraceParent(
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "01"
    )
    assert parse_traceparent(VALID.upper()) is not None  # read case-insensitively
    assert parse_traceparent("01" + VALID[2:] + "-later-fields") is not None  # a later version
    for bad in (
        None,
        "",
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",  # all-zero span id
        "ff" + VALID[2:],  # the forbidden version
        VALID + "-extra",  # version 00 has four fields
        VALID.replace("4bf9", "xyz1"),
    ):
        assert parse_traceparent(bad) is None, bad


def test_an_outbox_row_gets_the_traceparent_of_its_events_trace() -> None:
    trace_id = new_trace_id()
    assert parse_traceparent(f"00-{trace_id}-{new_span_id()}-01") is not None
    assert traceparent_for(None) is None
    assert traceparent_for("trace-batch-1") is None  # a legacy id of another shape: no header
    token = traceparent_var.set(f"00-{trace_id}-00f067aa0ba902b7-01")
    try:
        assert traceparent_for(trace_id) == f"00-{trace_id}-00f067aa0ba902b7-01"  # this hop's
        other = new_trace_id()
        child = parse_traceparent(traceparent_for(other))
        assert child is not None
        assert child.trace_id == other  # another trace: a child of it
    finally:
        traceparent_var.reset(token)


def service_app(session_factory: async_sessionmaker[AsyncSession]) -> FastAPI:
    """A route staging an event, behind the request context middleware every service has."""
    app = FastAPI()

    @app.post("/ping")
    async def ping(request: Request) -> dict[str, str | None]:
        async with session_factory() as session, session.begin():
            await add_events(session, Pinged(n=1))
        return {"trace_id": trace_id_var.get()}

    app.add_middleware(RequestContextMiddleware, service="rwtest")
    tracing.instrument_app(app)
    return app


async def stream_messages(bus: MessageBus, count: int) -> list[tuple[dict[str, Any], str | None]]:
    """The stream's first `count` messages: (event, traceparent header)."""
    found = []
    first = (await bus.js.stream_info(TEST_STREAM.name)).state.first_seq
    for seq in range(first, first + count):
        msg = await bus.js.get_msg(TEST_STREAM.name, seq)
        event = msgspec.json.decode(msg.data or b"")
        found.append((event, (msg.headers or {}).get("traceparent")))
    return found


@pytest.fixture
async def traced_path(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], bus: MessageBus
) -> AsyncIterator[dict[str, Any]]:
    """A request with a `traceparent` stages n=1; a consumer handles it and stages n=2."""
    seen: dict[str, Any] = {"logged": []}

    async def handle(event: Pinged, session: AsyncSession) -> None:
        seen["logged"].append(_add_context_ids(None, "info", {})["trace_id"])
        if event.n == 1:
            seen["handler_traceparent"] = traceparent_var.get()
            await add_events(session, Pinged(n=2))

    spec = ConsumerSpec(
        durable=f"trace-{uuid.uuid4().hex[:6]}",
        stream=TEST_STREAM.name,
        subjects=["rwtest.>"],
        handling=PerEvent().on(Pinged, handle),
        fetch_timeout=0.2,
    )
    runner = ConsumerRunner(spec, bus=bus, session_factory=session_factory)
    relay = make_relay(engine, bus)
    await relay.start()
    await runner.start()
    trace_id = new_trace_id()
    incoming = f"00-{trace_id}-{new_span_id()}-01"
    try:
        transport = httpx.ASGITransport(app=service_app(session_factory))
        async with httpx.AsyncClient(transport=transport, base_url="http://rw") as client:
            response = await client.post("/ping", headers={"traceparent": incoming})
        assert response.json()["trace_id"] == trace_id
        assert response.headers["x-trace-id"] == trace_id
        await wait_until(lambda: _at_least(bus, 2), message="both events published")
        await wait_until(lambda: _handled(seen, 2), message="both events handled")
        seen.update(trace_id=trace_id, incoming=incoming, messages=await stream_messages(bus, 2))
        yield seen
    finally:
        await runner.stop()
        await relay.stop()


async def _at_least(bus: MessageBus, count: int) -> bool:
    info = await bus.js.stream_info(TEST_STREAM.name)
    return info.state.messages >= count


async def _handled(seen: dict[str, Any], count: int) -> bool:
    return len(seen["logged"]) >= count


def assert_one_trace(seen: dict[str, Any]) -> None:
    trace_id = seen["trace_id"]
    for event, header in seen["messages"]:
        parent = parse_traceparent(header)
        assert parent is not None, header
        assert parent.trace_id == trace_id, header
        assert event["trace_id"] == trace_id
    assert seen["logged"] == [trace_id, trace_id]  # the handlers' logs carry it
    handler_parent = parse_traceparent(seen["handler_traceparent"])
    assert handler_parent is not None
    assert handler_parent.trace_id == trace_id


@pytest.fixture
def spy() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = tracing.tracer_provider()
    if provider is not None:  # tracing was on earlier in this process: watch its provider
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


async def test_tracing_off_carries_the_trace_through_outbox_and_consumer_with_no_span(
    spy: InMemorySpanExporter, traced_path: dict[str, Any]
) -> None:
    assert not tracing.tracing_enabled()
    assert_one_trace(traced_path)
    assert spy.get_finished_spans() == ()


@pytest.fixture
def tracing_on() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.enable_tracing("rwtest", exporter=exporter)
    yield exporter
    tracing.disable_tracing()
    exporter.shutdown()


async def test_tracing_on_exports_the_request_and_consumer_spans_of_the_trace(
    tracing_on: InMemorySpanExporter, traced_path: dict[str, Any]
) -> None:
    assert_one_trace(traced_path)
    trace_id = int(traced_path["trace_id"], 16)
    spans = [s for s in tracing_on.get_finished_spans() if s.context.trace_id == trace_id]
    server = [s for s in spans if s.kind is SpanKind.SERVER]
    consumers = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert server
    assert server[0].parent is not None
    incoming = parse_traceparent(traced_path["incoming"])
    assert incoming is not None
    assert server[0].parent.span_id == int(incoming.span_id, 16)
    assert len(consumers) == 2  # one per message, each a child of the message's traceparent
    first, second = (parse_traceparent(h) for _, h in traced_path["messages"])
    assert first is not None
    assert second is not None
    parents = {s.parent.span_id for s in consumers if s.parent is not None}
    assert parents == {int(first.span_id, 16), int(second.span_id, 16)}
    # The second message was published from inside the first consumer span.
    assert int(second.span_id, 16) in {s.context.span_id for s in consumers}
