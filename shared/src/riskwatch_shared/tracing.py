"""W3C trace context (`traceparent`) end to end, and OpenTelemetry spans when configured.

Always on, and cheap: a request's trace id comes from its `traceparent` (or the legacy
`x-trace-id`, or a new one), lives in `trace_id_var`/`traceparent_var` for logs and events, is
stored with each outbox row and carried in the JetStream message's `traceparent` header; a
consumer runs its handler in the context taken from the message. No span objects exist then.

Off by default: with an OTLP endpoint configured (`OTEL_EXPORTER_OTLP_ENDPOINT`) or an exporter
handed in (tests), `enable_tracing` sets up the SDK, instruments FastAPI, httpx and SQLAlchemy,
and the consumer runner opens a span per message. The OpenTelemetry SDK and instrumentations
are imported only then.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine

TRACEPARENT_HEADER = "traceparent"
LEGACY_TRACE_ID_HEADER = "x-trace-id"
SAMPLED = "01"

# The current hop's `traceparent` (trace id and the span the next hop is a child of).
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)

# Tracing on, while a consumer handles a batch: its messages' spans, by trace id.
_batch_parents: ContextVar[dict[str, str] | None] = ContextVar("batch_parents", default=None)

_TRACE_ID = re.compile(r"(?!0{32})[0-9a-f]{32}")
# version-trace id-parent id-flags; a later version may append fields, version 00 may not.
_TRACEPARENT = re.compile(
    r"(?!ff)([0-9a-f]{2})-((?!0{32})[0-9a-f]{32})-((?!0{16})[0-9a-f]{16})-([0-9a-f]{2})(-.*)?"
)


@dataclass(frozen=True, slots=True)
class TraceParent:
    trace_id: str
    span_id: str
    flags: str = SAMPLED

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def is_trace_id(value: str) -> bool:
    """A W3C trace id: 32 lowercase hex digits, not all zero. Pure."""
    return _TRACE_ID.fullmatch(value) is not None


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The W3C `traceparent` header (version 00, or a later one read as 00), or None. Pure."""
    if value is None or len(value) < 55:
        return None
    match = _TRACEPARENT.fullmatch(value.strip().lower())
    if match is None or (match[1] == "00" and match[5] is not None):
        return None
    return TraceParent(match[2], match[3], match[4])


def new_trace_id() -> str:
    return f"{_span_bits.getrandbits(128) | 1:032x}"  # never all zero


# Span ids need to be unique, not secret: a generator of its own (seeded from the OS, reseeded
# in a forked child) costs a fraction of a syscall per id on the event path.
_span_bits = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _span_bits.seed(os.urandom(32)))


def new_span_id() -> str:
    return f"{_span_bits.getrandbits(64) | 1:016x}"  # never all zero


def traceparent_for(trace_id: str | None) -> str | None:
    """The `traceparent` to store with an outbox row of an event of `trace_id`: the current
    hop's when it is the same trace (a request, a consumer's handler), else a child of the
    trace with a span id of its own (a batch handler's event of another trace); None for a
    trace id that is not W3C (a legacy `x-trace-id` of another shape)."""
    if trace_id is None:
        return None
    current = traceparent_var.get()
    if current is not None and current[3:35] == trace_id:
        return current
    if not is_trace_id(trace_id):
        return None
    batch = _batch_parents.get()
    if batch is not None and (parent := batch.get(trace_id)) is not None:
        return parent  # the consumer span of the message of this trace (tracing on)
    return f"00-{trace_id}-{new_span_id()}-{SAMPLED}"


# --- OpenTelemetry, when enabled ---------------------------------------------------------

_tracer: Tracer | None = None
_provider: TracerProvider | None = None


def tracing_enabled() -> bool:
    return _tracer is not None


def enable_tracing(
    service: str, *, endpoint: str | None = None, exporter: SpanExporter | None = None
) -> bool:
    """Set up the SDK once per process with an OTLP exporter to `endpoint` (or `exporter`,
    exported synchronously: tests); a no-op returning False when neither is given."""
    global _tracer, _provider
    if _tracer is not None:
        return True
    if exporter is None and not endpoint:
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    # One provider per process (OpenTelemetry allows no second): enabled again, it gains the
    # new exporter.
    provider = _provider or TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert endpoint is not None
        url = endpoint.rstrip("/")
        url = url if url.endswith("/v1/traces") else f"{url}/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    if _provider is None:
        trace.set_tracer_provider(provider)
        _provider = provider
    _tracer = provider.get_tracer("riskwatch")
    _instrument_httpx(provider)
    return True


def tracer_provider() -> TracerProvider | None:
    """The SDK provider, once tracing has been enabled in this process."""
    return _provider


def disable_tracing() -> None:
    """Tests: stop making spans (the SDK provider stays registered, as OpenTelemetry allows
    one per process); instrumented apps and engines made meanwhile keep their spans."""
    global _tracer
    if _tracer is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    if _provider is not None:
        _provider.force_flush()
    _tracer = None


def _instrument_httpx(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


def instrument_app(app: FastAPI) -> None:
    """FastAPI server spans (the outermost middleware: it takes `traceparent` first)."""
    if _tracer is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls="healthz,readyz,livez,metrics"
    )


def instrument_engine(engine: AsyncEngine) -> None:
    if _tracer is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, tracer_provider=_provider, enable_commenter=False
    )


def current_span_traceparent() -> TraceParent | None:
    """The current OpenTelemetry span's context (the server span of a request), if any."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    flags = f"{int(context.trace_flags):02x}"
    return TraceParent(f"{context.trace_id:032x}", f"{context.span_id:016x}", flags)


@contextlib.contextmanager
def consumer_spans(name: str, traceparents: Sequence[str | None]) -> Iterator[None]:
    """Tracing on: a CONSUMER span per message (a child of the message's `traceparent`), all
    open while the batch is handled; with one message its span is the current one (database
    spans and published events nest under it), with several a batch span linking them is.
    Tracing off: nothing at all."""
    tracer = _tracer
    if tracer is None:
        yield
        return
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Link, SpanKind
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagator = TraceContextTextMapPropagator()
    spans: list[Span] = []
    for header in traceparents:
        parent = propagator.extract({TRACEPARENT_HEADER: header}) if header else None
        spans.append(tracer.start_span(f"{name} process", context=parent, kind=SpanKind.CONSUMER))
    if len(spans) == 1:
        current = spans[0]
    else:
        links = [Link(span.get_span_context()) for span in spans]
        current = tracer.start_span(f"{name} batch", kind=SpanKind.CONSUMER, links=links)
        spans.append(current)
    token = otel_context.attach(trace.set_span_in_context(current))
    parents: dict[str, str] = {}
    for span in spans:
        context = span.get_span_context()
        parents.setdefault(
            f"{context.trace_id:032x}",
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}",
        )
    parents_token = _batch_parents.set(parents)
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(trace.StatusCode.ERROR)
        raise
    finally:
        _batch_parents.reset(parents_token)
        otel_context.detach(token)
        for span in spans:
            span.end()
