"""A running notify service on loopback with real neighbours: PostgreSQL and JetStream
(the session's embedded ones), two aiosmtpd SMTP servers (primary and secondary) and an
HTTP app playing the SMS gateway and the webhook receivers."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from nats.js.errors import NotFoundError
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import riskwatch_notify
from riskwatch_notify.config import Settings
from riskwatch_notify.domain.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    SignatureVerificationError,
    verify,
)
from riskwatch_notify.main import create_app
from riskwatch_notify.runtime import NotifyRuntime, notify_runtime
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.alerting import AlertRaised, AlertUpdated
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers, identity_headers, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

ALEMBIC_INI = Path(riskwatch_notify.__file__).parent / "alembic.ini"
SMS_TOKEN = "sms-token"
WEBHOOK_SECRET = "whsec-notify-tests"
ADMIN = Identity(subject="admin-1", roles=("admin",))
REMOTE_SECRET = "aws-secret-access-key=AKIA-REMOTE-BODY-MUST-NOT-LEAK"


def free_socket() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    return listener


# ---------------------------------------------------------------- SMTP


@dataclass
class Mailbox:
    """What one SMTP server accepted; `refuse_with` makes RCPT answer e.g. 421."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_with is not None:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


def _start_smtp() -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    probe = free_socket()
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox


# ---------------------------------------------------------------- HTTP providers


@dataclass
class Providers:
    """The SMS gateway and webhook receivers; scripted failures by request number."""

    base_url: str = ""
    sms_requests: list[dict[str, Any]] = field(default_factory=list)
    sms_accepted: list[dict[str, Any]] = field(default_factory=list)
    sms_fail_every: set[int] = field(default_factory=set)  # request number % 10 that fail
    sms_refuse_numbers: set[str] = field(default_factory=set)  # answered 400
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    webhook_rejections: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.sms_requests.clear()
        self.sms_accepted.clear()
        self.sms_fail_every.clear()
        self.sms_refuse_numbers.clear()
        self.webhooks.clear()
        self.webhook_rejections.clear()


def _provider_app(providers: Providers) -> Starlette:
    async def sms(request: Request) -> Response:
        body = await request.json()
        number = len(providers.sms_requests)
        providers.sms_requests.append(body)
        if request.headers.get("authorization") != f"Bearer {SMS_TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if body["to"] in providers.sms_refuse_numbers:
            return JSONResponse({"error": "unknown subscriber"}, status_code=400)
        if number % 10 in providers.sms_fail_every:
            status = 429 if number % 2 else 503
            return JSONResponse({"error": "try later"}, status_code=status)
        accepted = {**body, "key": request.headers.get("idempotency-key")}
        providers.sms_accepted.append(accepted)
        return JSONResponse({"id": f"gw-{len(providers.sms_accepted):06d}"})

    async def webhook(request: Request) -> Response:
        body = await request.body()
        try:
            signed_at = verify(
                WEBHOOK_SECRET, body, request.headers.get(SIGNATURE_HEADER), datetime.now(UTC)
            )
        except SignatureVerificationError as error:
            providers.webhook_rejections.append(str(error))
            return JSONResponse({"error": str(error)}, status_code=401)
        providers.webhooks.append(
            {
                "body": body,
                "signed_at": signed_at,
                "event_id": request.headers.get(EVENT_ID_HEADER),
                "hook": request.path_params["name"],
            }
        )
        return JSONResponse({"ok": True})

    async def answer(request: Request) -> Response:
        """A receiver that answers with a status and a body nobody should see again."""
        status = int(request.path_params["status"])
        return Response(REMOTE_SECRET, status_code=status, media_type="text/plain")

    return Starlette(
        routes=[
            Route("/sms", sms, methods=["POST"]),
            Route("/hooks/{name}", webhook, methods=["POST"]),
            Route("/answer/{status}", answer, methods=["POST"]),
        ]
    )


@dataclass
class Served:
    server: uvicorn.Server
    task: asyncio.Task[None]
    listener: socket.socket
    base_url: str

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task
        self.listener.close()


async def serve(app: Any, *, lifespan: Literal["on", "off"]) -> Served:
    listener = free_socket()
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan=lifespan, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))

    async def started() -> bool:
        if task.done():
            task.result()  # surface a failed startup
        return server.started

    await wait_until(started, timeout=30, message="server started")
    return Served(server, task, listener, f"http://127.0.0.1:{port}")


# ---------------------------------------------------------------- the notify service


@dataclass
class Notify:
    client: httpx.AsyncClient
    base_url: str
    runtime: ServiceRuntime
    settings: Settings
    primary_mail: Mailbox
    secondary_mail: Mailbox
    providers: Providers
    app: Any = None  # the ASGI app uvicorn serves, for in-process calls

    @property
    def parts(self) -> NotifyRuntime:
        return notify_runtime(self.runtime)

    def headers_for(self, identity: Identity) -> dict[str, str]:
        return identity_headers(identity)

    def mail(self) -> list[EmailMessage]:
        with self.primary_mail.lock, self.secondary_mail.lock:
            return [*self.primary_mail.messages, *self.secondary_mail.messages]

    def mail_about(self, alert_id: uuid.UUID | str) -> list[EmailMessage]:
        return [m for m in self.mail() if str(alert_id) in _text_of(m)]

    async def publish(self, event: AlertRaised | AlertUpdated, msg_id: str | None = None) -> None:
        headers = {"Nats-Msg-Id": msg_id or str(event.id)}
        await self.runtime.bus.js.publish(event.type, event.to_json_bytes(), headers=headers)

    async def consumer_idle(self) -> bool:
        try:
            info = await self.runtime.bus.js.consumer_info(
                "ALERTING", self.settings.alert_consumer_durable
            )
        except NotFoundError:
            return False  # the runner has not created it yet
        return (info.num_pending or 0) == 0 and (info.num_ack_pending or 0) == 0

    async def notifications(self, alert_id: uuid.UUID) -> list[dict[str, Any]]:
        response = await self.client.get(f"/v1/alerts/{alert_id}/notifications")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["notifications"]
        return found

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.runtime.engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    return "" if part is None else str(part.get_content())


def _text_of(message: EmailMessage) -> str:
    parts = [str(message["Subject"])]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def notify_settings(
    infra: Infra, database_url: str, smtp1: int, smtp2: int, sms_url: str
) -> Settings:
    return Settings(
        database_url=database_url,
        NATS_URL=infra.nats_url,
        RISKWATCH_LOG_LEVEL="WARNING",
        # The SMS gateway and webhook receivers are plain http on 127.0.0.1: an explicit
        # opt-in; tests of the outbound guard turn it off for a while (`outbound_guarded`).
        RISKWATCH_DEV_MODE=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp1,
        smtp_security="none",
        smtp2_host="127.0.0.1",
        smtp2_port=smtp2,
        smtp2_security="none",
        smtp_timeout_seconds=5,
        sms_provider="generic",
        sms_url=sms_url,
        sms_token=SMS_TOKEN,
        webhook_signing_secret=WEBHOOK_SECRET,
        retry_base_seconds=0.01,
        retry_cap_seconds=0.08,
        retry_max_attempts=12,
        failover_threshold=3,
        failover_cooldown_seconds=120,
        delivery_poll_seconds=0.25,
        escalation_interval_seconds=0.1,
        digest_window_seconds=0,
        alert_consumer_durable=f"notify-test-{uuid.uuid4().hex[:8]}",
        alert_url_base="https://riskwatch.test/alerts",
    )


@pytest.fixture(scope="module")
async def notify(infra: Infra) -> AsyncIterator[Notify]:
    smtp1, mailbox1 = _start_smtp()
    smtp2, mailbox2 = _start_smtp()
    providers = Providers()
    provider_server = await serve(_provider_app(providers), lifespan="off")
    providers.base_url = provider_server.base_url
    try:
        async for url in migrated_database(infra, ALEMBIC_INI, "notify"):
            settings = notify_settings(
                infra, url, smtp1.port, smtp2.port, f"{provider_server.base_url}/sms"
            )
            app = create_app(settings)
            served = await serve(app, lifespan="on")
            try:
                async with httpx.AsyncClient(
                    base_url=served.base_url,
                    headers=identity_headers(ADMIN),
                ) as client:
                    harness = Notify(
                        client,
                        served.base_url,
                        app.state.runtime,
                        settings,
                        mailbox1,
                        mailbox2,
                        providers,
                        app,
                    )
                    # Alerts other tests left in the stream are taken in before any routing exists.
                    await wait_until(harness.consumer_idle, timeout=30, message="backlog drained")
                    yield harness
            finally:
                await served.stop()
    finally:
        await provider_server.stop()
        smtp1.stop()
        smtp2.stop()


@pytest.fixture
async def service(notify: Notify) -> AsyncIterator[Notify]:
    """The module's service with no routing left over from earlier tests."""
    notify.providers.reset()
    notify.primary_mail.refuse_with = None
    yield notify
    await notify.sql("DELETE FROM subscriptions")
    await notify.sql("DELETE FROM escalation_policies")
    await notify.sql("DELETE FROM escalation_policy_proposals")
    await notify.sql("DELETE FROM escalation_policy_audit")
    notify.settings.digest_window_seconds = 0


# ---------------------------------------------------------------- factories


async def make_team(service: Notify, name: str | None = None) -> dict[str, Any]:
    response = await service.client.post(
        "/v1/teams", json={"name": name or f"team-{uuid.uuid4().hex[:8]}"}
    )
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    return team


async def make_recipient(service: Notify, **fields: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    body = {"name": f"Person {tag}", "email": f"p-{tag}@bank.test", **fields}
    response = await service.client.post("/v1/recipients", json=body)
    assert response.status_code == 201, response.text
    recipient: dict[str, Any] = response.json()
    return recipient


async def approved_policy(service: Notify, severity: str, body: dict[str, Any]) -> dict[str, Any]:
    """Propose the escalation policy with the test's identity and approve it as CHECKER, the
    second person (maker-checker): the live policy."""
    proposed = await service.client.put(f"/v1/escalation-policies/{severity}", json=body)
    assert proposed.status_code == 202, proposed.text
    approved = await service.client.post(
        f"/v1/escalation-policy-proposals/{proposed.json()['id']}/approve",
        json={"comment": "checked"},
        headers=checker_headers(),
    )
    assert approved.status_code == 200, approved.text
    live = await service.client.get(f"/v1/escalation-policies/{severity}")
    assert live.status_code == 200, live.text
    policy: dict[str, Any] = live.json()
    return policy


async def subscribe(service: Notify, **fields: Any) -> dict[str, Any]:
    response = await service.client.post("/v1/subscriptions", json=fields)
    assert response.status_code == 201, response.text
    subscription: dict[str, Any] = response.json()
    return subscription


def alert_raised(**fields: Any) -> AlertRaised:
    values: dict[str, Any] = {
        "alert_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "customer_name": "Acme Trading Ltd",
        "rule_id": uuid.uuid4(),
        "rule_version": 1,
        "rule_name": "Large outbound wire",
        "rule_type": "transaction_anomaly",
        "severity": "high",
        "title": "Outbound wire 6x above usual",
        "summary": "A wire of 150,000.00 EUR to a new beneficiary.",
        "raised_at": datetime.now(UTC),
        "evidence": {"amount": {"amount": "150000.00", "currency": "EUR"}},
        "reasons": ["Amount is 6.2 standard deviations above the 90-day mean"],
        "suggested_actions": ["Call the customer"],
    }
    values.update(fields)
    return AlertRaised(**values)


def alert_acknowledged(alert: AlertRaised, change: str = "acknowledged") -> AlertUpdated:
    return AlertUpdated(
        alert_id=alert.alert_id,
        customer_id=alert.customer_id,
        change=change,  # type: ignore[arg-type]
        status=change,
        severity=alert.severity,
        actor="analyst-1",
    )


async def wait_statuses(
    service: Notify, alert_id: uuid.UUID, expected: dict[str, int], timeout: float = 15.0
) -> list[dict[str, Any]]:
    """Wait until the alert's notifications have exactly these counts per status."""

    async def reached() -> list[dict[str, Any]] | None:
        found = await service.notifications(alert_id)
        counts: dict[str, int] = {}
        for notification in found:
            counts[notification["status"]] = counts.get(notification["status"], 0) + 1
        return found if counts == expected else None

    result = await wait_until(reached, timeout=timeout, message=f"statuses {expected}")
    assert result is not None
    return result
