"""Test kit: embedded servers once per session, condition waits, service app harness."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import (
    IDENTITY_HEADER,
    Identity,
    PublicKeySet,
    SigningKey,
    generate_signing_key,
    mint_identity_token,
)

T = TypeVar("T")

# A second admin: approves (activates) what a test's own identity proposed (maker-checker:
# the author of a rule change never approves it).
CHECKER = Identity(subject="checker", roles=("admin",))


class ThrowawayKeys:
    """Throwaway keys for one test process: the gateway's identity signing key and two user-
    token keys. `throwaway_environment()` hands them to every Settings built afterwards."""

    def __init__(self) -> None:
        self.identity = generate_signing_key("test-identity")
        self.user_tokens = (
            generate_signing_key("test-user-1"),
            generate_signing_key("test-user-2"),
        )

    def environment(self) -> dict[str, str]:
        return {
            "RISKWATCH_IDENTITY_PUBLIC_KEYS": PublicKeySet.of([self.identity]).to_json(),
            "RISKWATCH_IDENTITY_SIGNING_KEY": self.identity.to_json(),
            "GATEWAY_JWT_SIGNING_KEYS": json.dumps(
                {"keys": [key.private_jwk() for key in self.user_tokens]}
            ),
        }


_keys: ThrowawayKeys | None = None


def throwaway_keys() -> ThrowawayKeys:
    global _keys
    if _keys is None:
        _keys = ThrowawayKeys()
    return _keys


def throwaway_environment() -> dict[str, str]:
    """The key settings of this process's throwaway keys, as environment variables."""
    return throwaway_keys().environment()


async def wait_until(
    condition: Callable[[], Awaitable[T]],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> T:
    """Poll an async condition until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running_app(
    app: FastAPI, *, identity: Identity | None = None, signing_key: SigningKey | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    """Run an app's lifespan (engine, NATS, relay, consumers) and give an in-process client.

    With `identity`, every request carries the gateway's signed identity header for it (signed
    with the test key unless `signing_key` says otherwise).
    """
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        headers: dict[str, str] = {}
        if identity is not None:
            headers.update(identity_headers(identity, signing_key))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            yield client, runtime


@contextlib.asynccontextmanager
async def served_app(app: FastAPI) -> AsyncIterator[tuple[str, ServiceRuntime]]:
    """Serve an app over real HTTP on a free 127.0.0.1 port, lifespan included, and give its
    base URL: what a stream (SSE) test needs, since the in-process transport of `running_app`
    hands over a response only once it has ended."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))

    async def started() -> bool:
        if task.done():
            task.result()  # surface a failed startup
        return server.started

    try:
        await wait_until(started, timeout=30, message="server started")
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", app.state.runtime
    finally:
        server.should_exit = True
        await task
        listener.close()


def identity_headers(
    identity: Identity, signing_key: SigningKey | None = None, *, ttl_seconds: int = 3600
) -> dict[str, str]:
    """The gateway's identity header for `identity`, signed with the test key by default."""
    key = signing_key or throwaway_keys().identity
    return {IDENTITY_HEADER: mint_identity_token(identity, key, ttl_seconds=ttl_seconds)}


def checker_headers() -> dict[str, str]:
    """The identity header of CHECKER, the second person who approves a rule change."""
    return identity_headers(CHECKER)
