"""Shadow runs: start and stop them (managers; audited in the rule's history) and compare a
shadow version with the live one. The event path's side is `pipeline` + `store`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import repository, rule_governance
from riskwatch_alerting.domain.backtest import Disposition, DispositionLabels
from riskwatch_alerting.domain.evaluation import ActiveRule
from riskwatch_alerting.domain.shadow import (
    MAX_RUNNING_SHADOWS,
    ComparedDay,
    VersionDay,
    compare_by_day,
    days_between,
    shadow_hit_records,
    totals,
    version_rule,
)
from riskwatch_alerting.errors import (
    InvalidCondition,
    InvalidQuery,
    ProposalNotPending,
    RuleNotFound,
    RuleVersionNotFound,
    ShadowLimitReached,
    ShadowRunNotFound,
)
from riskwatch_alerting.models import ShadowRun
from riskwatch_alerting.rule_governance import Approver
from riskwatch_alerting.rules import RuleError
from riskwatch_alerting.shadow import store
from riskwatch_alerting.shadow.schemas import (
    ComparedCounts,
    ComparedDayOut,
    ShadowComparisonOut,
    ShadowHitOut,
    ShadowHitPage,
    ShadowRunOut,
    VersionCounts,
)
from riskwatch_shared.pagination import InvalidCursor, cursor_after, encode_cursor

LABEL_WINDOW = timedelta(hours=24)


async def start(
    session: AsyncSession, proposal_id: uuid.UUID, *, approver: Approver
) -> tuple[ShadowRun, bool]:
    """Put a pending proposal's version in shadow; (its run, whether it was started now: a
    second start returns the running one)."""
    proposal = await rule_governance.get_proposal(session, proposal_id, for_update=True)
    if proposal.status != rule_governance.PENDING:
        raise ProposalNotPending(f"proposal {proposal_id} is {proposal.status}: nothing to shadow")
    running = await store.running_of_proposal(session, proposal_id)
    if running is not None:
        return running, False
    if await store.count_running(session) >= MAX_RUNNING_SHADOWS:
        raise ShadowLimitReached(
            f"{MAX_RUNNING_SHADOWS} shadow runs are running; stop one before starting another"
        )
    await _compiled(session, proposal.rule_id, proposal.version)
    run = ShadowRun(
        id=uuid.uuid4(),
        proposal_id=proposal.id,
        rule_id=proposal.rule_id,
        version=proposal.version,
        status=store.RUNNING,
        started_by=approver.subject,
        started_at=datetime.now(UTC),
        hit_count=0,
    )
    session.add(run)
    rule_governance.audit(
        session,
        proposal.rule_id,
        "shadow_started",
        actor=approver.subject,
        roles=approver.roles,
        version=proposal.version,
        proposal_id=proposal.id,
    )
    # The consumers reload their rules (and with them the running shadows) at their next batch.
    await repository.bump_cache_version(session, repository.RULES_CACHE)
    await session.flush()
    return run, True


async def start_set(
    session: AsyncSession, proposal_ids: Sequence[uuid.UUID], *, approver: Approver
) -> list[ShadowRun]:
    """Several proposals in shadow together: all of them, or (an error) none."""
    return [
        (await start(session, proposal_id, approver=approver))[0]
        for proposal_id in dict.fromkeys(proposal_ids)
    ]


async def stop(session: AsyncSession, proposal_id: uuid.UUID, *, approver: Approver) -> ShadowRun:
    """Stop the proposal's shadow (idempotent: a stopped one is returned as it is)."""
    await rule_governance.get_proposal(session, proposal_id, for_update=True)
    await rule_governance.stop_shadow(
        session, proposal_id, reason="stopped", actor=approver.subject, roles=approver.roles
    )
    return await latest(session, proposal_id=proposal_id)


async def latest(
    session: AsyncSession, *, proposal_id: uuid.UUID | None = None, rule_id: uuid.UUID | None = None
) -> ShadowRun:
    """A proposal's (or rule's) running shadow, else its last; 404 for an unknown proposal or
    rule, or one never in shadow."""
    if proposal_id is not None:
        await rule_governance.get_proposal(session, proposal_id)
    if rule_id is not None and await repository.get_rule(session, rule_id) is None:
        raise RuleNotFound(f"no rule {rule_id}")
    run = await store.latest_run(session, proposal_id=proposal_id, rule_id=rule_id)
    if run is None:
        raise ShadowRunNotFound("no shadow run: start one with POST /v1/rule-proposals/{id}/shadow")
    await session.refresh(run)  # a stop in this transaction changed the row in SQL
    return run


async def hits(
    session: AsyncSession, proposal_id: uuid.UUID, *, cursor: str | None, limit: int
) -> ShadowHitPage:
    """The proposal's last shadow run's would-be hits, in event order."""
    run = await latest(session, proposal_id=proposal_id)
    after = None
    if cursor is not None:
        try:
            after = cursor_after(cursor, int)
        except InvalidCursor as exc:
            raise InvalidQuery(str(exc), parameter="cursor") from exc
    page = await store.hits_page(session, run.id, after=after, limit=limit + 1)
    more = len(page) > limit
    items = [ShadowHitOut.model_validate(hit) for hit in page[:limit]]
    last = page[limit - 1] if more else None
    return ShadowHitPage(
        items=items, next_cursor=None if last is None else encode_cursor(last.occurred_at, last.id)
    )


async def _compiled(session: AsyncSession, rule_id: uuid.UUID, version: int) -> ActiveRule:
    found = await repository.get_version(session, rule_id, version)
    if found is None:
        raise RuleVersionNotFound(f"rule {rule_id} has no version {version}")
    try:
        return version_rule(rule_id, version, found.snapshot)
    except RuleError as exc:  # checked when proposed; only a catalogue change gets here
        raise InvalidCondition.from_rule_error(exc) from exc


# --- the comparison ---------------------------------------------------------------------------


async def comparison(
    session: AsyncSession, run: ShadowRun, *, days: int, now: datetime
) -> ShadowComparisonOut:
    """The last `days` UTC days (today included) of the run, per day: both versions' hits,
    alerts, overlap and precision against dispositioned alerts."""
    rule = await repository.get_rule(session, run.rule_id)
    if rule is None:
        raise RuleNotFound(f"no rule {run.rule_id}")
    shadow = await _compiled(session, run.rule_id, run.version)
    first_day = datetime.combine(now.date() - timedelta(days=days - 1), time(), tzinfo=UTC)
    start = max(first_day, run.started_at)
    end = max(start, min(now, run.stopped_at or now))
    # Replayed from the shadow's start, so its would-be alerts are those of its whole run.
    stored = await store.shadow_hits(session, run.id, run.started_at, end)
    dispositions = await repository.dispositioned_alerts(
        session, start - LABEL_WINDOW, end + LABEL_WINDOW
    )
    compared = compare_by_day(
        days_between(start, end),
        active=await store.live_hits(session, run.rule_id, start, end),
        shadow=[h for h in shadow_hit_records(shadow, stored) if h.occurred_at >= start],
        labels=DispositionLabels((Disposition(*row) for row in dispositions), LABEL_WINDOW),
    )
    return ShadowComparisonOut(
        rule_id=rule.id,
        rule_name=rule.name,
        active_version=rule.version if rule.status == "active" else None,
        shadow_version=run.version,
        run=ShadowRunOut.model_validate(run),
        start=start,
        end=end,
        totals=_counts(totals(compared)),
        days=[ComparedDayOut(day=day.day, **_counts(day).model_dump()) for day in compared],
    )


def _counts(day: ComparedDay) -> ComparedCounts:
    return ComparedCounts(
        active=_version(day.active),
        shadow=_version(day.shadow),
        overlap_events=day.overlap_events,
        overlap_customers=day.overlap_customers,
        only_active=day.only_active,
        only_shadow=day.only_shadow,
    )


def _version(version: VersionDay) -> VersionCounts:
    return VersionCounts(
        hits=version.hits,
        alerts=version.alerts,
        labelled=version.labelled,
        true_positives=version.true_positives,
        false_positives=version.false_positives,
        precision=version.precision,
    )
