"""Dead letters an operator can work: list, inspect and re-drive them, per consumer, audited.

A dead letter is the original message, stored on `dlq.<durable>.<original subject>` in the
DEADLETTER stream with headers saying why (see `ConsumerRunner._dead_letter`). Re-driving it
publishes the payload again on its original subject:
- with a FRESH `Nats-Msg-Id` (`redrive-<uuid>`): JetStream drops a message whose id it saw
  within the stream's duplicate window, and a re-drive soon after an outage would otherwise be
  acknowledged and never delivered;
- with `RiskWatch-Redrive-For: <durable>`: only the consumer that dead-lettered it handles it
  (the others ack it unseen), so a consumer whose inbox has long forgotten the event cannot
  apply it a second time;
- the event id is unchanged and stays the inbox key: re-driving twice, or an event that was
  meanwhile applied, is dropped by the consumer's inbox (idempotent).
The dead letter is then deleted from DEADLETTER, and an audit record (who, when, which event,
the new message id) is stored on `dlq._audit.<durable>` (kept as long as dead letters are) and
logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from nats.js.errors import NotFoundError

from riskwatch_shared.events.streams import DEADLETTER_STREAM
from riskwatch_shared.logging import get_logger
from riskwatch_shared.messaging.bus import MessageBus
from riskwatch_shared.messaging.consumer import REDRIVE_FOR
from riskwatch_shared.metrics import DEAD_LETTERS_REDRIVEN

log = get_logger(__name__)

REDRIVE_OF = "RiskWatch-Redrive-Of"
AUDIT_PREFIX = "dlq._audit"


class DeadLetterNotFound(LookupError):
    """No such dead letter (never was, or already re-driven)."""


@dataclass(frozen=True)
class DeadLetter:
    sequence: int  # in the DEADLETTER stream: the handle to inspect and re-drive it by
    consumer: str
    subject: str  # the original subject
    event_id: str | None
    event_type: str | None
    reason: str
    deliveries: int | None
    original_stream: str | None
    original_sequence: int | None
    dead_lettered_at: datetime | None
    payload: Any = None  # only when inspected

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.dead_lettered_at is not None:
            data["dead_lettered_at"] = self.dead_lettered_at.isoformat()
        return data


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _dead_letter(
    seq: int, subject: str, headers: dict[str, str], data: bytes, at: Any
) -> DeadLetter:
    consumer = headers.get("RiskWatch-Dead-Letter-Consumer") or subject.split(".")[1]
    original = headers.get("RiskWatch-Original-Subject") or subject.split(".", 2)[-1]
    try:
        payload: Any = json.loads(data)
    except ValueError:
        payload = data.decode(errors="replace")
    event = payload if isinstance(payload, dict) else {}
    when = at if isinstance(at, datetime) else None
    if isinstance(at, str):
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00")[:26] + "+00:00")
        except ValueError:
            when = None
    return DeadLetter(
        sequence=seq,
        consumer=consumer,
        subject=original,
        event_id=str(event["id"]) if "id" in event else None,
        event_type=str(event["type"]) if "type" in event else None,
        reason=headers.get("RiskWatch-Dead-Letter-Reason", ""),
        deliveries=_int(headers.get("RiskWatch-Deliveries")),
        original_stream=headers.get("RiskWatch-Original-Stream"),
        original_sequence=_int(headers.get("RiskWatch-Original-Sequence")),
        dead_lettered_at=when,
        payload=payload,
    )


class DeadLetters:
    """The dead letters of a set of consumers (a service's durables)."""

    def __init__(self, bus: MessageBus, consumers: list[str]) -> None:
        self.bus = bus
        self.consumers = consumers

    async def find(
        self, *, consumer: str | None = None, after: int = 0, limit: int = 100
    ) -> list[DeadLetter]:
        """Oldest first, from stream sequence `after` (exclusive); without payloads."""
        names = [consumer] if consumer else self.consumers
        found: list[DeadLetter] = []
        for name in names:
            if name not in self.consumers:
                continue
            seq = after + 1
            while len(found) < limit * len(names):
                try:
                    msg = await self.bus.js.get_msg(
                        DEADLETTER_STREAM.name, seq=seq, subject=f"dlq.{name}.>", next=True
                    )
                except NotFoundError:
                    break
                letter = _dead_letter(
                    msg.seq or 0,
                    msg.subject or "",
                    dict(msg.headers or {}),
                    msg.data or b"",
                    msg.time,
                )
                found.append(_without_payload(letter))
                seq = (msg.seq or seq) + 1
        found.sort(key=lambda letter: letter.sequence)
        return found[:limit]

    async def get(self, sequence: int) -> DeadLetter:
        if not 1 <= sequence < 2**63:  # a stream sequence is positive (JetStream: uint64)
            raise DeadLetterNotFound(f"no dead letter {sequence}")
        try:
            msg = await self.bus.js.get_msg(DEADLETTER_STREAM.name, seq=sequence)
        except NotFoundError as exc:
            raise DeadLetterNotFound(f"no dead letter {sequence}") from exc
        subject = msg.subject or ""
        letter = _dead_letter(
            msg.seq or sequence, subject, dict(msg.headers or {}), msg.data or b"", msg.time
        )
        if subject.startswith(AUDIT_PREFIX) or letter.consumer not in self.consumers:
            raise DeadLetterNotFound(f"no dead letter {sequence} of these consumers")
        return letter

    async def redrive(self, sequence: int, *, actor: str) -> dict[str, Any]:
        """Publish the dead letter again for its consumer; delete it; audit. Idempotent."""
        letter = await self.get(sequence)
        msg = await self.bus.js.get_msg(DEADLETTER_STREAM.name, seq=sequence)
        message_id = f"redrive-{uuid.uuid4()}"
        headers = {
            "Nats-Msg-Id": message_id,
            REDRIVE_FOR: letter.consumer,
            REDRIVE_OF: str(sequence),
        }
        ack = await self.bus.js.publish(letter.subject, msg.data or b"", headers=headers)
        record = {
            "action": "dead_letter.redriven",
            "actor": actor,
            "at": datetime.now(UTC).isoformat(),
            "consumer": letter.consumer,
            "dead_letter_sequence": sequence,
            "event_id": letter.event_id,
            "event_type": letter.event_type,
            "subject": letter.subject,
            "reason": letter.reason,
            "message_id": message_id,
            "stream": ack.stream,
            "stream_sequence": ack.seq,
        }
        await self.bus.js.publish(
            f"{AUDIT_PREFIX}.{letter.consumer}",
            json.dumps(record).encode(),
            headers={"Nats-Msg-Id": f"audit-{message_id}"},
        )
        # Gone from the list once re-driven (a second re-drive of it: 404).
        with contextlib.suppress(NotFoundError):
            await self.bus.js.delete_msg(DEADLETTER_STREAM.name, sequence)
        DEAD_LETTERS_REDRIVEN.labels(letter.consumer).inc()
        log.info("audit.dead_letter_redriven", **{k: v for k, v in record.items() if k != "action"})
        return record

    async def audit(self, consumer: str, *, limit: int = 100) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        seq = 1
        while len(records) < limit:
            try:
                msg = await self.bus.js.get_msg(
                    DEADLETTER_STREAM.name, seq=seq, subject=f"{AUDIT_PREFIX}.{consumer}", next=True
                )
            except NotFoundError:
                break
            records.append(json.loads(msg.data or b"{}"))
            seq = (msg.seq or seq) + 1
        return records


def _without_payload(letter: DeadLetter) -> DeadLetter:
    return DeadLetter(**{**asdict(letter), "payload": None})


# --- `riskwatch dead-letters ...` -------------------------------------------------------------


def add_cli(sub: Any) -> None:
    """`riskwatch dead-letters list|show|redrive` (NATS_URL; the operator is $USER)."""
    parser = sub.add_parser("dead-letters", help="list, inspect and re-drive dead letters")
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="dead letters of a consumer (or of all)")
    listing.add_argument("--consumer", action="append", default=[])
    listing.add_argument("--limit", type=int, default=100)
    show = actions.add_parser("show", help="one dead letter with its payload")
    show.add_argument("sequence", type=int)
    redrive = actions.add_parser("redrive", help="re-drive dead letters to their consumer")
    redrive.add_argument("sequence", type=int, nargs="+")
    history = actions.add_parser("audit", help="re-drives of a consumer")
    history.add_argument("consumer")


async def _consumers(bus: MessageBus) -> list[str]:
    names: set[str] = set()
    info = await bus.js.stream_info(DEADLETTER_STREAM.name, subjects_filter="dlq.>")
    for subject in info.state.subjects or {}:
        parts = subject.split(".")
        if len(parts) > 2 and subject.startswith("dlq.") and not subject.startswith(AUDIT_PREFIX):
            names.add(parts[1])
    return sorted(names)


async def _run_cli(args: argparse.Namespace) -> int:
    bus = MessageBus(args.nats_url, name="riskwatch-cli")
    await bus.connect()
    try:
        known = await _consumers(bus)
        letters = DeadLetters(bus, known)
        actor = f"cli:{os.environ.get('USER', 'operator')}"
        if args.action == "list":
            found = (
                await letters.find(limit=args.limit)
                if not args.consumer
                else [
                    letter
                    for name in args.consumer
                    for letter in await letters.find(consumer=name, limit=args.limit)
                ]
            )
            for letter in found:
                print(json.dumps(letter.to_json()))
            print(f"{len(found)} dead letter(s)", flush=True)
        elif args.action == "show":
            print(json.dumps((await letters.get(args.sequence)).to_json(), indent=2))
        elif args.action == "redrive":
            for sequence in args.sequence:
                print(json.dumps(await letters.redrive(sequence, actor=actor)))
        elif args.action == "audit":
            for record in await letters.audit(args.consumer):
                print(json.dumps(record))
    except DeadLetterNotFound as exc:
        print(str(exc))
        return 1
    finally:
        await bus.close()
    return 0


def run_cli(args: argparse.Namespace) -> int:
    return asyncio.run(_run_cli(args))
