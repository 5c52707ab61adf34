"""The NATS users of compose and k8s, against a real nats-server with deploy/nats/auth.conf:
each service connects with its own password (NATS_USER/NATS_PASSWORD), creates the streams,
publishes its own events and reads others' through JetStream; it may not publish another
service's events, listen on raw subjects, or delete a stream."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from nats.errors import Error as NatsError

from riskwatch_shared.embedded import free_port, nats_server_binary, wait_for_port
from riskwatch_shared.messaging.bus import MessageBus, PublishFailed, ensure_streams
from riskwatch_shared.settings import ServiceSettings
from riskwatch_shared.testing import wait_until

from .contract import REPO_ROOT

AUTH_COPIES = (
    REPO_ROOT / "deploy/nats/auth.conf",
    REPO_ROOT / "k8s/base/nats/auth.conf",
    REPO_ROOT / "k8s/overlays/dev/auth.conf",
)
PASSWORDS = {user: uuid.uuid4().hex for user in ("customer", "scoring", "alerting", "notify")}


def test_every_copy_of_the_nats_users_is_the_same() -> None:
    texts = {path.read_text() for path in AUTH_COPIES}
    assert len(texts) == 1
    for config in (
        "deploy/nats/nats.conf",
        "k8s/base/nats/nats.conf",
        "k8s/overlays/dev/nats.conf",
    ):
        assert "include ./auth.conf" in (REPO_ROOT / config).read_text(), config


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("nats-auth")
    shutil.copy(AUTH_COPIES[0], folder / "auth.conf")
    port = free_port()
    (folder / "nats.conf").write_text(
        f"listen: 127.0.0.1:{port}\njetstream {{ store_dir: {folder / 'js'} }}\n"
        "include ./auth.conf\n"
    )
    env = {f"NATS_{user.upper()}_PASSWORD": password for user, password in PASSWORDS.items()}
    server = subprocess.Popen(
        [nats_server_binary(), "-c", str(folder / "nats.conf")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.asynccontextmanager
async def bus_of(
    user: str, nats_url: str, password: str | None = None
) -> AsyncIterator[MessageBus]:
    settings = ServiceSettings(
        NATS_URL=nats_url, NATS_USER=user, NATS_PASSWORD=password or PASSWORDS[user]
    )
    bus = MessageBus(settings.nats_url, name=f"test-{user}")
    await bus.connect()
    try:
        yield bus
    finally:
        await bus.close()


async def test_each_service_publishes_only_its_own_events(nats_url: str) -> None:
    async with bus_of("customer", nats_url) as customer:
        await ensure_streams(customer.js)
        subject = f"customer.test_{uuid.uuid4().hex[:6]}.v1"
        assert await customer.publish_batch([(subject, b"{}", uuid.uuid4().hex)], timeout=5) == 1
        with pytest.raises(PublishFailed):
            await customer.publish_batch(
                [("scoring.forged.v1", b"{}", uuid.uuid4().hex)], timeout=1
            )
        assert customer.nc is not None
        with pytest.raises((NatsError, asyncio.TimeoutError)):
            await customer.nc.request("$JS.API.STREAM.DELETE.SCORING", b"", timeout=1)
    async with bus_of("scoring", nats_url) as scoring:
        consumer = await scoring.js.pull_subscribe(
            subject, durable=f"scoring-test-{uuid.uuid4().hex[:6]}", stream="CUSTOMER"
        )
        (message,) = await consumer.fetch(1, timeout=5)
        assert message.subject == subject
        await message.ack()


async def test_raw_subscriptions_and_wrong_passwords_are_refused(nats_url: str) -> None:
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    settings = ServiceSettings(
        NATS_URL=nats_url, NATS_USER="notify", NATS_PASSWORD=PASSWORDS["notify"]
    )
    client = await nats.connect(settings.nats_url, error_cb=on_error, allow_reconnect=False)
    try:
        await client.subscribe("customer.>")
        await client.flush(timeout=2)

        async def refused() -> bool:
            return any("permissions violation" in str(e).lower() for e in errors)

        await wait_until(refused, timeout=5, message="the subscription refused")
    finally:
        await client.close()
    wrong = ServiceSettings(NATS_URL=nats_url, NATS_USER="notify", NATS_PASSWORD="not-it")
    with pytest.raises(Exception, match="Authorization Violation"):
        await nats.connect(wrong.nats_url, allow_reconnect=False, max_reconnect_attempts=0)
