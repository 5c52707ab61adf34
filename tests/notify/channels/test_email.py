# ruff: noqa: RUF001
import asyncio
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from riskwatch_notify.channels.email import EmailAdapter, SmtpSecurity, SmtpSettings
from riskwatch_notify.domain.models import Channel, DeliveryStatus, OutboundMessage
from riskwatch_notify.domain.rendering import render_alert_email

from ..unit.factories import make_alert, make_recipient
from .conftest import RecordingSmtpHandler, SelfSignedCertificate, SmtpServer, free_port

SENDER = "riskwatch@bank.example"


def plain_settings(port: int, **overrides: object) -> SmtpSettings:
    fields: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": SENDER,
        "security": SmtpSecurity.NONE,
        "timeout_seconds": 2.0,
    }
    fields.update(overrides)
    return SmtpSettings(**fields)  # type: ignore[arg-type]


def email_to(
    address: str, subject: str = "Hi", text: str = "Body", html: str | None = None
) -> OutboundMessage:
    return OutboundMessage(uuid4(), Channel.EMAIL, address, subject, text, html)


def parse(raw: bytes | str) -> EmailMessage:
    data = raw.encode() if isinstance(raw, str) else raw
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_chinese_alert_email_arrives_with_both_parts_decoded(smtp_server: SmtpServer) -> None:
    recipient = make_recipient(locale="zh-CN", time_zone="Asia/Shanghai", email="wei@bank.example")
    rendered = render_alert_email(make_alert(customer_name="张伟贸易有限公司"), recipient)
    message = email_to(recipient.email or "", rendered.subject, rendered.text, rendered.html)

    result = await EmailAdapter(plain_settings(smtp_server.port)).send(message)

    assert result.status is DeliveryStatus.SENT, result.detail
    [envelope] = smtp_server.handler.messages
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["wei@bank.example"]
    received = parse(envelope.original_content or b"")
    assert received["Subject"] == rendered.subject
    assert "张伟贸易有限公司" in received["Subject"]
    assert received["Message-ID"] == result.provider_message_id
    assert received["X-RiskWatch-Message-Id"] == str(message.message_id)
    assert received.get_content_type() == "multipart/alternative"
    plain = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().replace("\r\n", "\n").strip() == rendered.text.strip()
    assert "触发时间：2024年3月5日 21:30（UTC+08:00）" in plain.get_content()
    assert '<th align="left">严重程度</th>' in html.get_content()


async def test_refused_recipient_is_classified_by_smtp_code(smtp_server: SmtpServer) -> None:
    adapter = EmailAdapter(plain_settings(smtp_server.port))
    smtp_server.handler.rcpt_reply = "550 5.1.1 no such user"
    permanent = await adapter.send(email_to("nobody@bank.example"))
    smtp_server.handler.rcpt_reply = "451 4.7.1 greylisted, try later"
    transient = await adapter.send(email_to("nobody@bank.example"))

    assert permanent.status is DeliveryStatus.PERMANENT_FAILURE
    assert "550" in permanent.detail
    assert transient.status is DeliveryStatus.TRANSIENT_FAILURE
    assert "451" in transient.detail
    assert smtp_server.handler.messages == []


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "x@y.z\r\nBcc: evil@x.org", ""])
async def test_invalid_address_is_permanent_without_contacting_the_server(
    smtp_server: SmtpServer, address: str
) -> None:
    result = await EmailAdapter(plain_settings(smtp_server.port)).send(email_to(address))
    assert result.status is DeliveryStatus.PERMANENT_FAILURE
    assert "invalid email address" in result.detail


async def test_nothing_listening_is_transient() -> None:
    result = await EmailAdapter(plain_settings(free_port())).send(email_to("a@bank.example"))
    assert result.status is DeliveryStatus.TRANSIENT_FAILURE


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts TCP connections and never says a word (a hung SMTP server)."""
    release = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        release.set()
        server.close()
        await server.wait_closed()


async def test_silent_server_times_out_as_transient(silent_server: int) -> None:
    settings = plain_settings(silent_server, timeout_seconds=0.3)
    result = await EmailAdapter(settings).send(email_to("a@bank.example"))
    assert result.status is DeliveryStatus.TRANSIENT_FAILURE
    assert "Timeout" in result.detail


async def test_starttls_with_login(localhost_certificate: SelfSignedCertificate) -> None:
    handler = RecordingSmtpHandler()
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=localhost_certificate.server_context(),
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,  # so a login can only succeed after the upgrade
    )
    controller.start()
    try:
        settings = plain_settings(
            controller.port,
            security=SmtpSecurity.STARTTLS,
            username="notify",
            password="s3cret",
            tls_context=localhost_certificate.client_context(),
        )
        result = await EmailAdapter(settings).send(email_to("a@bank.example"))
    finally:
        controller.stop()

    assert result.status is DeliveryStatus.SENT, result.detail
    assert len(handler.messages) == 1
    assert logins == [(b"notify", b"s3cret")]
