"""The scoring service with its computation taken out: what the event path costs without it.

Run as the service by `scoring_bench.py --floor` and `e2e_bench.py --scoring-floor`. Each
transaction still goes through everything the event path must do apart from computing its
score: fetched, parsed, claimed in the inbox, its customer's state row locked, encoded and
written back, one assessment row COPY'd, its own `transaction_scored` event (its transaction,
its customer) built, committed to the outbox and published by the relay, acked. Only the
computation is replaced: features, anomaly score and reasons, the customer's re-assessment.
The first transaction is scored for real; its assessment row, features and risk levels are
reused for every later one.

The state stays small (nothing updates the behaviour), so this is a lower bound of the
non-computing cost: a real customer's blob costs more to encode and write.

    python bench/scoring_floor_service.py serve     # as `python -m riskwatch_scoring serve`
"""

from __future__ import annotations

from typing import Any

from riskwatch_scoring import events, pipeline
from riskwatch_scoring.__main__ import ALEMBIC_INI
from riskwatch_scoring.config import get_settings
from riskwatch_scoring.domain.customer import ScoredCustomer
from riskwatch_scoring.registry import ServingModels
from riskwatch_shared.events.customer import TransactionReceived
from riskwatch_shared.events.scoring import TransactionScoredV2
from riskwatch_shared.service_main import service_main

_score_for_real = pipeline.Scorer._transaction
_build_payload = events.transaction_scored
# The first transaction's assessment row and the arguments of its transaction_scored payload.
_first: dict[str, Any] = {}


def _capture_payload_arguments(**arguments: Any) -> TransactionScoredV2:
    _first["payload"] = arguments
    return _build_payload(**arguments)


def _reuse_first_result(
    self: pipeline.Scorer,
    customer: ScoredCustomer,
    event: TransactionReceived,
    models: ServingModels,
    output: pipeline.BatchOutput,
) -> None:
    if not _first:
        events.transaction_scored = _capture_payload_arguments
        try:
            _score_for_real(self, customer, event, models, output)
        finally:
            events.transaction_scored = _build_payload
        _first["row"] = next(r for r in output.assessments if r.transaction_id is not None)
        return
    customer.version += 1
    row = _first["row"]._replace(
        id=events.new_id(),
        customer_id=customer.uuid,
        transaction_id=event.transaction.transaction_id,
        trigger_event_id=event.id,
        sequence=customer.version,
        assessed_at=output.assessed_at(),
    )
    output.assessments.append(row)
    arguments = _first["payload"] | {
        "occurred_at": output.now,
        "trace_id": output.trace_id(event),
        "transaction": event.transaction,
    }
    output.events.append(_build_payload(**arguments))


if __name__ == "__main__":
    pipeline.Scorer._transaction = _reuse_first_result  # type: ignore[method-assign]
    service_main(
        app_factory="riskwatch_scoring.main:create_app",
        get_settings=get_settings,
        alembic_ini=ALEMBIC_INI,
    )
