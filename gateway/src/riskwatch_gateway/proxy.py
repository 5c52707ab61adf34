"""The proxy path: a pure ASGI middleware that admits a /v1 call, forwards it to its service
with the signed identity, and streams the answer back (Server-Sent Events included).

It runs before FastAPI's router so a proxied call costs one policy lookup, a cached
credential check and one pooled upstream request, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from riskwatch_gateway.clientip import Network, client_address
from riskwatch_gateway.errors import RateLimited
from riskwatch_gateway.gatekeeper import Gatekeeper
from riskwatch_gateway.routing import service_for_path
from riskwatch_gateway.upstream_client import UpstreamPool
from riskwatch_shared.errors import ServiceError, problem_response
from riskwatch_shared.logging import get_logger, request_id_var, trace_id_var
from riskwatch_shared.observability import REQUEST_ID_HEADER
from riskwatch_shared.security import IDENTITY_HEADER
from riskwatch_shared.tracing import (
    LEGACY_TRACE_ID_HEADER,
    TRACEPARENT_HEADER,
    current_span_traceparent,
    traceparent_var,
)

log = get_logger(__name__)


HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
# Never forwarded: the caller's credentials stay here, and an identity only we may assert.
STRIPPED_REQUEST = HOP_BY_HOP | {
    IDENTITY_HEADER.encode(),
    b"authorization",
    b"x-api-key",
    b"cookie",
    REQUEST_ID_HEADER.encode(),
    b"x-forwarded-for",
    # Replaced by this hop's trace context (the trace id the caller sent, or a new one).
    TRACEPARENT_HEADER.encode(),
    LEGACY_TRACE_ID_HEADER.encode(),
}
# `date` and `server`: the gateway's own server adds its own (one of each, not two).
STRIPPED_RESPONSE = HOP_BY_HOP | {REQUEST_ID_HEADER.encode(), b"x-trace-id", b"date", b"server"}
EVENT_STREAM = "text/event-stream"
CALLER_STATE_KEY = "caller"
NO_BODY_STATUSES = frozenset({204, 304})


class ProxyState(Protocol):
    gatekeeper: Gatekeeper
    http: httpx.AsyncClient
    pool: UpstreamPool


@dataclass(frozen=True)
class Upstream:
    base_url: str
    scheme: str
    host: str
    port: int
    prefix: bytes

    @classmethod
    def parse(cls, base_url: str) -> Upstream:
        url = httpx.URL(base_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        prefix = url.raw_path.rstrip(b"/")
        return cls(base_url.rstrip("/"), url.scheme, url.host, port, prefix)


@dataclass(frozen=True)
class ProxyConfig:
    upstreams: dict[str, str]
    max_body_bytes: int
    timeout_seconds: float
    trusted_proxies: tuple[Network, ...] = ()


@dataclass(frozen=True)
class RouteLabel:
    """What the metrics middleware reads as the route: the service, not each id."""

    path: str


class PayloadTooLarge(ServiceError):
    status_code = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class ProxyMiddleware:
    def __init__(
        self, app: ASGIApp, *, config: ProxyConfig, state: Callable[[], ProxyState]
    ) -> None:
        self.app = app
        self.config = config
        self.state = state
        self.upstreams = {name: Upstream.parse(url) for name, url in config.upstreams.items()}
        self.timeout = httpx.Timeout(config.timeout_seconds, connect=5.0)
        # A live stream may stay quiet between events for as long as it likes.
        self.stream_timeout = httpx.Timeout(config.timeout_seconds, connect=5.0, read=None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        service = service_for_path(path)
        try:
            if service is None:
                await self._admit_own(scope)
            else:
                scope["route"] = RouteLabel(f"/v1/* ({service})")
                await self._proxy(scope, receive, send, self.upstreams[service])
                return
        except ServiceError as exc:
            await _send_problem(scope, receive, send, exc)
            return
        await self.app(scope, receive, send)

    def client_ip(self, scope: Scope) -> str | None:
        """The caller's address: X-Forwarded-For only from a trusted proxy."""
        peer = scope["client"][0] if scope.get("client") else None
        if not self.config.trusted_proxies:
            return peer
        forwarded = Headers(scope=scope).get("x-forwarded-for")
        return client_address(peer, forwarded, self.config.trusted_proxies)

    async def _admit_own(self, scope: Scope) -> None:
        """The gateway's own operations are admitted here too, before the body is parsed."""
        client_ip = self.client_ip(scope)
        identity = await self.state().gatekeeper.admit(
            scope["method"], scope["path"], Headers(scope=scope), client_ip
        )
        scope.setdefault("state", {})[CALLER_STATE_KEY] = identity

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, upstream: Upstream) -> None:
        state = self.state()
        headers = Headers(scope=scope)
        method: str = scope["method"]
        path: str = scope["path"]
        client_ip = self.client_ip(scope)
        identity = await state.gatekeeper.admit(method, path, headers, client_ip)
        body = await self._read_body(headers, receive)
        upstream_headers = [
            (key, value) for key, value in scope["headers"] if key not in STRIPPED_REQUEST
        ]
        if identity is not None:
            token = state.gatekeeper.identity_token(identity)
            upstream_headers.append((IDENTITY_HEADER.encode(), token.encode()))
        request_id = request_id_var.get()
        if request_id:
            upstream_headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
        upstream_headers.extend(_trace_headers())
        if client_ip:
            upstream_headers.append((b"x-forwarded-for", client_ip.encode()))
        # The path as the caller encoded it: decoding and re-encoding could change its meaning.
        target: bytes = upstream.prefix + (scope.get("raw_path") or path.encode())
        query: bytes = scope.get("query_string", b"")
        if query:
            target += b"?" + query
        streaming = EVENT_STREAM in headers.get("accept", "")
        if streaming or method == "HEAD" or upstream.scheme != "http":
            await self._exchange_httpx(
                state.http, method, upstream, target, upstream_headers, body, receive, send,
                streaming=streaming,
            )  # fmt: skip
            return
        await self._exchange(state.pool, method, upstream, target, upstream_headers, body, send)

    async def _exchange(
        self,
        pool: UpstreamPool,
        method: str,
        upstream: Upstream,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        send: Send,
    ) -> None:
        """The hot path: a buffered call over a pooled keep-alive connection."""
        try:
            response = await pool.request(
                upstream.host, upstream.port, method, target, headers, body,
                timeout=self.config.timeout_seconds,
            )  # fmt: skip
        except TimeoutError:
            raise UpstreamTimeout(f"{upstream.host} did not answer in time") from None
        except ConnectionError as exc:
            raise UpstreamUnavailable(f"{upstream.host}: {exc}") from None
        response_headers = [
            (k, v) for k, v in response.headers if k.lower() not in STRIPPED_RESPONSE
        ]
        if response.status not in NO_BODY_STATUSES:
            response_headers.append((b"content-length", str(len(response.body)).encode()))
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response_headers}
        )
        await send({"type": "http.response.body", "body": response.body})
        if response.status >= 500:
            log.warning("gateway.upstream_error", path=target.decode(), status=response.status)

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes:
        limit = self.config.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body exceeds {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]

    async def _exchange_httpx(
        self,
        http: httpx.AsyncClient,
        method: str,
        upstream: Upstream,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        receive: Receive,
        send: Send,
        *,
        streaming: bool,
    ) -> None:
        """Streams (SSE), HEAD and TLS upstreams go through httpx."""
        try:
            request = http.build_request(
                method,
                upstream.base_url.removesuffix(upstream.prefix.decode()) + target.decode("latin-1"),
                headers=headers,
                content=body,
                timeout=self.stream_timeout if streaming else self.timeout,
            )
        except httpx.InvalidURL as exc:
            raise InvalidPath(str(exc)) from None
        try:
            response = await http.send(request, stream=True)
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"{upstream.host} did not answer in time") from None
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{upstream.host}: {exc.__class__.__name__}") from None
        try:
            response_headers = [
                (k, v) for k, v in response.headers.raw if k.lower() not in STRIPPED_RESPONSE
            ]
            if response.headers.get("content-type", "").startswith(EVENT_STREAM):
                await _stream(response, response_headers, receive, send)
                return
            try:
                content = await response.aread()
            except httpx.TimeoutException:
                raise UpstreamTimeout(f"{upstream.host} did not finish in time") from None
            except httpx.TransportError as exc:
                raise UpstreamUnavailable(f"{upstream.host}: {exc!r}") from None
            if method != "HEAD":
                response_headers.append((b"content-length", str(len(content)).encode()))
            start = {"type": "http.response.start", "status": response.status_code}
            await send({**start, "headers": response_headers})
            await send({"type": "http.response.body", "body": content})
        finally:
            await response.aclose()


def _trace_headers() -> list[tuple[bytes, bytes]]:
    """The trace id as the legacy `x-trace-id` and, for a W3C one, this hop's `traceparent`
    (tracing on, the OpenTelemetry server span's)."""
    trace_id = trace_id_var.get()
    if not trace_id:
        return []
    headers = [(LEGACY_TRACE_ID_HEADER.encode(), trace_id.encode())]
    current = current_span_traceparent()
    if current is not None and current.trace_id == trace_id:
        traceparent: str | None = current.header()
    else:
        traceparent = traceparent_var.get()
    if traceparent:
        headers.append((TRACEPARENT_HEADER.encode(), traceparent.encode()))
    return headers


async def _stream(
    upstream: httpx.Response, headers: list[tuple[bytes, bytes]], receive: Receive, send: Send
) -> None:
    """Pass chunks through as they come; stop when either side goes away."""
    await send({"type": "http.response.start", "status": upstream.status_code, "headers": headers})

    async def pump() -> None:
        async for chunk in upstream.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def watch_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    pumping = asyncio.create_task(pump())
    watching = asyncio.create_task(watch_disconnect())
    try:
        await asyncio.wait({pumping, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pumping, watching):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError, OSError):
                await task
    with contextlib.suppress(OSError, RuntimeError):
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class InvalidPath(ServiceError):
    status_code = 400
    title = "Invalid path"
    type_slug = "invalid-path"


class UpstreamTimeout(ServiceError):
    status_code = 504
    title = "Upstream timeout"
    type_slug = "upstream-timeout"


class UpstreamUnavailable(ServiceError):
    status_code = 503
    title = "Upstream unavailable"
    type_slug = "upstream-unavailable"


async def _send_problem(scope: Scope, receive: Receive, send: Send, exc: ServiceError) -> None:
    response = problem_response(
        exc.status_code, exc.title, exc.detail, type_slug=exc.type_slug, instance=scope["path"]
    )
    if isinstance(exc, RateLimited):
        response.headers["retry-after"] = str(exc.retry_after)
    elif exc.status_code == 401:
        response.headers["www-authenticate"] = 'Bearer realm="riskwatch"'
    elif exc.status_code == 503:  # a dependency or a service is away: say when to retry
        response.headers["retry-after"] = str(getattr(exc, "retry_after", 2))

    if exc.status_code >= 500:
        log.warning("gateway.upstream_failed", path=scope["path"], status=exc.status_code)
    else:
        log.info("gateway.refused", path=scope["path"], status=exc.status_code)
    await response(scope, receive, send)
