"""Per-transaction cost of the pure scoring path: feature update + anomaly score.

Run: .venv/bin/python bench/scoring_domain_bench.py
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from riskwatch_scoring.domain.anomaly import AnomalyModel
from riskwatch_scoring.domain.churn import ChurnModel
from riskwatch_scoring.domain.credit import expert_credit_scorecard
from riskwatch_scoring.domain.features import CustomerState
from riskwatch_scoring.domain.inputs import Transaction

TRANSACTIONS = 20_000
START = datetime(2024, 1, 1, tzinfo=UTC)


def _transactions(rng: random.Random) -> list[Transaction]:
    customer_id = UUID(int=1)
    moment = START
    batch = []
    for _ in range(TRANSACTIONS):
        moment += timedelta(minutes=rng.expovariate(1 / 30))  # ~48 per day: a busy customer
        batch.append(
            Transaction(
                transaction_id=uuid4(),
                customer_id=customer_id,
                account_id=f"acc-{rng.randrange(3)}",
                direction=rng.choice(("inbound", "outbound")),
                amount=Decimal(rng.randrange(100, 500_000)) / 100,
                currency="EUR",
                channel="card",
                counterparty_account=f"cp-{rng.randrange(400)}",
                counterparty_country=rng.choice(("DE", "DE", "DE", "FR", "NL", "US")),
                country="DE",
                occurred_at=moment,
                device_id=f"device-{rng.randrange(4)}",
            )
        )
    return batch


def main() -> None:
    transactions = _transactions(random.Random(42))
    customer, anomaly = CustomerState("bench"), AnomalyModel()
    started = time.perf_counter()
    for txn in transactions:
        features = customer.apply_transaction(txn)
        assert features is not None
        anomaly.assess(features.as_dict())
    per_txn_us = (time.perf_counter() - started) / TRANSACTIONS * 1e6

    credit, churn = expert_credit_scorecard(), ChurnModel()
    started = time.perf_counter()
    rounds = 2_000
    for _ in range(rounds):
        customer_features = customer.features().as_dict()
        credit.assess(customer_features)
        churn.assess(customer_features)
    per_customer_us = (time.perf_counter() - started) / rounds * 1e6

    state_json = json.dumps(customer.to_state())
    started = time.perf_counter()
    for _ in range(200):
        CustomerState.from_state(json.loads(state_json)).to_state()
    round_trip_us = (time.perf_counter() - started) / 200 * 1e6

    print(f"update + anomaly score per transaction: {per_txn_us:.1f} us")
    print(f"customer features + credit + churn:     {per_customer_us:.1f} us")
    print(f"state JSON size: {len(state_json)} bytes; load+dump round trip: {round_trip_us:.0f} us")


if __name__ == "__main__":
    main()
