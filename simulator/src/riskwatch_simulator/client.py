"""The gateway as a core banking system calls it: sign-in, an ingest key, retried requests.

Every POST carries an `Idempotency-Key` that stays the same across its retries (a batch's
key is derived from its transactions' external ids), so a retry after a timeout or a 5xx
can never book anything twice. 429 and 503 answers are retried after their `Retry-After`.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
Auth = Literal["user", "ingest", "none"]
Sleep = Callable[[float], Awaitable[None]]


class GatewayError(Exception):
    """A request the gateway answered with an error that retrying will not fix (or gave up)."""

    def __init__(self, method: str, path: str, status: int | None, detail: str) -> None:
        super().__init__(f"{method} {path}: {status if status is not None else 'no answer'}")
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.args[0]} {self.detail[:500]}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 15.0
    timeout: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Retry-After when the server gives one, else capped exponential backoff, jittered."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay * 4)
        ceiling = min(self.max_delay, math.ldexp(self.base_delay, attempt))
        jitter: float = rng.uniform(0, ceiling / 2)
        return ceiling / 2 + jitter


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def batch_idempotency_key(external_ids: list[str]) -> str:
    digest = hashlib.sha256("\n".join(external_ids).encode()).hexdigest()
    return f"batch-{digest[:40]}"


@dataclass(frozen=True, slots=True)
class BatchResult:
    accepted: int
    duplicates: int
    rejected: int
    # external_id -> the transaction id the service gave it (accepted and duplicates)
    transaction_ids: dict[str, str]
    errors: list[dict[str, Any]]
    posted_at: float


class RiskWatchClient:
    """An httpx.AsyncClient on the gateway; `transport` lets tests pass an ASGI app."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        max_connections: int = 32,
        seed: int = 0,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=self.retry.timeout,
            limits=httpx.Limits(max_connections=max_connections),
        )
        self.user_token: str | None = None
        self.ingest_key: str | None = None
        self._credentials: tuple[str, str] | None = None
        self.retries = 0

    async def __aenter__(self) -> RiskWatchClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the retry loop ------------------------------------------------------------------

    def _headers(self, auth: Auth, idempotency_key: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        secret = {"user": self.user_token, "ingest": self.ingest_key, "none": None}[auth]
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: Auth = "user",
        idempotency_key: str | None = None,
        expect: tuple[int, ...] = (200, 201, 202, 204),
    ) -> httpx.Response:
        """Send, retrying transport errors, timeouts, 429 and 5xx with the same key."""
        if method != "GET" and idempotency_key is None:
            idempotency_key = str(uuid.uuid4())
        signed_in_again = False
        for attempt in range(self.retry.attempts):
            try:
                response = await self._http.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    headers=self._headers(auth, idempotency_key),
                )
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if attempt + 1 == self.retry.attempts:
                    raise GatewayError(method, path, None, repr(exc)) from exc
                await self._back_off(attempt, None)
                continue
            if response.status_code in expect:
                return response
            again = response.status_code == 401 and auth == "user" and not signed_in_again
            if again and self._credentials is not None:
                signed_in_again = True
                await self.sign_in(*self._credentials)
                continue
            if response.status_code not in RETRIED_STATUSES or attempt + 1 == self.retry.attempts:
                raise GatewayError(method, path, response.status_code, response.text)
            await self._back_off(attempt, parse_retry_after(response.headers.get("retry-after")))
        raise AssertionError("unreachable")

    async def _back_off(self, attempt: int, retry_after: float | None) -> None:
        self.retries += 1
        await self._sleep(self.retry.delay(attempt, retry_after, self._rng))

    async def get_json(self, path: str, **params: Any) -> Any:
        clean = {name: value for name, value in params.items() if value is not None}
        return (await self.request("GET", path, params=clean or None)).json()

    async def post_json(
        self, path: str, body: Any, *, idempotency_key: str | None = None, auth: Auth = "user"
    ) -> Any:
        response = await self.request(
            "POST", path, json=body, idempotency_key=idempotency_key, auth=auth
        )
        return response.json() if response.content else None

    # --- identity ------------------------------------------------------------------------

    async def sign_in(self, email: str, password: str) -> str:
        """`POST /v1/auth/token` (JSON, or the OAuth2 password form if JSON is refused)."""
        self._credentials = (email, password)
        try:
            response = await self.request(
                "POST", "/v1/auth/token", json={"email": email, "password": password}, auth="none"
            )
        except GatewayError as exc:
            if exc.status not in (415, 422):
                raise
            response = await self._post_form(email, password)
        token: str = response.json()["access_token"]
        self.user_token = token
        return token

    async def _post_form(self, email: str, password: str) -> httpx.Response:
        form = {"grant_type": "password", "username": email, "password": password}
        response = await self._http.post("/v1/auth/token", data=form)
        if response.status_code != 200:
            raise GatewayError("POST", "/v1/auth/token", response.status_code, response.text)
        return response

    async def create_ingest_key(self, name: str) -> str:
        """An API key with the `ingest` role, created with the signed-in admin's token."""
        created = await self.post_json("/v1/api-keys", {"name": name, "roles": ["ingest"]})
        key = find_api_key(created)
        if key is None:
            raise GatewayError("POST", "/v1/api-keys", 201, f"no key in {created!r}")
        self.ingest_key = key
        return key

    # --- intake ----------------------------------------------------------------------------

    async def post_batch(self, items: list[dict[str, Any]]) -> BatchResult:
        """`POST /v1/transactions/batch` with the ingest key; retried under one key."""
        key = batch_idempotency_key([item["external_id"] for item in items])
        body = await self.post_json(
            "/v1/transactions/batch", {"items": items}, idempotency_key=key, auth="ingest"
        )
        ids: dict[str, str] = {}
        errors: list[dict[str, Any]] = []
        for result in body.get("items", []):
            if result.get("transaction_id") and result.get("external_id"):
                ids[result["external_id"]] = result["transaction_id"]
            if result.get("status") == "rejected":
                errors.append(result)
        return BatchResult(
            accepted=int(body.get("accepted", 0)),
            duplicates=int(body.get("duplicates", 0)),
            rejected=int(body.get("rejected", 0)),
            transaction_ids=ids,
            errors=errors,
            posted_at=time.time(),
        )


def find_api_key(created: Any) -> str | None:
    """The full `rw_...` secret wherever the create answer puts it."""
    if isinstance(created, str) and created.startswith("rw_"):
        return created
    if isinstance(created, dict):
        for value in created.values():
            found = find_api_key(value)
            if found is not None:
                return found
    return None
