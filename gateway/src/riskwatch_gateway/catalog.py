"""The services behind the gateway: their OpenAPI documents (refreshed in the background,
merged into one) and whether each is up.

While a service's document has never been fetched the gateway is not ready (`/readyz` names
it) and asks again soon, backing off from `FIRST_RETRY_SECONDS`; once every document is in, it
refreshes every `refresh_seconds`. A service that goes away later keeps its last document: its
routes still exist (they answer 503 until it is back)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx

from riskwatch_gateway.openapi import merge_openapi
from riskwatch_gateway.routing import service_for_path
from riskwatch_shared.logging import get_logger

log = get_logger(__name__)
FIRST_RETRY_SECONDS = 0.2
MAX_RETRY_SECONDS = 5.0


class ServiceCatalog:
    def __init__(
        self,
        http: httpx.AsyncClient,
        upstreams: dict[str, str],
        *,
        own_doc: Callable[[], dict[str, Any]],
        refresh_seconds: float,
    ) -> None:
        self.http = http
        self.upstreams = upstreams
        self.own_doc = own_doc
        self.refresh_seconds = refresh_seconds
        self.docs: dict[str, dict[str, Any]] = {}
        self.fingerprints: dict[str, str] = {}
        self.reachable: dict[str, bool] = dict.fromkeys(upstreams, False)
        self._merged: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._retry_seconds = FIRST_RETRY_SECONDS

    def missing(self) -> list[str]:
        """The services whose document has not been fetched yet (the merged one lacks them)."""
        return [name for name in self.upstreams if name not in self.docs]

    def merged(self) -> dict[str, Any]:
        if self._merged is None:
            self._merged = merge_openapi(self.own_doc(), self.docs, owner_of=service_for_path)
        return self._merged

    async def refresh(self) -> bool:
        """Fetch every service's document; True when the merged document changed."""
        results = await asyncio.gather(*(self._fetch(url) for url in self.upstreams.values()))
        changed = False
        for name, doc in zip(self.upstreams, results, strict=True):
            was_reachable, self.reachable[name] = self.reachable[name], doc is not None
            if doc is None:
                if name not in self.docs:
                    log.warning("gateway.service_doc_missing", service=name)
                elif was_reachable:
                    log.warning("gateway.service_doc_unreachable", service=name, kept="last")
                continue
            fingerprint = _fingerprint(doc)
            if fingerprint == self.fingerprints.get(name):
                continue
            changed = True
            self.fingerprints[name] = fingerprint
            self.docs[name] = doc
            log.info("gateway.service_doc_loaded", service=name, fingerprint=fingerprint)
        if changed:
            self._merged = None
        return changed

    async def _fetch(self, base_url: str) -> dict[str, Any] | None:
        try:
            response = await self.http.get(f"{base_url}/openapi.json", timeout=3.0)
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    async def health(self) -> dict[str, bool]:
        async def up(base_url: str) -> bool:
            try:
                response = await self.http.get(f"{base_url}/readyz", timeout=2.0)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        results = await asyncio.gather(*(up(url) for url in self.upstreams.values()))
        return dict(zip(self.upstreams, results, strict=True))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-openapi-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception("gateway.openapi_refresh_failed")
            await asyncio.sleep(self.next_delay())

    def next_delay(self) -> float:
        """Seconds until the next refresh: soon, and a little later each time, while a
        document is missing; the refresh period once all are in."""
        if not self.missing():
            self._retry_seconds = FIRST_RETRY_SECONDS
            return self.refresh_seconds
        delay = min(self._retry_seconds, self.refresh_seconds)
        self._retry_seconds = min(self._retry_seconds * 2, MAX_RETRY_SECONDS)
        log.info("gateway.service_doc_retry", missing=self.missing(), in_seconds=delay)
        return delay


def _fingerprint(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
