"""Request context middleware (request id, trace id, timing, metrics, the catch-all answer to
an unexpected exception) and /metrics."""

from __future__ import annotations

import time
import uuid

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskwatch_shared.errors import problem_response, unexpected_error_response
from riskwatch_shared.logging import request_id_var, trace_id_var
from riskwatch_shared.metrics import HTTP_DURATION, HTTP_REQUESTS
from riskwatch_shared.tracing import (
    LEGACY_TRACE_ID_HEADER,
    TRACEPARENT_HEADER,
    TraceParent,
    current_span_traceparent,
    is_trace_id,
    new_span_id,
    new_trace_id,
    parse_traceparent,
    traceparent_var,
)

REQUEST_ID_HEADER = "x-request-id"
TRACE_ID_HEADER = LEGACY_TRACE_ID_HEADER


def request_trace(scope: Scope) -> tuple[str, str | None]:
    """(trace id, this hop's `traceparent`) of a request: from its W3C `traceparent`, else its
    legacy `x-trace-id` (any short string, still honoured; a `traceparent` only when it is a W3C
    trace id), else the OpenTelemetry server span's or a new trace. Tracing off, no span is
    made and an incoming `traceparent` is passed on as it came."""
    incoming = parse_traceparent(_header(scope, TRACEPARENT_HEADER.encode()))
    span = current_span_traceparent()  # None unless tracing is on
    if incoming is not None:
        if span is not None and span.trace_id == incoming.trace_id:
            return incoming.trace_id, span.header()
        return incoming.trace_id, incoming.header()  # passed on: no span of ours exists
    legacy = _header(scope, TRACE_ID_HEADER.encode())
    if legacy:
        if not is_trace_id(legacy):
            return legacy, None
        if span is not None and span.trace_id == legacy:
            return legacy, span.header()
        return legacy, TraceParent(legacy, new_span_id()).header()
    if span is not None:
        return span.trace_id, span.header()
    trace_id = new_trace_id()
    return trace_id, TraceParent(trace_id, new_span_id()).header()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded[:128]
    return None


def _has_nul(scope: Scope) -> bool:
    """A NUL in the path or query: PostgreSQL stores no NUL, and no id or filter holds one."""
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


class RequestContextMiddleware:
    """Pure ASGI: sets the request/trace ids for logs and events, echoes them, records metrics.

    It is also the catch-all: an exception nothing else handled becomes a problem+json answer
    (`unexpected_error_response`) sent through the same path, so it carries the request id and
    whatever headers outer middleware adds; a request whose path or query holds a NUL is a 400.
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, REQUEST_ID_HEADER.encode()) or uuid.uuid4().hex
        trace_id, traceparent = request_trace(scope)
        rid_token = request_id_var.set(request_id)
        tid_token = trace_id_var.set(trace_id)
        tp_token = traceparent_var.set(traceparent)
        status_code = 500
        started = time.perf_counter()

        async def send_with_ids(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                headers.append((TRACE_ID_HEADER.encode(), trace_id.encode()))
                message["headers"] = headers
            await send(message)

        started_response = False

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_ids(message)

        try:
            if _has_nul(scope):
                refused = problem_response(
                    400, "Bad request", "The path or query holds a NUL.", type_slug="bad-request"
                )
                await refused(scope, receive, send_tracked)
                return
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            if started_response:
                raise
            answer = unexpected_error_response(exc, path=scope.get("path", ""))
            await answer(scope, receive, send_tracked)
        finally:
            route = scope.get("route")
            route_path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(self.service, method, route_path, str(status_code)).inc()
            HTTP_DURATION.labels(self.service, method, route_path).observe(
                time.perf_counter() - started
            )
            request_id_var.reset(rid_token)
            trace_id_var.reset(tid_token)
            traceparent_var.reset(tp_token)


async def metrics_endpoint(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
