"""The wire format of every event, pinned by one golden file per type and version
(`golden/<type>.json`): every consumer decodes it into its class, the class writes exactly it
back, and the producers whose fast paths build an event from stored rows (customer intake,
scoring's event path) write it too.

The golden files were written by the pydantic event models the msgspec Structs replaced, so
they also prove the change kept every byte consumers read. After an additive change, rewrite
them on purpose: `.venv/bin/python -m tests.contract.test_golden_events`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import orjson
import pytest

from riskwatch_customer.intake import event_json
from riskwatch_scoring import events
from riskwatch_scoring.domain.assessment import Assessment
from riskwatch_scoring.domain.assessment import Reason as DomainReason
from riskwatch_scoring.domain.levels import Level
from riskwatch_shared.events import EVENT_TYPES, Event, parse_event
from riskwatch_shared.events.customer import TransactionReceived
from riskwatch_shared.events.scoring import (
    CustomerRiskLevelChanged,
    TransactionScored,
    TransactionScoredV2,
)

from .test_events import examples

GOLDEN = Path(__file__).parent / "golden"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def golden_examples() -> list[Event]:
    """`examples()` with fixed envelope ids and times, so their bytes never change."""
    return [
        msgspec.structs.replace(event, id=UUID(int=0x90_0000 + n), occurred_at=AT)
        for n, event in enumerate(examples())
    ]


def golden(event_type: str) -> Any:
    return orjson.loads((GOLDEN / f"{event_type}.json").read_bytes())


def test_every_registered_type_has_one_golden_file() -> None:
    registered = {t for t in EVENT_TYPES if not t.startswith(("rwtest.", "rwbench."))}
    assert {path.stem for path in GOLDEN.glob("*.json")} == registered


@pytest.mark.parametrize("event", golden_examples(), ids=lambda e: e.type)
def test_consumers_decode_it_and_the_class_writes_it_back(event: Event) -> None:
    payload = (GOLDEN / f"{event.type}.json").read_bytes()
    decoded = parse_event(event.type, payload)  # what every consumer runner does
    assert decoded == event
    assert orjson.loads(decoded.to_json_bytes()) == orjson.loads(payload)


def test_money_is_an_exact_string_and_times_are_utc_with_a_z() -> None:
    transaction = golden("customer.transaction_received.v1")["transaction"]
    assert transaction["amount"] == "12500.50"
    assert transaction["occurred_at"] == "2026-11-01T09:30:00Z"


def test_customer_intake_writes_the_golden_transaction_received() -> None:
    event = parse_event(
        "customer.transaction_received.v1",
        (GOLDEN / "customer.transaction_received.v1.json").read_bytes(),
    )
    assert isinstance(event, TransactionReceived)
    row = msgspec.structs.asdict(event.transaction)
    written = event_json(row, event_id=event.id, occurred_at=event.occurred_at, trace_id=None)
    assert orjson.loads(written) == golden(event.type)


def _assessment(kind: str, score: float, level: Level, version: str, reason: Any) -> Assessment:
    return Assessment(
        kind=kind,
        score=score,
        level=level,
        model_version=version,
        reasons=[
            DomainReason(reason.code, reason.message, reason.contribution, value=reason.value)
        ],
    )


def test_the_scoring_event_path_writes_the_golden_scoring_events() -> None:
    scored = parse_event(
        "scoring.transaction_scored.v2",
        (GOLDEN / "scoring.transaction_scored.v2.json").read_bytes(),
    )
    assert isinstance(scored, TransactionScoredV2)
    # The event path's feature maps: more names than the event carries (the transaction's own
    # fields, the bureau score's aliases), which the producer leaves out.
    transaction_features = {
        **msgspec.structs.asdict(scored.transaction_features),
        "transaction_id": str(scored.transaction.transaction_id),
        "amount": 12500.5,
        "hour": 9,
    }
    customer_features = {
        **msgspec.structs.asdict(scored.customer_features),
        "credit_score": scored.customer_features.bureau_score,
    }
    written: Event = events.transaction_scored(
        occurred_at=scored.occurred_at,
        trace_id=scored.trace_id,
        transaction=scored.transaction,
        assessment=_assessment(
            "anomaly", 0.91, Level.CRITICAL, scored.model_version, scored.reasons[0]
        ),
        recommended_action=scored.recommended_action,
        transaction_features=transaction_features,
        customer_features=customer_features,
        risk_levels=msgspec.structs.asdict(scored.risk_levels),
    )
    assert _without_id(written) == _without_id(scored)
    changed = parse_event(
        "scoring.customer_risk_level_changed.v1",
        (GOLDEN / "scoring.customer_risk_level_changed.v1.json").read_bytes(),
    )
    assert isinstance(changed, CustomerRiskLevelChanged)
    written = events.risk_level_changed(
        occurred_at=changed.occurred_at,
        trace_id=changed.trace_id,
        customer_id=changed.customer_id,
        model_kind=changed.model_kind,
        from_level=changed.from_level,
        to_level=changed.to_level,
        assessment=_assessment(
            "credit", changed.score, Level.HIGH, changed.model_version, changed.reasons[0]
        ),
        sequence=changed.sequence,
        model_version=changed.model_version,
        advice=list(changed.advice),
        assessment_id=changed.assessment_id,
        trigger_event_type=changed.trigger_event_type,
        happened_at=changed.happened_at,
    )
    assert _without_id(written) == _without_id(changed)


def test_v1_still_decodes_for_the_consumers_during_the_rollout() -> None:
    """Messages written before the producer moved to v2 stay readable by their class."""
    payload = (GOLDEN / "scoring.transaction_scored.v1.json").read_bytes()
    scored = parse_event("scoring.transaction_scored.v1", payload)
    assert isinstance(scored, TransactionScored)
    assert scored.customer_features == {"avg_amount_30d": 800.0}


def _without_id(event: Event) -> Any:
    payload = orjson.loads(event.to_json_bytes())
    del payload["id"]  # the event path draws its own ids
    return payload


def write_golden_files() -> None:  # pragma: no cover - run by hand, on purpose
    GOLDEN.mkdir(exist_ok=True)
    for event in golden_examples():
        body = orjson.dumps(orjson.loads(event.to_json_bytes()), option=orjson.OPT_INDENT_2)
        (GOLDEN / f"{event.type}.json").write_bytes(body + b"\n")


if __name__ == "__main__":
    write_golden_files()
