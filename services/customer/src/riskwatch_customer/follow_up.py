"""An alert's follow-up on the customer's record: contacts become interactions, risk-control
measures are recorded (and lifted) on the customer and announced to the rest of the system.

Both arrive as alerting events, at least once: a contact's id is its interaction's id and a
measure's id its row's id, so a re-delivered event changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_customer import repository, views
from riskwatch_customer.domain import audit
from riskwatch_customer.errors import MeasureNotFound
from riskwatch_customer.models import Account, Interaction, RiskMeasure
from riskwatch_customer.permissions import MEASURE_ROLES, require_role
from riskwatch_customer.schemas import RiskMeasureOut
from riskwatch_customer.service import record_audit, visible_customer
from riskwatch_shared.events.alerting import CustomerContacted, RiskMeasureTaken
from riskwatch_shared.events.base import utcnow
from riskwatch_shared.events.common import RiskMeasureData
from riskwatch_shared.events.customer import AccountChanged, InteractionLogged, RiskMeasureRecorded
from riskwatch_shared.logging import get_logger
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.security import SYSTEM_IDENTITY, Identity

log = get_logger(__name__)

SUMMARY_LIMIT = 5_000


def contact_summary(event: CustomerContacted) -> str:
    """The interaction's summary: the note, or what the contact was about (pure)."""
    about = f"Contact about alert: {event.alert_title}" if event.alert_title else "Alert contact"
    text = event.note if event.note else about
    return text[:SUMMARY_LIMIT]


def _actor(subject: str | None) -> Identity:
    """Audit entries name the person who acted on the alert (as a service identity)."""
    if not subject:
        return SYSTEM_IDENTITY
    return Identity(subject=subject, kind="service", roles=("system",))


async def record_contact(event: CustomerContacted, session: AsyncSession) -> None:
    """The contact as an interaction on the customer's record (and `interaction_logged.v1`)."""
    customer = await repository.get_customer(session, event.customer_id)
    if customer is None:
        log.warning("follow_up.contact_unknown_customer", alert_id=str(event.alert_id))
        return
    if await session.get(Interaction, event.contact_id) is not None:
        return  # already filed
    now = utcnow()
    interaction = Interaction(
        id=event.contact_id,
        customer_id=customer.id,
        channel=event.channel,
        direction="outbound",
        summary=contact_summary(event),
        outcome=None,
        staff_member=event.actor[:120],
        staff_name=(event.actor_name or "")[:200] or None,
        alert_id=event.alert_id,
        occurred_at=event.contacted_at,
        created_at=now,
    )
    session.add(interaction)
    await session.flush()
    await record_audit(
        session,
        identity=_actor(event.actor),
        customer_id=customer.id,
        entity_type="interaction",
        entity_id=interaction.id,
        action="created",
        changes=audit.created({"channel": event.channel, "alert_id": str(event.alert_id)}),
        at=now,
    )
    await add_events(
        session,
        InteractionLogged(customer_id=customer.id, interaction=views.interaction_data(interaction)),
    )


_MEASURE_FIELDS = (
    "kind",
    "account_id",
    "limit_amount",
    "limit_currency",
    "list_id",
    "list_name",
    "list_value",
    "reason",
    "alert_id",
    "taken_by",
    "taken_by_name",
    "taken_at",
)


def _trimmed(value: Any, limit: int) -> Any:
    return value[:limit] if isinstance(value, str) else value


async def record_measure(event: RiskMeasureTaken, session: AsyncSession) -> None:
    """The measure on the customer's record; a frozen account's status becomes `frozen`."""
    customer = await repository.get_customer(session, event.customer_id)
    if customer is None:
        log.warning("follow_up.measure_unknown_customer", alert_id=str(event.alert_id))
        return
    data = event.measure
    if await session.get(RiskMeasure, data.measure_id) is not None:
        return  # already recorded
    now = utcnow()
    fields = {name: getattr(data, name) for name in _MEASURE_FIELDS}
    for name in ("list_name", "list_value", "taken_by", "taken_by_name"):
        fields[name] = _trimmed(fields[name], 200)
    measure = RiskMeasure(
        id=data.measure_id, customer_id=customer.id, status="active", created_at=now, **fields
    )
    session.add(measure)
    await session.flush()
    actor = _actor(data.taken_by)
    await record_audit(
        session,
        identity=actor,
        customer_id=customer.id,
        entity_type="risk_measure",
        entity_id=measure.id,
        action="created",
        changes=audit.created({"kind": data.kind, "alert_id": str(event.alert_id)}),
        at=now,
    )
    events: list[Any] = [
        RiskMeasureRecorded(customer_id=customer.id, measure=measure_data(measure))
    ]
    if data.kind == "freeze_account" and data.account_id is not None:
        account = await _account_of(session, customer.id, data.account_id)
        if account is not None and account.status in ("active", "dormant"):
            events.append(await _set_account_status(session, account, "frozen", actor, now))
    await add_events(session, *events)


async def _account_of(
    session: AsyncSession, customer_id: uuid.UUID, account_id: uuid.UUID
) -> Account | None:
    account = await repository.get_account(session, account_id)
    return account if account is not None and account.customer_id == customer_id else None


async def _set_account_status(
    session: AsyncSession, account: Account, status: str, actor: Identity, now: datetime
) -> AccountChanged:
    before = account.status
    account.status = status
    account.updated_at = now
    await session.flush()
    await record_audit(
        session,
        identity=actor,
        customer_id=account.customer_id,
        entity_type="account",
        entity_id=account.id,
        action="updated",
        changes={"status": {"before": before, "after": status}},
        at=now,
    )
    return AccountChanged(customer_id=account.customer_id, account=views.account_data(account))


def measure_data(measure: RiskMeasure) -> RiskMeasureData:
    return msgspec.convert(
        {**views.measure_out(measure).model_dump(), "measure_id": measure.id}, RiskMeasureData
    )


async def list_measures(
    session: AsyncSession, customer_id: uuid.UUID, *, identity: Identity, active_only: bool
) -> list[RiskMeasureOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    rows = await repository.measures_of(session, customer.id, active_only=active_only)
    return [views.measure_view(row, identity) for row in rows]


async def lift_measure(
    session: AsyncSession,
    customer_id: uuid.UUID,
    measure_id: uuid.UUID,
    *,
    reason: str | None,
    identity: Identity,
) -> RiskMeasureOut:
    """Lift a measure: no longer in force (a frozen account is active again); announced as
    `risk_measure_recorded.v1` with status `lifted`. Lifting a lifted measure changes nothing."""
    require_role(identity, MEASURE_ROLES, "lifting a measure")
    customer = await visible_customer(session, customer_id, identity=identity)
    measure = await repository.get_measure(session, measure_id)
    if measure is None or measure.customer_id != customer.id:
        raise MeasureNotFound(f"no measure {measure_id} on this customer")
    if measure.status == "lifted":
        return views.measure_view(measure, identity)
    now = utcnow()
    measure.status = "lifted"
    measure.lifted_at = now
    measure.lifted_by = identity.subject[:200]
    measure.lift_reason = reason
    await session.flush()
    await record_audit(
        session,
        identity=identity,
        customer_id=customer.id,
        entity_type="risk_measure",
        entity_id=measure.id,
        action="updated",
        changes={"status": {"before": "active", "after": "lifted"}},
        at=now,
    )
    events: list[Any] = [
        RiskMeasureRecorded(customer_id=customer.id, measure=measure_data(measure))
    ]
    if measure.kind == "freeze_account" and measure.account_id is not None:
        still_frozen = await repository.account_frozen_by_other(
            session, measure.account_id, except_measure=measure.id
        )
        account = await _account_of(session, customer.id, measure.account_id)
        if account is not None and account.status == "frozen" and not still_frozen:
            events.append(await _set_account_status(session, account, "active", identity, now))
    await add_events(session, *events)
    return views.measure_view(measure, identity)


def active_kinds(measures: Sequence[RiskMeasure]) -> list[str]:
    return sorted({m.kind for m in measures if m.status == "active"})
