"""A lean keep-alive HTTP/1.1 client for the proxy's hot path: buffered calls to the services.

httpx's pool costs the gateway more CPU per call than the service spends answering it (it
polls every pooled socket on each request), so calls whose answer is buffered go through
this: one asyncio protocol per connection, httptools (the parser uvicorn uses) for the
response, idle connections kept per service. Streams (SSE) still go through httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from typing import cast

import httptools


class UpstreamConnectError(ConnectionError):
    pass


class UpstreamProtocolError(ConnectionError):
    pass


@dataclass
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    keep_alive: bool = True


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.received = False
        self._waiter: asyncio.Future[None] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._keep_alive = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # a large body's last segment must not wait for a delayed ACK
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamProtocolError(f"invalid response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionResetError("the service closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._headers = []
        self._body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        # Read here: once the message is complete the parser resets for the next one.
        self._keep_alive = self.parser.should_keep_alive()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    async def exchange(self, raw_request: bytes) -> UpstreamResponse:
        assert self.transport is not None
        self.received = False
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw_request)
        try:
            await self._waiter
        finally:
            self._waiter = None
        return UpstreamResponse(
            status=self.parser.get_status_code(),
            headers=self._headers,
            body=b"".join(self._body),
            keep_alive=self._keep_alive,
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Idle keep-alive connections per (host, port)."""

    def __init__(self, *, max_idle_per_host: int = 256, connect_timeout: float = 5.0) -> None:
        self.max_idle_per_host = max_idle_per_host
        self.connect_timeout = connect_timeout
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def request(
        self,
        host: str,
        port: int,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        timeout: float,
    ) -> UpstreamResponse:
        """One call; raises TimeoutError, UpstreamConnectError or ConnectionError."""
        raw = _serialise(method, target, host, port, headers, body)
        async with asyncio.timeout(timeout):
            reused, connection = await self._acquire(host, port)
            try:
                response = await connection.exchange(raw)
            except ConnectionError:
                connection.close()
                # A reused connection the service closed while idle never saw the request:
                # send it once more on a fresh one.
                if not (reused and not connection.received):
                    raise
                _, connection = await self._acquire(host, port, fresh=True)
                response = await connection.exchange(raw)
            except BaseException:
                connection.close()
                raise
        self._release(host, port, connection, keep_alive=response.keep_alive)
        return response

    async def _acquire(
        self, host: str, port: int, *, fresh: bool = False
    ) -> tuple[bool, _Connection]:
        idle = self._idle.get((host, port))
        while idle and not fresh:
            connection = idle.pop()
            if not connection.closed:
                return True, connection
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, protocol = await loop.create_connection(_Connection, host, port)
        except (OSError, TimeoutError) as exc:
            raise UpstreamConnectError(f"cannot connect to {host}:{port}: {exc!r}") from exc
        return False, protocol

    def _release(self, host: str, port: int, connection: _Connection, *, keep_alive: bool) -> None:
        idle = self._idle.setdefault((host, port), [])
        if keep_alive and not connection.closed and len(idle) < self.max_idle_per_host:
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                with contextlib.suppress(Exception):
                    connection.close()
        self._idle.clear()


def _serialise(
    method: str,
    target: bytes,
    host: str,
    port: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (method.encode(), target), b"host: %s:%d" % (host.encode(), port)]
    lines += [b"%s: %s" % (name, value) for name, value in headers]
    lines.append(b"content-length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
