"""Decoding and encoding `scoring.transaction_scored.v1`: the event classes before (pydantic
models, `model_validate_json`) and now (msgspec Structs, `parse_event`).

The payloads are the scoring event path's own output for the fixed history of
`tests/scoring/unit/event_path_history.py` (160 events, 3.0-4.3 KB, full feature maps). The old
classes are kept here only, as they were (`TransactionData`, `Reason`, the envelope,
`TransactionScored`). CPU time of this process (`time.process_time`), the two codecs
alternating round by round so a busy machine slows both alike; the median round is reported.

    .venv/bin/python bench/event_codec_bench.py [--rounds 15] [--write-docs]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from uuid import UUID, uuid4

import orjson
from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from riskwatch_shared.events.base import parse_event  # noqa: E402
from tests.scoring.unit.event_path_history import run  # noqa: E402

SUBJECT = "scoring.transaction_scored.v1"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Event codec: `scoring.transaction_scored.v1` (pydantic before, msgspec now)"


# --- the old event classes (pydantic), as they were before the events became msgspec ----------


class OldPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class OldTransactionData(OldPayload):
    transaction_id: UUID
    external_id: str
    customer_id: UUID
    account_id: UUID | None = None
    direction: Literal["inbound", "outbound"]
    amount: Decimal
    currency: str
    channel: Literal["card", "transfer", "atm", "online", "mobile"]
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bank: str | None = None
    counterparty_country: str | None = None
    merchant_category_code: str | None = None
    device_id: str | None = None
    ip_address: str | None = None
    country: str | None = None
    status: str = "completed"
    occurred_at: datetime
    received_at: datetime


class OldReason(OldPayload):
    code: str
    message: str
    contribution: float = 0.0
    value: str | None = None
    params: dict[str, Any] = {}
    advice: str | None = None


class OldTransactionScored(OldPayload):
    id: UUID = Field(default_factory=uuid4)
    type: Literal["scoring.transaction_scored.v1"] = "scoring.transaction_scored.v1"
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str = "scoring"
    trace_id: str | None = None
    customer_id: UUID
    transaction: OldTransactionData
    anomaly_score: float
    anomaly_level: Literal["low", "medium", "high", "critical"]
    recommended_action: Literal["approve", "review", "block"]
    reasons: list[OldReason] = []
    model_version: str
    transaction_features: dict[str, Any] = {}
    customer_features: dict[str, Any] = {}
    risk_levels: dict[str, Any] = {}


# --- measurement ---------------------------------------------------------------------------------


def cpu_microseconds(work: Callable[[], object], payloads: list[bytes]) -> float:
    """CPU per payload of one pass over all payloads, in microseconds."""
    started = time.process_time()
    for _ in range(20):
        work()
    return (time.process_time() - started) / (20 * len(payloads)) * 1e6


def measure(rounds: int) -> dict[str, float]:
    staged = run(challengers=False)["staged"]
    payloads = [payload for subject, payload in staged if subject == SUBJECT]
    old_events = [OldTransactionScored.model_validate_json(p) for p in payloads]
    new_events = [parse_event(SUBJECT, p) for p in payloads]
    assert [orjson.loads(e.to_json_bytes()) for e in new_events] == [
        orjson.loads(e.model_dump_json()) for e in old_events
    ], "old and new classes must read and write the same payloads"
    codecs: dict[str, Callable[[], object]] = {
        "decode_old": lambda: [OldTransactionScored.model_validate_json(p) for p in payloads],
        "decode_new": lambda: [parse_event(SUBJECT, p) for p in payloads],
        "encode_old": lambda: [e.model_dump_json() for e in old_events],
        "encode_new": lambda: [e.to_json_bytes() for e in new_events],
        # The floor under any decoder: JSON to plain Python objects, no types, no checks.
        "orjson_loads": lambda: [orjson.loads(p) for p in payloads],
    }
    samples: dict[str, list[float]] = {name: [] for name in codecs}
    for _ in range(rounds):
        for name, work in codecs.items():
            samples[name].append(cpu_microseconds(work, payloads))
    figures = {name: statistics.median(values) for name, values in samples.items()}
    figures["payloads"] = len(payloads)
    figures["mean_bytes"] = sum(map(len, payloads)) / len(payloads)
    return figures


def report(figures: dict[str, float]) -> str:
    decode_speedup = figures["decode_old"] / figures["decode_new"]
    encode_speedup = figures["encode_old"] / figures["encode_new"]
    return (
        f"{SECTION}\n\n"
        "`bench/event_codec_bench.py`: the scoring event path's own `transaction_scored` "
        f"payloads ({figures['payloads']:.0f} events, mean {figures['mean_bytes']:.0f} bytes), "
        "CPU per event, median of alternating rounds on the shared 2-core machine.\n\n"
        "| | old (pydantic model) | new (msgspec Struct) | speed-up |\n"
        "|---|---:|---:|---:|\n"
        f"| decode (`parse_event`) | {figures['decode_old']:.1f} µs | "
        f"{figures['decode_new']:.1f} µs | {decode_speedup:.1f}x |\n"
        f"| encode (`to_json_bytes`) | {figures['encode_old']:.1f} µs | "
        f"{figures['encode_new']:.1f} µs | {encode_speedup:.1f}x |\n\n"
        f"For scale: `orjson.loads` of the same bytes into untyped dicts (no types, no checks) "
        f"costs {figures['orjson_loads']:.1f} µs.\n\n"
        f"Target: decode >= 3x faster: **{'met' if decode_speedup >= 3 else 'NOT met'}** "
        f"({decode_speedup:.1f}x). The typed decode now costs about what building the same "
        "payload as plain dicts costs: most of it is the two open feature maps "
        "(`transaction_features`, ~22 values, `customer_features`, ~90), each value a Python "
        "object whichever library reads it. Decoding them as raw JSON instead measured ~3.7x "
        "(`msgspec.Raw`), but alerting reads every feature of every event, so that only moves "
        "the cost. What would reach 3x: a `v2` without the transaction fields repeated in "
        "`transaction_features`, and alerting decoding only the customer features its active "
        "rules read (a Struct built from the rule set: msgspec skips unknown keys without "
        "building them).\n"
    )


def write_docs(text: str) -> None:
    current = DOCS.read_text()
    if SECTION in current:
        before, rest = current.split(SECTION, 1)
        after = rest.split("\n## ", 1)
        current = before + text + ("\n## " + after[1] if len(after) > 1 else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    DOCS.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    text = report(measure(args.rounds))
    print(text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
