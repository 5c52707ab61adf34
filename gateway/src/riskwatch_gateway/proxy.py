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

from riskwatch_gateway.errors import RateLimited
from riskwatch_gateway.gatekeeper import Gatekeeper
from riskwatch_gateway.routing import service_for_path
from riskwatch_shared.errors import ServiceError, problem_response
from riskwatch_shared.logging import get_logger, request_id_var
from riskwatch_shared.observability import REQUEST_ID_HEADER
from riskwatch_shared.security import IDENTITY_HEADER

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
}
STRIPPED_RESPONSE = HOP_BY_HOP | {REQUEST_ID_HEADER.encode(), b"x-trace-id"}
EVENT_STREAM = "text/event-stream"
CALLER_STATE_KEY = "caller"


class ProxyState(Protocol):
    gatekeeper: Gatekeeper
    http: httpx.AsyncClient


@dataclass(frozen=True)
class ProxyConfig:
    upstreams: dict[str, str]
    max_body_bytes: int
    timeout_seconds: float


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
                await self._proxy(scope, receive, send, self.config.upstreams[service])
                return
        except ServiceError as exc:
            await _send_problem(scope, receive, send, exc)
            return
        await self.app(scope, receive, send)

    async def _admit_own(self, scope: Scope) -> None:
        """The gateway's own operations are admitted here too, before the body is parsed."""
        client_ip = scope["client"][0] if scope.get("client") else None
        identity = await self.state().gatekeeper.admit(
            scope["method"], scope["path"], Headers(scope=scope), client_ip
        )
        scope.setdefault("state", {})[CALLER_STATE_KEY] = identity

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, base_url: str) -> None:
        state = self.state()
        headers = Headers(scope=scope)
        method: str = scope["method"]
        path: str = scope["path"]
        client_ip = scope["client"][0] if scope.get("client") else None
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
        if client_ip:
            upstream_headers.append((b"x-forwarded-for", client_ip.encode()))
        streaming = EVENT_STREAM in headers.get("accept", "")
        # The path as the caller encoded it: decoding and re-encoding could change its meaning.
        raw_path: bytes = scope.get("raw_path") or path.encode()
        query: bytes = scope.get("query_string", b"")
        url = (
            base_url + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        )
        try:
            request = state.http.build_request(
                method,
                url,
                headers=upstream_headers,
                content=body,
                timeout=self.stream_timeout if streaming else self.timeout,
            )
        except httpx.InvalidURL as exc:
            raise InvalidPath(str(exc)) from None
        await self._exchange(state.http, request, receive, send, path=path)

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

    async def _exchange(
        self,
        http: httpx.AsyncClient,
        request: httpx.Request,
        receive: Receive,
        send: Send,
        *,
        path: str,
    ) -> None:
        try:
            upstream = await http.send(request, stream=True)
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"{request.url.host} did not answer in time") from None
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{request.url.host}: {exc.__class__.__name__}") from None
        try:
            response_headers = [
                (k, v) for k, v in upstream.headers.raw if k.lower() not in STRIPPED_RESPONSE
            ]
            if upstream.headers.get("content-type", "").startswith(EVENT_STREAM):
                await _stream(upstream, response_headers, receive, send)
                return
            try:
                content = await upstream.aread()
            except httpx.TimeoutException:
                raise UpstreamTimeout(f"{request.url.host} did not finish in time") from None
            except httpx.TransportError as exc:
                raise UpstreamUnavailable(f"{request.url.host}: {exc!r}") from None
            response_headers.append((b"content-length", str(len(content)).encode()))
            await send(
                {
                    "type": "http.response.start",
                    "status": upstream.status_code,
                    "headers": response_headers,
                }
            )
            await send({"type": "http.response.body", "body": content})
        finally:
            await upstream.aclose()
        if upstream.status_code >= 500:
            log.warning("gateway.upstream_error", path=path, status=upstream.status_code)


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
    if exc.status_code >= 500:
        log.warning("gateway.upstream_failed", path=scope["path"], status=exc.status_code)
    else:
        log.info("gateway.refused", path=scope["path"], status=exc.status_code)
    await response(scope, receive, send)
