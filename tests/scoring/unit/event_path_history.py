"""A fixed, deterministic history through `Scorer.apply`, and its outputs normalised.

Used by `test_event_path_golden.py`: the golden file holds what the event path produced for
this history before the event path was optimised (pydantic events, full feature maps), so
every faster implementation must reproduce it exactly. The `transaction_scored` fingerprints
were rewritten once, when the producer moved to `scoring.transaction_scored.v2` (every other
line of the file unchanged). Regenerate it only on purpose:

    .venv/bin/python -m tests.scoring.unit.event_path_history
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import orjson

from riskwatch_scoring.config import Settings
from riskwatch_scoring.domain.anomaly import AnomalyModel
from riskwatch_scoring.domain.credit import expert_credit_scorecard
from riskwatch_scoring.domain.customer import ScoredCustomer
from riskwatch_scoring.pipeline import BatchOutput, Scorer, TimePassed
from riskwatch_scoring.registry import ModelCache, ServingModel, ServingModels, expert_model
from riskwatch_scoring.repository import AssessmentRecord
from riskwatch_scoring.state_store import StateStore, decode, encode
from riskwatch_shared.events.base import Event, parse_event
from riskwatch_shared.events.common import (
    AccountData,
    CreditRecordData,
    CustomerSnapshot,
    FinancialProfileData,
    InteractionData,
    TransactionData,
)
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    CustomerCreated,
    CustomerUpdated,
    FinancialProfileUpdated,
    InteractionLogged,
    TransactionReceived,
)

GOLDEN = Path(__file__).parent / "data" / "event_path_golden.json"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMERS = [uuid.UUID(int=0xC0FFEE00 + n) for n in range(4)]
BATCH = 9


def _ids(seed: int) -> Iterator[uuid.UUID]:
    rng = random.Random(seed)
    while True:
        yield uuid.UUID(int=rng.getrandbits(128), version=4)


def _transaction(
    rng: random.Random, ids: Iterator[uuid.UUID], customer_id: uuid.UUID, at: datetime, **over: Any
) -> TransactionReceived:
    fields: dict[str, Any] = {
        "transaction_id": next(ids),
        "external_id": f"ext-{rng.randrange(10**6)}",
        "customer_id": customer_id,
        "account_id": uuid.UUID(int=customer_id.int ^ rng.randrange(1, 3)),
        "direction": rng.choice(("inbound", "outbound", "outbound")),
        "amount": Decimal(rng.randrange(100, 400_000)) / 100,
        "currency": "EUR",
        "channel": rng.choice(("card", "transfer", "online", "mobile", "atm")),
        "counterparty_account": f"cp-{rng.randrange(12)}",
        "counterparty_country": rng.choice(("DE", "DE", "DE", "FR", "NL", "US")),
        "country": "DE",
        "device_id": f"device-{rng.randrange(3)}",
        "occurred_at": at,
        "received_at": at,
    }
    fields.update(over)
    data = TransactionData(**fields)
    return TransactionReceived(
        id=next(ids),
        customer_id=customer_id,
        transaction=data,
        trace_id=f"trace-{rng.random()}",
        occurred_at=at,
    )


def history() -> list[Event]:
    """Every kind of customer event, duplicates, out-of-order and odd currencies included."""
    rng, ids = random.Random(7), _ids(11)
    events: list[Event] = []
    snapshot = CustomerSnapshot(kind="individual", name="Golden", status="active", segment="mass")
    for customer_id in CUSTOMERS:
        events.append(
            CustomerCreated(
                id=next(ids), customer_id=customer_id, customer=snapshot, occurred_at=T0
            )
        )
        account = AccountData(
            account_id=uuid.UUID(int=customer_id.int ^ 1),
            number="DE00",
            type="current",
            currency="EUR",
            status="active",
            opened_at=date(2020, 1, 1),
        )
        events.append(
            AccountChanged(id=next(ids), customer_id=customer_id, account=account, occurred_at=T0)
        )
    moment = T0
    for step in range(160):
        moment += timedelta(minutes=rng.choice((1, 3, 20, 90, 400, 1_500, 3_000)))
        customer_id = CUSTOMERS[rng.randrange(len(CUSTOMERS))]
        roll = rng.random()
        over: dict[str, Any] = {}
        if roll < 0.04:
            over["amount"] = Decimal("98000.00")
            over["counterparty_country"] = "KP"
        elif roll < 0.08:
            over["currency"] = rng.choice(("USD", "GBP", "XYZ"))
        elif roll < 0.10:
            over["occurred_at"] = moment - timedelta(days=2)  # late
        elif roll < 0.12:
            over["device_id"] = None
            over["counterparty_account"] = None
            over["counterparty_name"] = f"Shop {step}"
            over["country"] = None
        events.append(_transaction(rng, ids, customer_id, moment, **over))
        if step % 17 == 5:
            events.append(events[-1])  # redelivered under the same event id
        if step % 23 == 7:
            copy = events[-1]
            events.append(msgspec.structs.replace(copy, id=next(ids)))  # same txn, new event id
        if step % 19 == 3:
            record = CreditRecordData(
                credit_record_id=next(ids),
                source=rng.choice(("bureau", "internal")),
                credit_score=rng.randrange(450, 820),
                delinquencies_30=rng.randrange(3),
                delinquencies_90=rng.randrange(2),
                missed_payments=rng.randrange(3),
                outstanding_debt=Decimal(rng.randrange(0, 40_000)),
                credit_limit=Decimal(rng.choice((0, 5_000, 20_000))),
                as_of=moment.date() - timedelta(days=rng.randrange(40)),
            )
            event = CreditRecordAdded(
                id=next(ids), customer_id=customer_id, credit_record=record, occurred_at=moment
            )
            events.extend([event, msgspec.structs.replace(event, id=next(ids))])
        if step % 29 == 11:
            profile = FinancialProfileData(
                financial_profile_id=next(ids),
                annual_income=Decimal(rng.randrange(0, 120_000)),
                currency="EUR",
                assets={"savings": Decimal(rng.randrange(50_000))},
                liabilities={"mortgage": Decimal(rng.randrange(200_000))},
                as_of=moment.date(),
            )
            events.append(
                FinancialProfileUpdated(
                    id=next(ids),
                    customer_id=customer_id,
                    financial_profile=profile,
                    occurred_at=moment,
                )
            )
        if step % 13 == 2:
            interaction = InteractionData(
                interaction_id=next(ids),
                channel=rng.choice(("complaint", "call", "email")),
                direction="inbound",
                summary="s",
                outcome=rng.choice((None, "resolved")),
                occurred_at=moment + timedelta(minutes=5),
            )
            events.append(
                InteractionLogged(
                    id=next(ids),
                    customer_id=customer_id,
                    interaction=interaction,
                    occurred_at=moment,
                )
            )
        if step == 80:
            changed = msgspec.structs.replace(snapshot, segment="affluent", country="DE")
            events.append(
                CustomerUpdated(
                    id=next(ids), customer_id=customer_id, customer=changed, occurred_at=moment
                )
            )
            # A naive time no longer decodes (tests/contract); made still, so the ids and the
            # random stream stay those the golden file was written with.
            _transaction(rng, ids, customer_id, moment.replace(tzinfo=None))
    # Through JSON, as the consumer receives them.
    return [parse_event(event.type, event.to_json_bytes()) for event in events]


def serving_models(*, challengers: bool) -> ServingModels:
    champions = {
        kind: ServingModel(uuid.UUID(int=n + 1), kind, "champion", expert_model(kind))
        for n, kind in enumerate(("credit", "anomaly", "churn"))
    }
    if not challengers:
        return ServingModels(champions)
    anomaly = AnomalyModel(model_version="anomaly-challenger", warmup_transactions=2)
    credit = dataclasses.replace(expert_credit_scorecard(), model_version="credit-challenger")
    return ServingModels(
        champions,
        {
            "anomaly": ServingModel(uuid.UUID(int=11), "anomaly", "challenger", anomaly),
            "credit": ServingModel(uuid.UUID(int=12), "credit", "challenger", credit),
        },
    )


def _scorer() -> Scorer:
    return Scorer(
        store=StateStore(100),
        model_cache=ModelCache(refresh_seconds=60),
        fx_rates_per_usd=Settings().fx_rates_per_usd,
        reassess_after_seconds=86_400,
    )


def _normalise_rows(rows: list[AssessmentRecord], names: dict[str, str]) -> list[dict[str, Any]]:
    normalised = []
    for row in rows:
        names[str(row.id)] = f"assessment-{len(names)}"
        kept = {k: v for k, v in row._asdict().items() if k not in ("id", "assessed_at")}
        normalised.append(orjson.loads(orjson.dumps(kept, default=str)))
    return normalised


def _normalise_event(subject: str, payload: dict[str, Any], names: dict[str, str]) -> Any:
    kept = {k: v for k, v in payload.items() if k not in ("id", "occurred_at")}
    if kept.get("assessment_id") is not None:
        kept["assessment_id"] = names[kept["assessment_id"]]
    return {"subject": subject, **kept}


def staged_events(output: BatchOutput) -> list[tuple[str, dict[str, Any]]]:
    """(subject, payload as parsed JSON) of every event a batch staged, in order."""
    return [(event.type, orjson.loads(event.to_json_bytes())) for event in output.events]


def run(*, challengers: bool) -> dict[str, Any]:
    """Apply the history in batches of `BATCH` (states re-decoded every third batch, as a
    replica reloading a stale cache would) and the idle re-assessment at the end."""
    scorer, models = _scorer(), serving_models(challengers=challengers)
    customers = {customer_id: ScoredCustomer(str(customer_id)) for customer_id in CUSTOMERS}
    names: dict[str, str] = {}
    assessments: list[dict[str, Any]] = []
    events: list[Any] = []
    staged: list[tuple[str, bytes]] = []
    stream = history()
    now = datetime(2026, 9, 1, tzinfo=UTC)
    for number, start in enumerate(range(0, len(stream), BATCH)):
        output = BatchOutput(now=now)
        for event in stream[start : start + BATCH]:
            assert event.customer_id is not None
            scorer.apply(customers[event.customer_id], event, models, output)
        assessments.extend(_normalise_rows(output.assessments, names))
        events.extend(_normalise_event(s, p, names) for s, p in staged_events(output))
        staged.extend((event.type, event.to_json_bytes()) for event in output.events)
        if number % 3 == 2:
            customers = {cid: decode(encode(customer)) for cid, customer in customers.items()}
    output = BatchOutput(now=now)
    for customer in customers.values():
        customer.version += 1
        scorer.reassess(customer, TimePassed(), now, models, output)
    assessments.extend(_normalise_rows(output.assessments, names))
    events.extend(_normalise_event(s, p, names) for s, p in staged_events(output))
    staged.extend((event.type, event.to_json_bytes()) for event in output.events)
    states = {str(cid): customer.to_state() for cid, customer in customers.items()}
    return {"assessments": assessments, "events": events, "states": states, "staged": staged}


def digest(item: Any) -> str:
    """A short fingerprint of one output item (sorted keys, exact floats)."""
    canonical = orjson.dumps(item, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]


def fingerprints(outputs: dict[str, Any]) -> dict[str, list[str]]:
    """Per item: what it is (subject, kind) and its digest, so a mismatch names its item."""
    return {
        "assessments": [
            f"{row['kind']}{'/shadow' if row['is_shadow'] else ''} {digest(row)}"
            for row in outputs["assessments"]
        ],
        "events": [f"{event['subject']} {digest(event)}" for event in outputs["events"]],
        "states": [f"{cid} {digest(state)}" for cid, state in outputs["states"].items()],
    }


def golden_fingerprints() -> dict[str, dict[str, list[str]]]:
    return {
        "champions": fingerprints(run(challengers=False)),
        "with_challengers": fingerprints(run(challengers=True)),
    }


if __name__ == "__main__":
    GOLDEN.write_bytes(orjson.dumps(golden_fingerprints(), option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {GOLDEN}")
