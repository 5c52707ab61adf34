"""In-app messages: "sending" one is writing it to the inbox, which the worker does in the
same transaction that records the delivery; the adapter only says it may."""

from __future__ import annotations

from riskwatch_notify.channels.base import DeliveryResult
from riskwatch_notify.domain.models import Channel, OutboundMessage


class InAppAdapter:
    @property
    def channel(self) -> Channel:
        return Channel.IN_APP

    @property
    def provider(self) -> str:
        return "in_app"

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        return DeliveryResult.sent(self.provider, str(message.message_id))
