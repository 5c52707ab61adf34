"""Every service's migration to the slim outbox/inbox keeps what is still to be done."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_shared.db.migrate import alembic_config, drop_database, run_migrations
from riskwatch_shared.testing.fixtures import Infra

SERVICES = ["customer", "scoring", "alerting", "notify", "gateway"]


def alembic_ini(service: str) -> Path:
    return (
        Path(importlib.import_module(f"riskwatch_{service}").__file__ or "").parent / "alembic.ini"
    )


def slim_revision(ini: Path) -> tuple[str, str]:
    """(the revision before the slim messaging migration, that migration's revision)."""
    script = ScriptDirectory.from_config(alembic_config(ini, "postgresql://unused/"))
    [revision] = [r for r in script.walk_revisions() if r.path.endswith("_slim_messaging.py")]
    assert isinstance(revision.down_revision, str)
    return revision.down_revision, revision.revision


def _indexes(rows: list[tuple[str, str]]) -> dict[str, str]:
    return {name: definition.split(" USING ")[1] for name, definition in rows}


@pytest.mark.parametrize("service", SERVICES)
async def test_slim_migration_keeps_unpublished_rows_and_inbox_claims(
    infra: Infra, service: str
) -> None:
    ini = alembic_ini(service)
    before, slim = slim_revision(ini)
    url = infra.database_url(f"rwtest_slim_{service}_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(run_migrations, ini, url, before)
    engine = create_async_engine(url)
    sent, pending, claimed = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()], uuid.uuid4()
    try:
        async with engine.begin() as conn:
            insert = text(
                "INSERT INTO outbox (id, subject, payload, published_at) "
                "VALUES (:id, 'x.happened.v1', :payload, "
                "CASE WHEN CAST(:sent AS boolean) THEN now() END)"
            )
            await conn.execute(insert, {"id": sent, "payload": b"sent", "sent": True})
            for n, event_id in enumerate(pending):
                await conn.execute(insert, {"id": event_id, "payload": b"%d" % n, "sent": False})
            await conn.execute(
                text("INSERT INTO inbox (consumer, event_id) VALUES ('c', :id)"), {"id": claimed}
            )
        await asyncio.to_thread(run_migrations, ini, url, slim)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, payload FROM outbox ORDER BY seq"))).all()
            inbox = (await conn.execute(text("SELECT consumer, event_id FROM inbox"))).all()
            outbox_indexes = (
                await conn.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'outbox'")
                )
            ).all()
            options = await conn.scalar(
                text("SELECT reloptions FROM pg_class WHERE relname = 'outbox'")
            )
            inbox_indexes = (
                await conn.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'inbox'")
                )
            ).all()
        assert [(r.id, bytes(r.payload)) for r in rows] == [(pending[0], b"0"), (pending[1], b"1")]
        assert [tuple(r) for r in inbox] == [("c", claimed)]
        assert options == ["toast_tuple_target=8160"]
        assert _indexes([tuple(r) for r in outbox_indexes]) == {"pk_outbox": "btree (seq)"}
        assert _indexes([tuple(r) for r in inbox_indexes]) == {
            "pk_inbox": "btree (consumer, event_id)",
            "ix_inbox_processed_at": "brin (processed_at)",
        }
    finally:
        await engine.dispose()
        await drop_database(url)
