"""The console's only way to the data: the gateway's public API, with the signed-in person's
token (never a key of the console's own), so the API decides what each person may see and do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class ApiProblem(Exception):
    """A refusal of the API, as its RFC 9457 problem says it: shown to the person inline."""

    status: int
    title: str
    detail: str | None = None
    field_errors: list[str] = field(default_factory=list)
    # The problem's other members (a rule condition's `line`, `column`, `field`...).
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, response: httpx.Response) -> ApiProblem:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        errors = []
        for error in body.get("errors") or []:
            if isinstance(error, dict):
                where = ".".join(str(p) for p in error.get("loc", []) if p != "body")
                errors.append(f"{where}: {error.get('msg', '')}" if where else error.get("msg", ""))
        title = str(body.get("title") or response.reason_phrase or "error")
        detail = body.get("detail")
        known = {"type", "title", "status", "detail", "instance", "errors"}
        extra = {key: value for key, value in body.items() if key not in known}
        return cls(response.status_code, title, str(detail) if detail else None, errors, extra)


class SignedOut(Exception):
    """The API no longer accepts the session's token (expired, user disabled): sign in again."""


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_in: int
    subject: str
    name: str | None
    roles: tuple[str, ...]
    staff_id: str | None
    refresh_token: str | None = None


class Gateway:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def sign_in(self, email: str, password: str, *, client_ip: str | None) -> SignedIn:
        response = await self.client.post(
            "/v1/auth/token",
            json={"email": email, "password": password},
            headers=_forwarded(client_ip),
        )
        return await self._signed_in(response)

    async def sign_in_with_id_token(
        self, id_token: str, nonce: str, *, client_ip: str | None
    ) -> SignedIn:
        """The SSO provider's id_token for a RiskWatch token: the gateway checks it (signature,
        issuer, audience, expiry, nonce) and which user it names; the console trusts nothing."""
        response = await self.client.post(
            "/v1/auth/oidc",
            json={"id_token": id_token, "nonce": nonce},
            headers=_forwarded(client_ip),
        )
        return await self._signed_in(response)

    async def refresh(self, refresh_token: str) -> SignedIn:
        """The next token and refresh token; SignedOut when the gateway refuses (user
        disabled or changed, signed out, the sign-in's time is up)."""
        response = await self.client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})
        if response.status_code in (401, 422):
            raise SignedOut
        return await self._signed_in(response)

    async def revoke(self, refresh_token: str) -> None:
        """Sign-out: the gateway ends the sign-in the refresh token belongs to."""
        response = await self.client.post("/v1/auth/revoke", json={"refresh_token": refresh_token})
        if response.status_code >= 400:
            raise ApiProblem.of(response)

    async def _signed_in(self, response: httpx.Response) -> SignedIn:
        if response.status_code != 200:
            raise ApiProblem.of(response)
        issued = response.json()
        token = str(issued["access_token"])
        me = await self.get("/v1/auth/me", token=token)
        refresh_token = issued.get("refresh_token")
        return SignedIn(
            token=token,
            expires_in=int(issued.get("expires_in", 900)),
            subject=str(me["subject"]),
            name=me.get("name"),
            roles=tuple(me.get("roles", ())),
            staff_id=me.get("staff_id"),
            refresh_token=str(refresh_token) if refresh_token else None,
        )

    async def get(self, path: str, *, token: str, params: dict[str, str] | None = None) -> Any:
        response = await self.client.get(path, params=params, headers=_bearer(token))
        return _result(response)

    async def post(
        self, path: str, *, token: str, body: dict[str, Any], timeout: float | None = None
    ) -> Any:
        """`timeout`: a longer wait than the client's for a slow operation (training)."""
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        response = await self.client.post(path, json=body, headers=_bearer(token), **extra)
        return _result(response)

    async def post_content(
        self, path: str, *, token: str, content: bytes, content_type: str,
        params: dict[str, str] | None = None, timeout: float | None = None,
    ) -> Any:  # fmt: skip
        """A POST of a document as it is (a CSV upload), not JSON."""
        headers = {**_bearer(token), "content-type": content_type}
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        response = await self.client.post(
            path, content=content, params=params, headers=headers, **extra
        )
        return _result(response)

    async def patch(self, path: str, *, token: str, body: dict[str, Any]) -> Any:
        response = await self.client.patch(path, json=body, headers=_bearer(token))
        return _result(response)

    async def put(self, path: str, *, token: str, body: dict[str, Any]) -> Any:
        response = await self.client.put(path, json=body, headers=_bearer(token))
        return _result(response)

    async def delete(self, path: str, *, token: str) -> Any:
        response = await self.client.delete(path, headers=_bearer(token))
        return _result(response)

    @asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        token: str,
        params: dict[str, str] | None = None,
        idle_seconds: float = 60.0,
    ) -> AsyncIterator[httpx.Response]:
        """A streaming GET (Server-Sent Events); `idle_seconds` without a byte ends it."""
        timeout = httpx.Timeout(10.0, read=idle_seconds)
        # The gateway streams (rather than buffers) what is asked for as an event stream.
        headers = {**_bearer(token), "accept": "text/event-stream"}
        async with self.client.stream(
            "GET", path, params=params, headers=headers, timeout=timeout
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                _result(response)
            yield response


def _forwarded(client_ip: str | None) -> dict[str, str]:
    return {"x-forwarded-for": client_ip} if client_ip else {}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _result(response: httpx.Response) -> Any:
    if response.status_code == 401:
        raise SignedOut
    if response.status_code >= 400:
        raise ApiProblem.of(response)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()
