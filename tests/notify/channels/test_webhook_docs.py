"""The Standard Webhooks headers a real webhook carries verify with the specification's own
library and with the code docs/integration.md gives the engineers of a core banking system."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from riskwatch_notify.channels.webhook import WebhookAdapter
from riskwatch_notify.domain.models import DeliveryStatus
from riskwatch_notify.domain.signing import EVENT_ID_HEADER, standard_webhooks_secret

from .conftest import WEBHOOK_SECRET, FakeProviders
from .test_webhook import webhook_message

DOC = Path(__file__).resolve().parents[3] / "docs" / "integration.md"


def documented_verifier() -> dict[str, Any]:
    """The Python block of the doc's "Verifying signed webhooks" section, executed."""
    section = DOC.read_text().split("## 7. Verifying signed webhooks", 1)[1]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict[str, Any] = {"__name__": "integration_doc"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


async def received_webhook(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> tuple[dict[str, str], bytes, str]:
    message = webhook_message(providers.base_url)
    result = await WebhookAdapter(http_client, signing_secret=WEBHOOK_SECRET).send(message)
    assert result.status is DeliveryStatus.SENT, result.detail
    [request] = providers.requests_to("webhook")
    return request.headers, request.body, str(message.message_id)


async def test_the_documented_code_verifies_a_real_webhook(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    headers, body, message_id = await received_webhook(providers, http_client)
    doc = documented_verifier()
    verify, invalid = doc["verify_webhook"], doc["InvalidWebhook"]
    assert verify(WEBHOOK_SECRET, headers, body) == message_id == headers[EVENT_ID_HEADER.lower()]
    with pytest.raises(invalid):
        verify(WEBHOOK_SECRET, headers, body.replace(b"}", b" }", 1))  # tampered
    with pytest.raises(invalid):
        verify("another-secret", headers, body)
    with pytest.raises(invalid):
        verify(WEBHOOK_SECRET, headers, body, now=datetime.now(UTC).timestamp() + 600)
    with pytest.raises(invalid):
        verify(WEBHOOK_SECRET, {k: v for k, v in headers.items() if k != "webhook-id"}, body)


async def test_the_standard_webhooks_library_verifies_a_real_webhook(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    headers, body, message_id = await received_webhook(providers, http_client)
    assert headers["webhook-id"] == message_id
    assert headers["webhook-signature"].startswith("v1,")
    payload = Webhook(standard_webhooks_secret(WEBHOOK_SECRET)).verify(body, headers)
    assert payload["type"] == "riskwatch.alert.raised.v1"
    with pytest.raises(WebhookVerificationError):
        Webhook(standard_webhooks_secret("another-secret")).verify(body, headers)
