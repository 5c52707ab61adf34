"""Forwarding a request to its service, streaming the answer back (SSE included)."""

from __future__ import annotations

import httpx
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from riskwatch_shared.errors import problem_response

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def forwardable_headers(headers: httpx.Headers | dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}


async def forward(
    request: Request,
    *,
    client: httpx.AsyncClient,
    base_url: str,
    extra_headers: dict[str, str],
    body: bytes,
    timeout: float,
) -> Response:
    url = httpx.URL(base_url + request.url.path, query=request.url.query.encode())
    headers = forwardable_headers(dict(request.headers))
    headers.update(extra_headers)
    upstream_request = client.build_request(
        request.method,
        url,
        headers=headers,
        content=body,
        timeout=httpx.Timeout(timeout, connect=5.0),
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TimeoutException:
        return problem_response(
            504,
            "Upstream timeout",
            f"{base_url} did not answer in time",
            type_slug="upstream-timeout",
            instance=request.url.path,
        )
    except httpx.TransportError as exc:
        return problem_response(
            503,
            "Upstream unavailable",
            f"{base_url}: {exc.__class__.__name__}",
            type_slug="upstream-unavailable",
            instance=request.url.path,
        )
    response_headers = forwardable_headers(upstream.headers)
    if upstream.headers.get("content-type", "").startswith("text/event-stream"):
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=response_headers,
            background=BackgroundTask(upstream.aclose),
        )
    content = await upstream.aread()
    await upstream.aclose()
    return Response(content=content, status_code=upstream.status_code, headers=response_headers)
