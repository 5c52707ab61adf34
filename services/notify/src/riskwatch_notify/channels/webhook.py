"""Webhooks: POST the alert as JSON, signed so the receiver can trust and de-duplicate it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import orjson

from riskwatch_notify.channels.base import (
    DeliveryResult,
    classify_http_exception,
    classify_http_response,
)
from riskwatch_notify.domain.models import Channel, OutboundMessage
from riskwatch_notify.domain.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    sign,
    standard_webhooks_headers,
)

DEFAULT_TIMEOUT_SECONDS = 10.0


def _now_utc() -> datetime:
    return datetime.now(UTC)


class WebhookAdapter:
    """Posts `message.payload` to the URL in `message.to`.

    Headers: `RiskWatch-Signature: t=<unix>,v1=<hex>` (HMAC-SHA256 of "<t>.<body>") and
    `RiskWatch-Event-Id` (the message id, stable across retries, for receiver dedup); beside
    them the Standard Webhooks `webhook-id`, `webhook-timestamp` and `webhook-signature`
    (same secret, same message id; see `riskwatch_notify.domain.signing`).
    Redirects are not followed: a moved endpoint is a configuration error.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        signing_secret: str,
        provider: str = "webhook",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = _now_utc,
    ) -> None:
        self._client = client
        self._secret = signing_secret
        self._provider = provider
        self._timeout = timeout_seconds
        self._clock = clock

    @property
    def channel(self) -> Channel:
        return Channel.WEBHOOK

    @property
    def provider(self) -> str:
        return self._provider

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if message.payload is None:
            return DeliveryResult.permanent(self._provider, "webhook message has no payload")
        body = orjson.dumps(message.payload)
        now = self._clock()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, now),
            EVENT_ID_HEADER: str(message.message_id),
            **standard_webhooks_headers(self._secret, str(message.message_id), body, now),
        }
        try:
            response = await self._client.post(
                message.to,
                content=body,
                headers=headers,
                timeout=self._timeout,
                follow_redirects=False,
            )
        except httpx.HTTPError as error:
            return classify_http_exception(self._provider, error)
        except httpx.InvalidURL as error:
            return DeliveryResult.permanent(self._provider, f"invalid webhook URL: {error}")
        return classify_http_response(self._provider, response, str(message.message_id))
