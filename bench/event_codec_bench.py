"""Decoding and encoding `scoring.transaction_scored`: the event classes before (pydantic
models, `model_validate_json`, v1), v1 as msgspec Structs, and v2 (msgspec, typed features,
the transaction's fields said once), which scoring writes now.

The payloads are the scoring event path's own output for the fixed history of
`tests/scoring/unit/event_path_history.py` (160 events, full feature maps): each transaction's
v2 as the event path writes it, and its v1 built from the same arguments as the v1 producer
built it. The old classes are kept here only, as they were (`TransactionData`, `Reason`, the
envelope, `TransactionScored`). CPU time of this process (`time.process_time`), the codecs
alternating round by round so a busy machine slows all alike; the median round is reported.

    .venv/bin/python bench/event_codec_bench.py [--rounds 15] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
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

from riskwatch_scoring import events as outgoing  # noqa: E402
from riskwatch_shared.events.base import parse_event  # noqa: E402
from riskwatch_shared.events.scoring import TransactionScored, TransactionScoredV2  # noqa: E402
from tests.scoring.unit.event_path_history import run  # noqa: E402

SUBJECT = "scoring.transaction_scored.v1"
SUBJECT_V2 = "scoring.transaction_scored.v2"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Event codec: `scoring.transaction_scored` (pydantic before, msgspec v1 and v2 now)"


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


def both_versions() -> tuple[list[bytes], list[bytes]]:
    """The event path's v1 and v2 payloads of the same transactions (v1 built from the
    arguments the event path passes to its v2 producer, as the v1 producer built it)."""
    build_v2, v1_payloads = outgoing.transaction_scored, []

    def build_both(**arguments: Any) -> TransactionScoredV2:
        event = build_v2(**arguments)
        v1 = TransactionScored(
            **{name: getattr(event, name) for name in V1_COMMON},
            transaction_features=dict(arguments["transaction_features"]),
            customer_features=dict(arguments["customer_features"]),
            risk_levels=dict(arguments["risk_levels"]),
        )
        v1_payloads.append(v1.to_json_bytes())
        return event

    outgoing.transaction_scored = build_both  # type: ignore[assignment]
    try:
        staged = run(challengers=False)["staged"]
    finally:
        outgoing.transaction_scored = build_v2
    return v1_payloads, [payload for subject, payload in staged if subject == SUBJECT_V2]


V1_COMMON = tuple(
    name
    for name in TransactionScored.__struct_fields__
    if name not in ("type", "transaction_features", "customer_features", "risk_levels")
)


def measure(rounds: int) -> dict[str, float]:
    payloads, payloads_v2 = both_versions()
    assert len(payloads) == len(payloads_v2)
    old_events = [OldTransactionScored.model_validate_json(p) for p in payloads]
    new_events = [parse_event(SUBJECT, p) for p in payloads]
    v2_events = [parse_event(SUBJECT_V2, p) for p in payloads_v2]
    assert [orjson.loads(e.to_json_bytes()) for e in new_events] == [
        orjson.loads(e.model_dump_json()) for e in old_events
    ], "old and new classes must read and write the same payloads"
    codecs: dict[str, Callable[[], object]] = {
        "decode_old": lambda: [OldTransactionScored.model_validate_json(p) for p in payloads],
        "decode_new": lambda: [parse_event(SUBJECT, p) for p in payloads],
        "decode_v2": lambda: [parse_event(SUBJECT_V2, p) for p in payloads_v2],
        "encode_old": lambda: [e.model_dump_json() for e in old_events],
        "encode_new": lambda: [e.to_json_bytes() for e in new_events],
        "encode_v2": lambda: [e.to_json_bytes() for e in v2_events],
        # The floor under any decoder: JSON to plain Python objects, no types, no checks.
        "orjson_loads": lambda: [orjson.loads(p) for p in payloads],
        "orjson_loads_v2": lambda: [orjson.loads(p) for p in payloads_v2],
    }
    samples: dict[str, list[float]] = {name: [] for name in codecs}
    for _ in range(rounds):
        for name, work in codecs.items():
            samples[name].append(cpu_microseconds(work, payloads))
    figures = {name: statistics.median(values) for name, values in samples.items()}
    figures["payloads"] = len(payloads)
    figures["mean_bytes"] = sum(map(len, payloads)) / len(payloads)
    figures["mean_bytes_v2"] = sum(map(len, payloads_v2)) / len(payloads_v2)
    figures["load"] = os.getloadavg()[0]
    return figures


def report(figures: dict[str, float]) -> str:
    old = figures["decode_old"]
    return (
        f"{SECTION}\n\n"
        "`.venv/bin/python bench/event_codec_bench.py --write-docs`: the scoring event path's "
        f"own `transaction_scored` payloads ({figures['payloads']:.0f} transactions; v1 mean "
        f"{figures['mean_bytes']:.0f} bytes, v2 mean {figures['mean_bytes_v2']:.0f} bytes), CPU "
        "per event, median of alternating rounds on the shared 2-core machine (load average "
        f"{figures['load']:.1f} at the end).\n\n"
        "| | old: v1, pydantic model | v1, msgspec Struct | **v2**, msgspec Struct |\n"
        "|---|---:|---:|---:|\n"
        f"| decode (`parse_event`) | {old:.1f} µs | {figures['decode_new']:.1f} µs "
        f"({old / figures['decode_new']:.1f}x) | **{figures['decode_v2']:.1f} µs** "
        f"(**{old / figures['decode_v2']:.1f}x**) |\n"
        f"| encode (`to_json_bytes`) | {figures['encode_old']:.1f} µs | "
        f"{figures['encode_new']:.1f} µs ({figures['encode_old'] / figures['encode_new']:.1f}x) "
        f"| {figures['encode_v2']:.1f} µs ({figures['encode_old'] / figures['encode_v2']:.1f}x) |\n"
        f"| `orjson.loads` of the same bytes (untyped dicts, no checks: a floor) | "
        f"{figures['orjson_loads']:.1f} µs | {figures['orjson_loads']:.1f} µs | "
        f"{figures['orjson_loads_v2']:.1f} µs |\n\n"
        "Target: decode >= 3x faster than the old pydantic decode: "
        f"**{'met' if old / figures['decode_v2'] >= 3 else 'NOT met'}** with v2 "
        f"({old / figures['decode_v2']:.1f}x; v1 as a msgspec Struct "
        f"{old / figures['decode_new']:.1f}x). v1's cost was mostly its two open feature maps "
        "(~90 values, each key a new string and the maps new dicts) and the transaction's "
        "fields repeated among the features. v2 (`TransactionScoredV2`) says the transaction "
        "once and carries the features as typed Structs (`TransactionSignals`, "
        "`CustomerFeatures`, `CustomerRiskLevels`): msgspec matches each key against the "
        "Struct's fields instead of building it, and checks each value's type; and of the "
        "customer's ~64 features it carries the 24 alert rules can read (the rest are scoring's "
        "model inputs; `customer_assessed` still carries them all). Absolute figures move "
        "with the machine's load; the ratios, from alternating rounds, much less.\n"
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
