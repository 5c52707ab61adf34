"""Catching what a request writes or publishes, while background loops keep running.

A request is labelled through a context variable set around the call (the in-process client
runs the app in the caller's task; the relay, consumers and periodic jobs run in tasks made
before, outside the label). Every transaction that SQLAlchemy commits on the services' engines
is asked `txid_current_if_assigned()` first: PostgreSQL gives a transaction an id only when it
writes (a row inserted, updated, deleted or locked), so a non-null id is a write. Every NATS
publish is seen through the client's `publish` (the real publish still happens).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pytest
from nats.aio.client import Client
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

request_label: ContextVar[str | None] = ContextVar("request_label", default=None)

# The client's own traffic: JetStream API calls and reply inboxes, not events.
_CLIENT_SUBJECTS = ("$JS.", "_INBOX.", "$SYS.")


@dataclass
class Effects:
    writes: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)


@contextlib.contextmanager
def labelled(label: str) -> Iterator[None]:
    token = request_label.set(label)
    try:
        yield
    finally:
        request_label.reset(token)


@contextlib.contextmanager
def capture_effects(
    engines: Sequence[AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Effects]:
    effects = Effects()

    def before_commit(connection: Connection) -> None:
        label = request_label.get()
        if label is None:
            return
        # The driver's own cursor: runs inside the committing transaction, outside
        # SQLAlchemy's transaction bookkeeping.
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("SELECT txid_current_if_assigned()")
            (transaction_id,) = cursor.fetchone()
        finally:
            cursor.close()
        if transaction_id is not None:
            effects.writes.append(label)

    original_publish = Client.publish

    async def publish(self: Client, subject: str, *args: Any, **kwargs: Any) -> None:
        label = request_label.get()
        if label is not None and not subject.startswith(_CLIENT_SUBJECTS):
            effects.published.append(f"{label}: {subject}")
        await original_publish(self, subject, *args, **kwargs)

    monkeypatch.setattr(Client, "publish", publish)
    for engine in engines:
        event.listen(engine.sync_engine, "commit", before_commit)
    try:
        yield effects
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "commit", before_commit)
        monkeypatch.setattr(Client, "publish", original_publish)
