"""Security headers on every response: a pure ASGI middleware for the services and the gateway.

An API answers JSON, CSV or an event stream, never a page to render: nothing may be sniffed,
framed, or run. Headers a response already sets (an upstream's, through the gateway) are kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The interactive docs (Swagger UI, ReDoc): their files come from the gateway itself (no CDN);
# ReDoc runs its search in a worker made from a blob.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
HSTS = "max-age=63072000; includeSubDomains"

_BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


def security_headers(
    *, path: str, content_type: str | None, dev_mode: bool
) -> list[tuple[bytes, bytes]]:
    """The headers a response to `path` with `content_type` gets. Pure."""
    headers = list(_BASE_HEADERS)
    policy = DOCS_CONTENT_SECURITY_POLICY if path in DOCS_PATHS else API_CONTENT_SECURITY_POLICY
    headers.append((b"content-security-policy", policy.encode()))
    if not dev_mode:
        headers.append((b"strict-transport-security", HSTS.encode()))
    if content_type is not None and "json" in content_type:
        headers.append((b"cache-control", b"no-store"))
    return headers


class SecurityHeadersMiddleware:
    """Adds `security_headers` to every HTTP response (a header already set is left alone)."""

    def __init__(self, app: ASGIApp, *, dev_mode: bool = False) -> None:
        self.app = app
        self.dev_mode = dev_mode

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next(
                    (
                        value.decode("latin-1")
                        for name, value in headers
                        if name.lower() == b"content-type"
                    ),
                    None,
                )
                for name, value in security_headers(
                    path=path, content_type=content_type, dev_mode=self.dev_mode
                ):
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
