"""Real local servers on 127.0.0.1 free ports: an aiosmtpd SMTP server and an HTTP app
playing an SMS gateway, the Twilio Messages API and a webhook receiver."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from riskwatch_notify.domain.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    SignatureVerificationError,
    verify,
)
from riskwatch_shared.testing import wait_until

SMS_TOKEN = "gateway-token"
TWILIO_SID = "AC0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token"
WEBHOOK_SECRET = "whsec-test"
HANG = "hang"  # scripted "response": keep the request open until the test ends


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for(condition: Callable[[], bool], timeout_seconds: float = 5.0) -> None:
    """The kit's `wait_until` for a plain (non-async) condition."""

    async def check() -> bool:
        return condition()

    await wait_until(check, timeout=timeout_seconds, interval=0.01)


# ---------------------------------------------------------------- SMTP


@dataclass
class RecordingSmtpHandler:
    messages: list[Envelope] = field(default_factory=list)
    rcpt_reply: str | None = None  # e.g. "550 5.1.1 no such user"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    handler: RecordingSmtpHandler


@pytest.fixture(scope="module")
def smtp_controller() -> Iterator[SmtpServer]:
    handler = RecordingSmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller.port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(smtp_controller: SmtpServer) -> SmtpServer:
    smtp_controller.handler.messages.clear()
    smtp_controller.handler.rcpt_reply = None
    return smtp_controller


@dataclass(frozen=True)
class SelfSignedCertificate:
    cert_path: str
    key_path: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cert_path)


@pytest.fixture(scope="module")
def localhost_certificate(tmp_path_factory: pytest.TempPathFactory) -> SelfSignedCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return SelfSignedCertificate(str(cert_path), str(key_path))


# ---------------------------------------------------------------- HTTP providers


@dataclass(frozen=True)
class ReceivedRequest:
    route: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


ScriptedReply = tuple[int, dict[str, str], Any] | str


@dataclass
class FakeProviders:
    base_url: str = ""
    received: list[ReceivedRequest] = field(default_factory=list)
    scripts: dict[str, deque[ScriptedReply]] = field(default_factory=dict)
    release_hung: asyncio.Event = field(default_factory=asyncio.Event)

    def script(self, route: str, *replies: ScriptedReply) -> None:
        self.scripts.setdefault(route, deque()).extend(replies)

    def requests_to(self, route: str) -> list[ReceivedRequest]:
        return [request for request in self.received if request.route == route]

    async def reply(
        self, route: str, request: Request, default: Callable[[], Awaitable[Response]]
    ) -> Response:
        body = await request.body()
        self.received.append(ReceivedRequest(route, dict(request.headers), body))
        queue = self.scripts.get(route)
        if not queue:
            return await default()
        scripted = queue.popleft()
        if isinstance(scripted, str):  # HANG
            await self.release_hung.wait()
            return Response(status_code=504)
        status_code, headers, content = scripted
        return JSONResponse(content, status_code=status_code, headers=headers)


def _build_app(providers: FakeProviders) -> Starlette:
    message_count = 0

    async def next_id(prefix: str) -> str:
        nonlocal message_count
        message_count += 1
        return f"{prefix}{message_count:06d}"

    async def sms_gateway(request: Request) -> Response:
        async def accept() -> Response:
            if request.headers.get("authorization") != f"Bearer {SMS_TOKEN}":
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            return JSONResponse({"id": await next_id("gw-")}, status_code=200)

        return await providers.reply("sms", request, accept)

    async def twilio_messages(request: Request) -> Response:
        async def accept() -> Response:
            expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
            sid_ok = request.path_params["account_sid"] == TWILIO_SID
            if not sid_ok or request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
            return JSONResponse({"sid": await next_id("SM"), "status": "queued"}, status_code=201)

        return await providers.reply("twilio", request, accept)

    async def webhook_receiver(request: Request) -> Response:
        async def accept() -> Response:
            try:
                verify(
                    WEBHOOK_SECRET,
                    await request.body(),
                    request.headers.get(SIGNATURE_HEADER),
                    datetime.now(UTC),
                )
            except SignatureVerificationError as error:
                return JSONResponse({"error": str(error)}, status_code=401)
            return JSONResponse({"received": request.headers.get(EVENT_ID_HEADER)})

        return await providers.reply("webhook", request, accept)

    return Starlette(
        routes=[
            Route("/sms", sms_gateway, methods=["POST"]),
            Route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                twilio_messages,
                methods=["POST"],
            ),
            Route("/hooks/alerts", webhook_receiver, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
async def provider_server() -> AsyncIterator[FakeProviders]:
    providers = FakeProviders()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(_build_app(providers), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    await wait_for(lambda: server.started or serving.done())
    providers.base_url = f"http://127.0.0.1:{port}"
    try:
        yield providers
    finally:
        providers.release_hung.set()
        server.should_exit = True
        await serving
        listener.close()


@pytest.fixture
def providers(provider_server: FakeProviders) -> FakeProviders:
    provider_server.received.clear()
    provider_server.scripts.clear()
    return provider_server


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
