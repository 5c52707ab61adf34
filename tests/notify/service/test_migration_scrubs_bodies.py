"""notify_0005: remote bodies stored by earlier versions are cut back to `HTTP <code>`, and the
code moves to its own column."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_shared.db.migrate import downgrade, run_migrations
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI

BODY = "HTTP 500: <html>ami-id instance-id iam/security-credentials/admin</html>"


async def test_stored_remote_bodies_are_cut_to_the_status_code(infra: Infra) -> None:
    async for url in migrated_database(infra, ALEMBIC_INI, "notifyscrub"):
        await asyncio.to_thread(downgrade, ALEMBIC_INI, url, "notify_0004")
        engine = create_async_engine(url)
        recipient, notification = uuid.uuid4(), uuid.uuid4()
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO recipients (id, name, locale, time_zone, active)"
                        " VALUES (:id, 'Hook', 'en', 'UTC', true)"
                    ),
                    {"id": recipient},
                )
                await conn.execute(
                    text(
                        "INSERT INTO notifications (id, dedup_key, kind, recipient_id, channel,"
                        " address, severity, subject, body_text, status, attempts,"
                        " next_attempt_at, last_error, updated_at)"
                        " VALUES (:id, :key, 'alert', :recipient, 'webhook', 'https://x.test/',"
                        " 'high', '', '', 'dead', 1, now(), :body, now())"
                    ),
                    {
                        "id": notification,
                        "key": str(notification),
                        "recipient": recipient,
                        "body": BODY,
                    },
                )
                await conn.execute(
                    text(
                        "INSERT INTO delivery_attempts (notification_id, attempt, status, provider,"
                        " detail, started_at, duration_ms) VALUES"
                        " (:id, 1, 'dead', 'webhook', :body, now(), 5),"
                        " (:id, 2, 'dead', 'webhook', 'ConnectError: refused', now(), 5)"
                    ),
                    {"id": notification, "body": BODY},
                )
            await asyncio.to_thread(run_migrations, ALEMBIC_INI, url)
            async with engine.connect() as conn:
                attempts = (
                    await conn.execute(
                        text("SELECT detail, remote_status FROM delivery_attempts ORDER BY attempt")
                    )
                ).all()
                [(last_error,)] = (
                    await conn.execute(text("SELECT last_error FROM notifications"))
                ).all()
        finally:
            await engine.dispose()
        assert [tuple(row) for row in attempts] == [
            ("HTTP 500", 500),
            ("ConnectError: refused", None),
        ]
        assert last_error == "HTTP 500"
