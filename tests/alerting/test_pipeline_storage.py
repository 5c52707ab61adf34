"""The event path's raw asyncpg statements: same rows as the ORM reads, in the session's
transaction, and the stored history/state in the format the reference code wrote."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting import repository
from riskwatch_alerting.domain.evaluation_input import (
    CustomerSnapshot,
    apply_event,
    build_input,
    compact,
    json_bytes,
    to_json,
)
from riskwatch_alerting.models import (
    Alert,
    CustomerState,
    EvaluationRecord,
    WindowGroup,
)
from riskwatch_alerting.pipeline import AlertPipeline, history_input
from riskwatch_alerting.rules.windows import GroupKey

from .factories import BASE_TIME, active_template_rule, customer_assessed, feed, transaction_scored


async def _count(session: AsyncSession, model: type[object]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_raw_statements_run_in_the_sessions_transaction(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    customer = uuid.uuid4()
    async with session_factory() as session, session.begin():
        # The first statement of the transaction: the helper must begin it.
        await repository.write_batch(
            session,
            repository.BatchWrites(
                states=[
                    repository.StateRow(
                        customer_id=customer,
                        features=json_bytes({"utilisation": Decimal("0.5")}),
                        levels=json_bytes({"credit_level": "low"}),
                        scores=json_bytes({"credit": 0.1}),
                        sequence=3,
                    )
                ],
                windows=[repository.WindowRow("customer", "c1", json_bytes({}))],
            ),
        )
        assert await _count(session, CustomerState) == 1
        await session.rollback()
    async with session_factory() as session:
        assert await _count(session, CustomerState) == 0
        assert await _count(session, WindowGroup) == 0


async def test_state_and_windows_round_trip_and_upsert(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    customers = [uuid.uuid4(), uuid.uuid4()]
    keys = [GroupKey("customer", "c1"), GroupKey("device", "d1")]
    for sequence in (1, 2):  # the second pass updates every row
        async with session_factory() as session, session.begin():
            states = [
                repository.StateRow(
                    customer_id=customer,
                    features=json_bytes({"utilisation": str(sequence), "n": index}),
                    levels=json_bytes({"credit_level": "high"}),
                    scores=json_bytes({}),
                    sequence=sequence,
                )
                for index, customer in enumerate(customers)
            ]
            windows = [
                repository.WindowRow(k.by, k.value, json_bytes({"v": sequence})) for k in keys
            ]
            await repository.write_batch(
                session, repository.BatchWrites(states=states, windows=windows)
            )
    async with session_factory() as session, session.begin():
        loaded = await repository.load_customer_states(session, [*customers, uuid.uuid4()])
        loaded_windows = await repository.load_windows(
            session, [*keys, GroupKey("account", "none")]
        )
        orm = {
            row.customer_id: row for row in (await session.execute(select(CustomerState))).scalars()
        }
    assert set(loaded) == set(customers)
    for index, customer in enumerate(customers):
        stored = loaded[customer]
        assert type(next(iter(loaded))) is uuid.UUID
        assert stored == repository.StoredCustomerState(
            features={"utilisation": "2", "n": index},
            levels={"credit_level": "high"},
            scores={},
            sequence=2,
            encoded=(
                json_bytes({"utilisation": "2", "n": index}),
                json_bytes({"credit_level": "high"}),
                json_bytes({}),
            ),
        )
        assert (orm[customer].features, orm[customer].sequence) == (stored.features, 2)
    assert loaded_windows == {key: {"v": 2} for key in keys}


async def test_history_keeps_evaluation_order_ignores_repeats_and_reads_back_as_live(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    customer = uuid.uuid4()
    snapshot = CustomerSnapshot()
    events = [
        transaction_scored(customer, at=BASE_TIME, amount="9400.50", anomaly_score=0.3),
        customer_assessed(customer, at=BASE_TIME, features={"utilisation": 0.93}),
        transaction_scored(customer, at=BASE_TIME - timedelta(seconds=5)),
    ]
    inputs = [build_input(event, snapshot, apply_event(snapshot, event)) for event in events]
    rows = [
        repository.HistoryRow(
            event_id=item.event_id,
            event_type=item.event_type,
            customer_id=item.customer_id,
            occurred_at=item.occurred_at,
            context=json_bytes(
                {"ns": item.namespaces, "transaction_id": item.transaction_id, "reasons": []}
            ),
        )
        for item in inputs
    ]
    async with session_factory() as session, session.begin():
        await repository.write_batch(session, repository.BatchWrites(history=rows))
        # A repeat is ignored.
        await repository.write_batch(session, repository.BatchWrites(history=rows[:1]))
    async with session_factory() as session:
        records = list(
            (await session.execute(select(EvaluationRecord).order_by(EvaluationRecord.seq)))
            .scalars()
            .all()
        )
    assert [record.event_id for record in records] == [item.event_id for item in inputs]
    for record, item in zip(records, inputs, strict=True):
        # The format the reference path stored: to_json of the compact namespaces.
        assert record.context["ns"] == to_json(item.namespaces)
        assert record.context["ns"] == to_json(compact(item.namespaces))
        back = history_input(
            record.event_id,
            record.event_type,
            record.customer_id,
            record.occurred_at,
            record.context,
        )
        assert back.namespaces == item.namespaces
        assert back.transaction_id == item.transaction_id
    assert records[0].context["ns"]["txn"]["amount"] == "9400.50"
    assert records[1].context["ns"]["customer"]["utilisation"] == "0.93"


async def test_open_alerts_are_read_for_the_wanted_keys_only(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        rule = await active_template_rule(session, "anomaly_score_high", cooldown_seconds=60)
    first, second = uuid.uuid4(), uuid.uuid4()
    await feed(
        session_factory,
        AlertPipeline(),
        [
            transaction_scored(first, anomaly_score=0.99),
            transaction_scored(second, anomaly_score=0.99),
            # After the cooldown: a new alert for `first` closes the old one's dedup key.
            transaction_scored(first, at=BASE_TIME + timedelta(minutes=5), anomaly_score=0.99),
        ],
        batch_size=2,
    )
    async with session_factory() as session, session.begin():
        alerts = list((await session.execute(select(Alert))).scalars())
        dedup = {a.customer_id: a.dedup_value for a in alerts}
        wanted = [(rule.id, dedup[first]), (uuid.uuid4(), dedup[second])]
        open_alerts = await repository.load_open_alerts(session, wanted)
    (key,) = open_alerts
    assert key == (rule.id, dedup[first])
    current = next(a for a in alerts if a.customer_id == first and a.dedup_open)
    assert open_alerts[key].alert_id == current.id
    assert open_alerts[key].first_seen_at == BASE_TIME + timedelta(minutes=5)
    assert (open_alerts[key].occurrences, open_alerts[key].status) == (1, "new")
    assert sum(1 for a in alerts if a.customer_id == first) == 2


async def test_a_customer_state_the_batch_did_not_change_is_not_rewritten(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    customer = uuid.uuid4()
    pipeline = AlertPipeline()

    async def stored() -> tuple[dict[str, object], int, object]:
        async with session_factory() as session:
            row = await session.get(CustomerState, customer)
            assert row is not None
            return row.features, row.sequence, row.updated_at

    features = {"utilisation": 0.93, "debt_to_income": 0.2}
    await feed(session_factory, pipeline, [customer_assessed(customer, features=features)])
    first = await stored()
    # The same assessment again: same state, no write (updated_at is the first commit's).
    await feed(session_factory, pipeline, [customer_assessed(customer, features=features)])
    assert await stored() == first
    # A changed feature is written.
    changed = {**features, "utilisation": 0.5}
    await feed(session_factory, pipeline, [customer_assessed(customer, features=changed)])
    features_now, sequence, updated_at = await stored()
    assert features_now == {"utilisation": "0.5", "debt_to_income": "0.2"}
    assert (sequence, updated_at != first[2]) == (1, True)
