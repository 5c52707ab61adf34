"""Small stand-ins for the four services, served on real sockets: they echo what reached them
(including the identity the gateway signed), serve an OpenAPI document, stream SSE, and can be
slow or report themselves down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from riskwatch_shared.security import (
    IDENTITY_HEADER,
    InvalidIdentity,
    PublicKeySet,
    verify_identity_token,
)


@dataclass
class Upstream:
    name: str
    keys: PublicKeySet
    down: bool = False
    doc_version: int = 1
    calls: int = 0
    release_stream: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def openapi(self) -> dict[str, Any]:
        """A small document: one routed path per area, a schema whose name clashes with the
        other services', and one path that does not route here (it must be dropped)."""
        area = {
            "customer": "/v1/customers",
            "scoring": "/v1/models",
            "alerting": "/v1/alerts",
            "notify": "/v1/inbox",
        }[self.name]
        page_ref = {"$ref": "#/components/schemas/Page"}
        ok = {"200": {"description": "ok", "content": {"application/json": {"schema": page_ref}}}}
        paths: dict[str, Any] = {
            area: {"get": {"operationId": f"{self.name}-items-list", "responses": ok}},
            f"{area}/{{item_id}}": {
                "get": {
                    "operationId": "items-get",  # the same id in every service: must be renamed
                    "parameters": [
                        {
                            "name": "item_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/v1/elsewhere": {"get": {"operationId": f"{self.name}-stray", "responses": ok}},
            "/healthz": {"get": {"operationId": f"{self.name}-healthz", "responses": ok}},
        }
        if self.doc_version > 1:
            paths[f"{area}/v{self.doc_version}"] = {
                "get": {"operationId": f"{self.name}-new-{self.doc_version}", "responses": ok}
            }
        page = {
            "type": "object",
            "title": f"{self.name} page",
            "properties": {"items": {"type": "array", "items": {"type": "string"}}},
        }
        return {
            "openapi": "3.1.0",
            "info": {"title": f"RiskWatch {self.name}", "version": str(self.doc_version)},
            "paths": paths,
            "components": {"schemas": {"Page": page}},
            "tags": [{"name": self.name}],
        }

    def app(self) -> ASGIApp:
        async def readyz(_: Request) -> Response:
            return JSONResponse(
                {"status": "down" if self.down else "ready"}, 503 if self.down else 200
            )

        async def openapi(_: Request) -> Response:
            if self.down:
                return JSONResponse({"detail": "down"}, 503)
            return JSONResponse(self.openapi())

        async def stream(request: Request) -> Response:
            if "text/event-stream" not in request.headers.get("accept", ""):
                return await echo(request)

            async def events() -> AsyncIterator[bytes]:
                yield b"event: message\ndata: one\n\n"
                await self.release_stream.wait()
                yield b"event: message\ndata: two\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        async def gone(_: Request) -> Response:
            return Response(status_code=204)

        async def slow(_: Request) -> Response:
            await asyncio.sleep(5)
            return JSONResponse({"late": True})

        async def echo(request: Request) -> Response:
            self.calls += 1
            body = await request.body()
            token = request.headers.get(IDENTITY_HEADER)
            identity: dict[str, Any] | None = None
            error = None
            if token is not None:
                try:
                    identity = verify_identity_token(token, self.keys).model_dump(mode="json")
                except InvalidIdentity as exc:
                    error = str(exc)
            return JSONResponse(
                {
                    "service": self.name,
                    "method": request.method,
                    "path": request.url.path,
                    "query": request.url.query,
                    "identity": identity,
                    "identity_error": error,
                    "identity_headers": len(request.headers.getlist(IDENTITY_HEADER)),
                    "request_id": request.headers.get("x-request-id"),
                    "authorization": request.headers.get("authorization"),
                    "api_key": request.headers.get("x-api-key"),
                    "body_bytes": len(body),
                },
                headers={"x-upstream": self.name},
            )

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(
            routes=[
                Route("/readyz", readyz),
                Route("/openapi.json", openapi),
                Route("/v1/inbox/stream", stream),
                Route("/v1/alerts/stream", stream),
                Route("/v1/customers/slow", slow),
                Route("/v1/recipients/gone", gone, methods=["DELETE"]),
                Route("/v1/{path:path}", echo, methods=methods),
            ]
        )


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, *, lifespan: Literal["on", "off"] = "off") -> AsyncIterator[str]:
    """Serve an ASGI app on a free loopback port in this event loop; yields its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan=lifespan,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + 30
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited at start")
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("server did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
