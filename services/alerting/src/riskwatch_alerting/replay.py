"""Replaying stored history through one rule: what a backtest does, in the request
(`POST /v1/rules/{id}/backtest`, `POST /v1/backtests`) or as a job (`backtest_runner`).

Both read the evaluation history a keyset page at a time and feed the pure `Backtester`;
a job's runner also hears about each page (progress, cancellation, its CPU budget).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import repository
from riskwatch_alerting.domain.backtest import (
    Backtester,
    BacktestResult,
    Disposition,
    warm_up_start,
)
from riskwatch_alerting.domain.evaluation import ActiveRule
from riskwatch_alerting.pipeline import history_input
from riskwatch_alerting.schemas import BacktestOut, DayCount

DRAFT_RULE_ID = uuid.UUID(int=0)
# Called after each page with the result so far and the event time reached.
PageHook = Callable[[BacktestResult, datetime], Awaitable[None]]
# What of a rule a backtest replays: frozen into a job when it is submitted.
DEFINITION_FIELDS = (
    "name",
    "rule_type",
    "severity",
    "trigger_event_types",
    "condition",
    "dedup_key",
    "cooldown_seconds",
)


def rule_of_definition(
    definition: Mapping[str, Any], *, rule_id: uuid.UUID | None, version: int | None
) -> ActiveRule:
    return ActiveRule.build(
        id=rule_id or DRAFT_RULE_ID,
        version=version or 0,
        **{name: definition[name] for name in DEFINITION_FIELDS},
    )


async def replay_history(
    session: AsyncSession,
    rule: ActiveRule,
    *,
    start: datetime,
    end: datetime,
    after_page: PageHook | None = None,
    page_size: int = 5_000,
    end_transactions: bool = False,
) -> BacktestResult:
    """Replay [warm-up start, end) through `rule`, read-only. With `end_transactions` the
    session's read transaction ends after each page, so a long replay holds no snapshot."""
    dispositions = [
        Disposition(*row) for row in await repository.dispositioned_alerts(session, start, end)
    ]
    backtester = Backtester(
        rule,
        start=start,
        end=end,
        lists=await repository.all_list_values(session),
        dispositions=dispositions,
    )
    async for records in repository.history_chunks(
        session, warm_up_start(rule, start), end, chunk_size=page_size
    ):
        backtester.feed(
            history_input(r.event_id, r.event_type, r.customer_id, r.occurred_at, r.context)
            for r in records
        )
        if end_transactions:
            await session.rollback()
        if after_page is not None:
            await after_page(backtester.result, records[-1].occurred_at)
    return backtester.finish()


def backtest_out(
    rule: ActiveRule, result: BacktestResult, *, start: datetime, end: datetime, draft: bool
) -> BacktestOut:
    return BacktestOut(
        rule_id=None if draft else rule.id,
        rule_version=None if draft else rule.version,
        condition=rule.compiled.source,
        start=start,
        end=end,
        events_replayed=result.events_replayed,
        events_evaluated=result.events_evaluated,
        matches=result.matches,
        alerts=result.alerts,
        occurrences=result.occurrences,
        alerts_per_day=[DayCount(day=d, alerts=n) for d, n in result.alerts_per_day.items()],
        samples=result.samples,
        labelled=result.labelled,
        true_positives=result.true_positives,
        false_positives=result.false_positives,
        precision=result.precision,
    )
