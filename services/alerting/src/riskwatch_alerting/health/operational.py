"""Operational alerts: a rule firing far above its own baseline, a model drifting. Raised by
the periodic check and by scoring's drift events; deduplicated in the table's unique indexes
(one per subject a day, none while an earlier one is open), so replicas racing each other
raise one; announced on `alerting.operational_alert_raised.v1` for notify to route."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.health import (
    Baseline,
    SpikeThresholds,
    drift_report,
    spike_report,
)
from riskwatch_alerting.errors import OperationalAlertNotFound
from riskwatch_alerting.health import metrics
from riskwatch_alerting.health.schemas import RuleHealthOut
from riskwatch_alerting.health.service import rules_health
from riskwatch_alerting.models import OperationalAlert
from riskwatch_shared.events.alerting import OperationalAlertKind, OperationalAlertRaised
from riskwatch_shared.events.common import Severity
from riskwatch_shared.events.scoring import ModelDriftDetected
from riskwatch_shared.logging import get_logger
from riskwatch_shared.messaging.outbox import add_events

log = get_logger(__name__)
OPEN, ACKNOWLEDGED = "open", "acknowledged"
SEVERITY: Severity = "high"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something detection health found, before it is (or is not) an alert."""

    kind: OperationalAlertKind
    subject_type: Literal["rule", "model"]
    subject_id: str
    subject_name: str
    title: str
    report: str
    figures: dict[str, float]
    owners: list[str] = field(default_factory=list)
    owner_team: str | None = None


async def raise_alert(
    session: AsyncSession, finding: Finding, *, now: datetime
) -> OperationalAlert | None:
    """The new alert, or None: an open one of the subject takes the new figures instead, and
    one already raised today (acknowledged since) keeps the day quiet."""
    statement = (
        select(OperationalAlert)
        .where(
            OperationalAlert.kind == finding.kind,
            OperationalAlert.subject_id == finding.subject_id,
            OperationalAlert.status == OPEN,
        )
        .with_for_update()
    )
    open_alert = (await session.execute(statement)).scalar_one_or_none()
    if open_alert is not None:
        open_alert.figures, open_alert.report = finding.figures, finding.report
        open_alert.last_seen_at = now
        open_alert.repeats += 1
        return None
    alert_id = uuid.uuid4()
    inserted = await session.execute(
        insert(OperationalAlert)
        .values(
            id=alert_id,
            kind=finding.kind,
            subject_type=finding.subject_type,
            subject_id=finding.subject_id,
            subject_name=finding.subject_name[:200],
            severity=SEVERITY,
            status=OPEN,
            title=finding.title[:300],
            report=finding.report,
            figures=finding.figures,
            owners=finding.owners,
            owner_team=finding.owner_team,
            day=now.astimezone(UTC).date(),
            raised_at=now,
            last_seen_at=now,
            repeats=0,
        )
        .on_conflict_do_nothing()
        .returning(OperationalAlert.id)
    )
    if inserted.scalar_one_or_none() is None:
        return None
    alert = await get(session, alert_id)
    await add_events(
        session,
        OperationalAlertRaised(
            operational_alert_id=alert.id,
            kind=finding.kind,
            subject_type=finding.subject_type,
            subject_id=finding.subject_id,
            subject_name=alert.subject_name,
            severity=SEVERITY,
            title=alert.title,
            report=alert.report,
            figures=finding.figures,
            owners=finding.owners,
            owner_team=finding.owner_team,
            raised_at=now,
        ),
    )
    metrics.OPERATIONAL_ALERTS.labels(kind=finding.kind).inc()
    log.warning("health.operational_alert", kind=finding.kind, subject_id=finding.subject_id)
    return alert


def spike_finding(health: RuleHealthOut) -> Finding:
    baseline = Baseline(health.baseline_per_day, health.baseline_days)
    ratio = health.baseline_ratio or 0.0
    return Finding(
        kind="rule_spike",
        subject_type="rule",
        subject_id=str(health.rule_id),
        subject_name=health.name,
        title=f"Rule '{health.name}' fires {ratio:.1f}x its baseline",
        report=spike_report(health.name, health.alerts_last_24h, baseline),
        figures={
            "alerts_last_24h": float(health.alerts_last_24h),
            "baseline_per_day": float(health.baseline_per_day or 0.0),
            "baseline_ratio": round(ratio, 3),
        },
        owners=[health.owner],
        owner_team=health.owner_team,
    )


async def check_rules(
    session: AsyncSession, *, now: datetime, thresholds: SpikeThresholds = SpikeThresholds()
) -> list[OperationalAlert]:
    """The periodic check: every active rule's health into the metrics, and an operational
    alert for each spike (deduplicated)."""
    found = await rules_health(session, now=now, status="active", thresholds=thresholds)
    metrics.record_rules(found)
    raised = []
    for health in found:
        if health.spiking:
            alert = await raise_alert(session, spike_finding(health), now=now)
            if alert is not None:
                raised.append(alert)
    return raised


async def take_in_drift(
    session: AsyncSession, events: Sequence[ModelDriftDetected], *, now: datetime | None = None
) -> list[OperationalAlert]:
    """Scoring's drift events (at most one a model a day) as operational alerts."""
    raised = []
    for event in events:
        name = f"{event.model_kind} {event.model_version or event.model_id}"
        finding = Finding(
            kind="model_drift",
            subject_type="model",
            subject_id=str(event.model_id),
            subject_name=name,
            title=f"Model {name} drifted (PSI {event.psi:.3f})",
            report=drift_report(
                event.model_kind,
                event.model_version or str(event.model_id),
                event.psi,
                event.threshold,
            ),
            figures={"psi": event.psi, "threshold": event.threshold},
            owners=list(event.owners),
        )
        alert = await raise_alert(session, finding, now=now or datetime.now(UTC))
        if alert is not None:
            raised.append(alert)
    return raised


async def get(session: AsyncSession, alert_id: uuid.UUID) -> OperationalAlert:
    alert = await session.get(OperationalAlert, alert_id)
    if alert is None:
        raise OperationalAlertNotFound(f"operational alert {alert_id} not found")
    return alert


async def list_alerts(
    session: AsyncSession, *, status: str | None, kind: str | None, limit: int
) -> Sequence[OperationalAlert]:
    statement = select(OperationalAlert).order_by(
        OperationalAlert.raised_at.desc(), OperationalAlert.id
    )
    if status is not None:
        statement = statement.where(OperationalAlert.status == status)
    if kind is not None:
        statement = statement.where(OperationalAlert.kind == kind)
    return (await session.execute(statement.limit(limit))).scalars().all()


async def acknowledge(
    session: AsyncSession, alert_id: uuid.UUID, *, actor: str, comment: str | None, now: datetime
) -> OperationalAlert:
    """Open -> acknowledged (a retry finds it acknowledged and changes nothing)."""
    alert = await session.get(OperationalAlert, alert_id, with_for_update=True)
    if alert is None:
        raise OperationalAlertNotFound(f"operational alert {alert_id} not found")
    if alert.status == OPEN:
        alert.status, alert.acknowledged_at = ACKNOWLEDGED, now
        alert.acknowledged_by, alert.comment = actor, comment
        await session.flush()
    return alert
