"""Test kit: embedded servers once per session, condition waits, service app harness."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import httpx
from fastapi import FastAPI

from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import IDENTITY_HEADER, Identity, mint_identity_token

T = TypeVar("T")


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
    app: FastAPI, *, identity: Identity | None = None, secret: str | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    """Run an app's lifespan (engine, NATS, relay, consumers) and give an in-process client.

    With `identity`, every request carries the gateway's signed identity header for it.
    """
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        headers: dict[str, str] = {}
        if identity is not None:
            token = mint_identity_token(
                identity, secret or runtime.settings.internal_secret, ttl_seconds=3600
            )
            headers[IDENTITY_HEADER] = token
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            yield client, runtime


def identity_headers(identity: Identity, secret: str) -> dict[str, str]:
    return {IDENTITY_HEADER: mint_identity_token(identity, secret, ttl_seconds=3600)}
