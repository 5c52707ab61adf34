"""Email over SMTP (aiosmtplib): multipart/alternative, plain text plus HTML."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum

import aiosmtplib

from riskwatch_notify.channels.base import DeliveryResult, classify_smtp_code
from riskwatch_notify.domain.models import Channel, OutboundMessage

# Deliberately loose: the SMTP server is the authority; this only stops obvious garbage
# (and header injection) from ever reaching it.
_ADDRESS_PATTERN = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class SmtpSecurity(StrEnum):
    NONE = "none"  # plain connection (a local relay)
    STARTTLS = "starttls"  # connect plain, then upgrade; fail if the server cannot
    IMPLICIT_TLS = "tls"  # TLS from the first byte (port 465)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0
    tls_context: ssl.SSLContext | None = None
    provider: str = "smtp"


def is_valid_email_address(address: str) -> bool:
    return bool(_ADDRESS_PATTERN.match(address))


def build_email(message: OutboundMessage, sender: str) -> EmailMessage:
    """A multipart/alternative message; non-ASCII subjects and bodies are MIME-encoded."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(_now_utc())
    email["Message-ID"] = make_msgid(idstring=message.message_id.hex, domain=_domain(sender))
    email["X-RiskWatch-Message-Id"] = str(message.message_id)
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "riskwatch.local"


def _now_utc() -> datetime:
    return datetime.now(UTC)


class EmailAdapter:
    """Sends each message on its own SMTP session (alerts are few; simplicity wins)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    @property
    def channel(self) -> Channel:
        return Channel.EMAIL

    @property
    def provider(self) -> str:
        return self._settings.provider

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if not is_valid_email_address(message.to):
            return DeliveryResult.permanent(self.provider, f"invalid email address {message.to!r}")
        email = build_email(message, self._settings.sender)
        try:
            await self._deliver(email)
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusal = error.recipients[0]
            return classify_smtp_code(self.provider, refusal.code, refusal.message)
        except aiosmtplib.SMTPResponseException as error:
            return classify_smtp_code(self.provider, error.code, error.message)
        except (aiosmtplib.SMTPException, OSError) as error:
            # Timeouts, refused connections, dropped sessions: the server may be back soon.
            return DeliveryResult.transient(self.provider, f"{type(error).__name__}: {error}")
        return DeliveryResult.sent(self.provider, str(email["Message-ID"]))

    async def _deliver(self, email: EmailMessage) -> None:
        settings = self._settings
        await aiosmtplib.send(
            email,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.security is SmtpSecurity.IMPLICIT_TLS,
            start_tls=settings.security is SmtpSecurity.STARTTLS,
            timeout=settings.timeout_seconds,
            tls_context=settings.tls_context,
        )
