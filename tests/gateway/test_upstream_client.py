"""The proxy's keep-alive client against a bare asyncio HTTP server: connections are reused,
a service that closes them is handled, timeouts and refused connections surface as errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from riskwatch_gateway.upstream_client import UpstreamConnectError, UpstreamPool

from .test_proxy import closed_port


@contextlib.asynccontextmanager
async def http_server(
    *, close_after_each: bool, delay: float = 0.0
) -> AsyncIterator[tuple[int, list[int]]]:
    """Answers every request with its body echoed; counts connections."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                await asyncio.sleep(delay)
                chunked = b"4\r\necho\r\n"
                if body:
                    chunked += b"%x\r\n%s\r\n" % (len(body), body)
                chunked += b"0\r\n\r\n"
                writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-n: 1\r\n\r\n")
                writer.write(chunked)
                await writer.drain()
                if close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, connections
    finally:
        server.close()


async def test_connections_are_kept_alive_and_responses_parsed() -> None:
    pool = UpstreamPool()
    async with http_server(close_after_each=False) as (port, connections):
        for n in range(5):
            response = await pool.request(
                "127.0.0.1", port, "POST", b"/v1/x?q=1", [(b"x-a", b"b")], b"n%d" % n, timeout=5
            )
            assert response.status == 200
            assert response.body == b"echon%d" % n
            assert (b"x-n", b"1") in response.headers
    await pool.aclose()
    assert len(connections) == 1


async def test_a_service_that_closes_connections_gets_new_ones() -> None:
    pool = UpstreamPool()
    async with http_server(close_after_each=True) as (port, connections):
        for _ in range(3):
            response = await pool.request("127.0.0.1", port, "GET", b"/", [], b"", timeout=5)
            assert response.body == b"echo"
    await pool.aclose()
    assert len(connections) == 3


async def test_timeouts_and_refused_connections_raise() -> None:
    pool = UpstreamPool(connect_timeout=2)
    async with http_server(close_after_each=False, delay=2) as (port, _):
        with pytest.raises(TimeoutError):
            await pool.request("127.0.0.1", port, "GET", b"/", [], b"", timeout=0.2)
    with pytest.raises(UpstreamConnectError):
        await pool.request("127.0.0.1", closed_port(), "GET", b"/", [], b"", timeout=2)
    await pool.aclose()
