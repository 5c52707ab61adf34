"""SMS through an HTTP provider: a generic JSON gateway, or a Twilio-shaped API."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

import httpx

from riskwatch_notify.channels.base import (
    DeliveryResult,
    classify_http_exception,
    classify_http_response,
)
from riskwatch_notify.domain.models import Channel, OutboundMessage

_E164_PATTERN = re.compile(r"^\+[1-9]\d{6,14}$")
DEFAULT_TIMEOUT_SECONDS = 10.0


def is_valid_phone_number(number: str) -> bool:
    """E.164 only (`+` and 7-15 digits): providers reject anything else anyway."""
    return bool(_E164_PATTERN.match(number))


def _json_field(response: httpx.Response, name: str) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return str(value) if value is not None else None


class _HttpSmsAdapter(ABC):
    def __init__(self, client: httpx.AsyncClient, provider: str, timeout_seconds: float) -> None:
        self._client = client
        self._provider = provider
        self._timeout = timeout_seconds

    @property
    def channel(self) -> Channel:
        return Channel.SMS

    @property
    def provider(self) -> str:
        return self._provider

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if not is_valid_phone_number(message.to):
            return DeliveryResult.permanent(self._provider, f"invalid phone number {message.to!r}")
        try:
            response = await self._post(message)
        except httpx.HTTPError as error:
            return classify_http_exception(self._provider, error)
        return classify_http_response(self._provider, response, self._message_id(response))

    @abstractmethod
    async def _post(self, message: OutboundMessage) -> httpx.Response:
        """Each provider shapes its own request."""

    @abstractmethod
    def _message_id(self, response: httpx.Response) -> str | None:
        """The provider's id for the accepted message, read from its response."""


class GenericHttpSmsAdapter(_HttpSmsAdapter):
    """POSTs `{"to", "from", "text"}` as JSON with a bearer token; reads `id` back."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        url: str,
        token: str,
        sender: str,
        provider: str = "sms-gateway",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(client, provider, timeout_seconds)
        self._url = url
        self._token = token
        self._sender = sender

    async def _post(self, message: OutboundMessage) -> httpx.Response:
        return await self._client.post(
            self._url,
            json={"to": message.to, "from": self._sender, "text": message.text},
            headers={
                "Authorization": f"Bearer {self._token}",
                "Idempotency-Key": str(message.message_id),
            },
            timeout=self._timeout,
        )

    def _message_id(self, response: httpx.Response) -> str | None:
        return _json_field(response, "id")


class TwilioSmsAdapter(_HttpSmsAdapter):
    """The Twilio Messages API: form-encoded To/From/Body, HTTP basic auth, `sid` back."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = "https://api.twilio.com",
        provider: str = "twilio",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(client, provider, timeout_seconds)
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._sender = sender

    async def _post(self, message: OutboundMessage) -> httpx.Response:
        return await self._client.post(
            self._url,
            data={"To": message.to, "From": self._sender, "Body": message.text},
            auth=self._auth,
            timeout=self._timeout,
        )

    def _message_id(self, response: httpx.Response) -> str | None:
        return _json_field(response, "sid")
