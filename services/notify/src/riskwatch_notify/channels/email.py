"""Email over SMTP (aiosmtplib): multipart/alternative, plain text plus HTML.

The message is written as bytes here (RFC 5322 headers, RFC 2047 encoded words, base64
bodies) rather than through the `email` package's generator, which folds every header
through `email.header.Header` and cost several milliseconds a message: the largest single
cost of a delivery. With `pool_size`, sends reuse that many persistent SMTP sessions
(connect, EHLO, STARTTLS and AUTH once) instead of one session per message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
from dataclasses import dataclass
from email.utils import formatdate
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
    pool_size: int = 0  # 0: one SMTP session per message


def is_valid_email_address(address: str) -> bool:
    return bool(_ADDRESS_PATTERN.match(address))


_ENCODED_WORD_BYTES = 45  # 60 base64 characters: each encoded word stays under 76


def encode_header_value(value: str) -> str:
    """ASCII as it is; anything else as RFC 2047 base64 words split on character bounds.

    Line breaks are dropped: a header value must never start another header.
    """
    value = " ".join(value.splitlines())
    if value.isascii():
        return value
    words: list[bytes] = []
    chunk = b""
    for char in value:
        encoded = char.encode()
        if len(chunk) + len(encoded) > _ENCODED_WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words)


def _part(content_type: str, body: str) -> bytes:
    encoded = base64.encodebytes(body.encode()).replace(b"\n", b"\r\n")
    head = f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: base64'
    return head.encode() + b"\r\n\r\n" + encoded


@dataclass(frozen=True, slots=True)
class BuiltEmail:
    message_id: str
    data: bytes


def build_email(message: OutboundMessage, sender: str) -> BuiltEmail:
    """The message as bytes: text/plain, or multipart/alternative with an HTML part."""
    # Stable across retries (receivers can drop a duplicate), short enough not to be folded.
    message_id = f"<{message.message_id.hex}@{_domain(sender)}>"
    headers = [
        f"From: {sender}",
        f"To: {message.to}",
        f"Subject: {encode_header_value(message.subject)}",
        f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: {message_id}",
        f"X-RiskWatch-Message-Id: {message.message_id}",
        "MIME-Version: 1.0",
    ]
    text = _part("text/plain", message.text)
    if message.html is None:
        head = "\r\n".join(headers).encode() + b"\r\n"
        return BuiltEmail(message_id, head + text)
    boundary = f"=_riskwatch_{message.message_id.hex}"
    headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    mark = f"--{boundary}".encode()
    body = b"\r\n".join([mark, text, mark, _part("text/html", message.html), mark + b"--", b""])
    return BuiltEmail(message_id, "\r\n".join(headers).encode() + b"\r\n\r\n" + body)


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "riskwatch.local"


class _SessionPool:
    """Persistent SMTP sessions; a session that fails in any way is closed, not reused."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP | None] = asyncio.LifoQueue()
        for _ in range(settings.pool_size):
            self._idle.put_nowait(None)

    def _client(self) -> aiosmtplib.SMTP:
        settings = self._settings
        return aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.security is SmtpSecurity.IMPLICIT_TLS,
            start_tls=settings.security is SmtpSecurity.STARTTLS,
            timeout=settings.timeout_seconds,
            tls_context=settings.tls_context,
            local_hostname=_domain(settings.sender),
        )

    async def aclose(self) -> None:
        """QUIT every idle session (at shutdown)."""
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client is not None and client.is_connected:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await client.quit()
                client.close()

    async def send(self, sender: str, to: str, data: bytes) -> None:
        client = await self._idle.get()
        try:
            client = await self._send(client, sender, to, data)
        except BaseException:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            client = None
            raise
        finally:
            self._idle.put_nowait(client)

    async def _send(
        self, client: aiosmtplib.SMTP | None, sender: str, to: str, data: bytes
    ) -> aiosmtplib.SMTP:
        if client is not None and client.is_connected:
            try:
                await client.sendmail(sender, [to], data)
                return client
            except aiosmtplib.SMTPServerDisconnected:
                client.close()  # the relay dropped an idle session: open a new one
        client = self._client()
        await client.connect()
        await client.sendmail(sender, [to], data)
        return client


class EmailAdapter:
    """Sends each message on its own SMTP session, or on a pooled one with `pool_size`."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._pool = _SessionPool(settings) if settings.pool_size > 0 else None

    @property
    def channel(self) -> Channel:
        return Channel.EMAIL

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    @property
    def provider(self) -> str:
        return self._settings.provider

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if not is_valid_email_address(message.to):
            return DeliveryResult.permanent(self.provider, f"invalid email address {message.to!r}")
        email = build_email(message, self._settings.sender)
        try:
            await self._deliver(message.to, email.data)
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusal = error.recipients[0]
            return classify_smtp_code(self.provider, refusal.code, refusal.message)
        except aiosmtplib.SMTPResponseException as error:
            return classify_smtp_code(self.provider, error.code, error.message)
        except (aiosmtplib.SMTPException, OSError) as error:
            # Timeouts, refused connections, dropped sessions: the server may be back soon.
            return DeliveryResult.transient(self.provider, f"{type(error).__name__}: {error}")
        return DeliveryResult.sent(self.provider, email.message_id)

    async def _deliver(self, to: str, data: bytes) -> None:
        settings = self._settings
        if self._pool is not None:
            await self._pool.send(settings.sender, to, data)
            return
        await aiosmtplib.send(
            data,
            sender=settings.sender,
            recipients=[to],
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.security is SmtpSecurity.IMPLICIT_TLS,
            start_tls=settings.security is SmtpSecurity.STARTTLS,
            timeout=settings.timeout_seconds,
            tls_context=settings.tls_context,
            local_hostname=_domain(settings.sender),
        )
