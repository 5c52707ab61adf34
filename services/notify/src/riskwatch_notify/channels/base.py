"""The one interface every channel adapter implements, and how failures are classified.

Transient (retry later): timeouts, connection errors, HTTP 408/429/5xx, SMTP 4xx.
Permanent (give up): other HTTP 4xx, SMTP 5xx, an address that cannot be valid, an outbound
destination the guard refuses (riskwatch_shared.netguard).

What a remote HTTP server answers is kept as its status code only, never its body: a
configured URL may point somewhere it should not, and its answer must not be readable back
through the delivery records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from riskwatch_notify.domain.models import Channel, DeliveryStatus, OutboundMessage
from riskwatch_shared.netguard import DestinationRefused

__all__ = [
    "ChannelAdapter",
    "DeliveryResult",
    "DeliveryStatus",
    "OutboundMessage",
    "classify_http_exception",
    "classify_http_response",
    "classify_smtp_code",
    "parse_retry_after",
]

MAX_DETAIL_CHARS = 500


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    status: DeliveryStatus
    provider: str
    provider_message_id: str | None = None
    detail: str = ""
    retry_after_seconds: float | None = None
    remote_status: int | None = None  # the HTTP status code the remote server answered

    @property
    def is_sent(self) -> bool:
        return self.status is DeliveryStatus.SENT

    @property
    def is_transient(self) -> bool:
        return self.status is DeliveryStatus.TRANSIENT_FAILURE

    @classmethod
    def sent(cls, provider: str, provider_message_id: str | None) -> DeliveryResult:
        return cls(DeliveryStatus.SENT, provider, provider_message_id)

    @classmethod
    def transient(
        cls,
        provider: str,
        detail: str,
        retry_after_seconds: float | None = None,
        *,
        remote_status: int | None = None,
    ) -> DeliveryResult:
        return cls(
            DeliveryStatus.TRANSIENT_FAILURE,
            provider,
            detail=detail[:MAX_DETAIL_CHARS],
            retry_after_seconds=retry_after_seconds,
            remote_status=remote_status,
        )

    @classmethod
    def permanent(
        cls, provider: str, detail: str, *, remote_status: int | None = None
    ) -> DeliveryResult:
        return cls(
            DeliveryStatus.PERMANENT_FAILURE,
            provider,
            detail=detail[:MAX_DETAIL_CHARS],
            remote_status=remote_status,
        )


class ChannelAdapter(Protocol):
    """Sends one message; never raises for delivery problems, it classifies them."""

    @property
    def channel(self) -> Channel: ...

    @property
    def provider(self) -> str: ...

    async def send(self, message: OutboundMessage) -> DeliveryResult: ...


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def classify_http_response(
    provider: str, response: httpx.Response, provider_message_id: str | None = None
) -> DeliveryResult:
    """2xx sent; 408, 429 and 5xx transient (with Retry-After); anything else permanent.

    The detail is the status code alone: the body is never read into the result.
    """
    status_code = response.status_code
    if 200 <= status_code < 300:
        return DeliveryResult(
            DeliveryStatus.SENT, provider, provider_message_id, remote_status=status_code
        )
    detail = f"HTTP {status_code}"
    if status_code in (408, 429) or status_code >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return DeliveryResult.transient(provider, detail, retry_after, remote_status=status_code)
    return DeliveryResult.permanent(provider, detail, remote_status=status_code)


def classify_http_exception(provider: str, error: httpx.HTTPError) -> DeliveryResult:
    """Timeouts and network errors are transient; a refused destination or a malformed
    request is permanent."""
    if isinstance(error, DestinationRefused):
        return DeliveryResult.permanent(provider, f"refused: {error.reason}")
    if isinstance(error, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return DeliveryResult.transient(provider, f"{type(error).__name__}: {error}")
    return DeliveryResult.permanent(provider, f"{type(error).__name__}: {error}")


def classify_smtp_code(provider: str, code: int, message: str) -> DeliveryResult:
    """SMTP 4xx is a temporary refusal; 5xx (and anything odd) is final."""
    detail = f"SMTP {code}: {message}"
    if 400 <= code < 500:
        return DeliveryResult.transient(provider, detail)
    return DeliveryResult.permanent(provider, detail)
