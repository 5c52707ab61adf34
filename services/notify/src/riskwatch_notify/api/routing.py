"""Routes managing who hears of what: recipients, teams, subscriptions, escalation policies."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from riskwatch_notify import policy_governance, repository, service
from riskwatch_notify.api.common import MANAGERS, READERS, Limit, errors, require
from riskwatch_notify.api.policy_proposals import policy_proposal_out
from riskwatch_notify.config import Settings
from riskwatch_notify.schemas import (
    DeliveryOut,
    EscalationPolicyIn,
    EscalationPolicyOut,
    EscalationPolicyProposalOut,
    RecipientIn,
    RecipientOut,
    SubscriptionIn,
    SubscriptionOut,
    TeamIn,
    TeamOut,
    TestSendIn,
)
from riskwatch_shared.app import IdentityDep, RuntimeDep, SessionDep
from riskwatch_shared.governance import AuditOut
from riskwatch_shared.governance_api import ApproverDep
from riskwatch_shared.netguard import OutboundPolicy
from riskwatch_shared.risk import RiskLevelName

router = APIRouter()


def _policy(settings: object) -> OutboundPolicy:
    assert isinstance(settings, Settings)
    return settings.outbound_policy()


# ---------------------------------------------------------------- recipients


@router.post(
    "/recipients",
    operation_id="notify-recipients-create",
    response_model=RecipientOut,
    status_code=201,
    responses=errors(404, 409, 422),
)
async def create_recipient(
    body: RecipientIn, session: SessionDep, identity: IdentityDep, runtime: RuntimeDep
) -> RecipientOut:
    """Add a recipient; a webhook URL must be one the outbound guard allows (else 422)."""
    require(identity, MANAGERS)
    out = await service.create_recipient(session, body=body, policy=_policy(runtime.settings))
    return out


@router.get(
    "/recipients",
    operation_id="notify-recipients-list",
    response_model=list[RecipientOut],
    responses=errors(),
)
async def list_recipients(
    session: SessionDep,
    identity: IdentityDep,
    team_id: Annotated[uuid.UUID | None, Query(description="Only members of this team")] = None,
    after: Annotated[uuid.UUID | None, Query(description="Last id of the previous page")] = None,
    limit: Limit = 100,
) -> list[RecipientOut]:
    """List recipients, by id."""
    require(identity, READERS)
    return await service.list_recipients(session, team_id=team_id, after=after, limit=limit)


@router.get(
    "/recipients/{recipient_id}",
    operation_id="notify-recipients-get",
    response_model=RecipientOut,
    responses=errors(404),
)
async def get_recipient(
    recipient_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> RecipientOut:
    """One recipient."""
    require(identity, READERS)
    return await service.get_recipient(session, recipient_id=recipient_id)


@router.put(
    "/recipients/{recipient_id}",
    operation_id="notify-recipients-replace",
    response_model=RecipientOut,
    responses=errors(404, 409, 422),
)
async def replace_recipient(
    recipient_id: uuid.UUID,
    body: RecipientIn,
    session: SessionDep,
    identity: IdentityDep,
    runtime: RuntimeDep,
) -> RecipientOut:
    """Replace a recipient; a webhook URL must be one the outbound guard allows (else 422)."""
    require(identity, MANAGERS)
    out = await service.replace_recipient(
        session, recipient_id=recipient_id, body=body, policy=_policy(runtime.settings)
    )
    return out


@router.delete(
    "/recipients/{recipient_id}",
    operation_id="notify-recipients-delete",
    status_code=204,
    responses=errors(404),
)
async def delete_recipient(
    recipient_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> Response:
    """Remove a recipient."""
    require(identity, MANAGERS)
    await service.delete_recipient(session, recipient_id=recipient_id)
    return Response(status_code=204)


@router.post(
    "/recipients/{recipient_id}/test",
    operation_id="notify-recipients-test-send",
    response_model=DeliveryOut,
    status_code=202,
    responses=errors(404, 409, 422),
)
async def test_send(
    recipient_id: uuid.UUID,
    body: TestSendIn,
    session: SessionDep,
    identity: IdentityDep,
    runtime: RuntimeDep,
) -> DeliveryOut:
    """Send a test message to a recipient on one channel (a manager checks an address works):
    queued like an alert's message, shown in the delivery log; 409 when the recipient has no
    address on that channel, 422 when the outbound guard refuses its webhook URL."""
    require(identity, MANAGERS)
    return await service.test_send(
        session, recipient_id=recipient_id, channel=body.channel, policy=_policy(runtime.settings)
    )


# ---------------------------------------------------------------- teams


@router.post(
    "/teams",
    operation_id="notify-teams-create",
    response_model=TeamOut,
    status_code=201,
    responses=errors(409),
)
async def create_team(body: TeamIn, session: SessionDep, identity: IdentityDep) -> TeamOut:
    """Add a team."""
    require(identity, MANAGERS)
    out = await service.create_team(session, body=body)
    return out


@router.get(
    "/teams", operation_id="notify-teams-list", response_model=list[TeamOut], responses=errors()
)
async def list_teams(session: SessionDep, identity: IdentityDep) -> list[TeamOut]:
    """List teams with their members."""
    require(identity, READERS)
    return await service.list_teams(session)


@router.get(
    "/teams/{team_id}",
    operation_id="notify-teams-get",
    response_model=TeamOut,
    responses=errors(404),
)
async def get_team(team_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> TeamOut:
    """One team."""
    require(identity, READERS)
    return await service.get_team(session, team_id=team_id)


@router.put(
    "/teams/{team_id}",
    operation_id="notify-teams-replace",
    response_model=TeamOut,
    responses=errors(404, 409),
)
async def replace_team(
    team_id: uuid.UUID, body: TeamIn, session: SessionDep, identity: IdentityDep
) -> TeamOut:
    """Rename or describe a team."""
    require(identity, MANAGERS)
    out = await service.replace_team(session, team_id=team_id, body=body)
    return out


@router.delete(
    "/teams/{team_id}", operation_id="notify-teams-delete", status_code=204, responses=errors(404)
)
async def delete_team(team_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> Response:
    """Remove a team (its subscriptions go with it)."""
    require(identity, MANAGERS)
    await service.delete_team(session, team_id=team_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- subscriptions


@router.post(
    "/subscriptions",
    operation_id="notify-subscriptions-create",
    response_model=SubscriptionOut,
    status_code=201,
    responses=errors(404),
)
async def create_subscription(
    body: SubscriptionIn, session: SessionDep, identity: IdentityDep
) -> SubscriptionOut:
    """Route alert types from a minimum severity to a team or a person."""
    require(identity, MANAGERS)
    row = await service.create_subscription(session, body=body)
    await session.flush()
    return SubscriptionOut.model_validate(row)


@router.get(
    "/subscriptions",
    operation_id="notify-subscriptions-list",
    response_model=list[SubscriptionOut],
    responses=errors(),
)
async def list_subscriptions(
    session: SessionDep,
    identity: IdentityDep,
    team_id: Annotated[uuid.UUID | None, Query(description="Only this team's")] = None,
    recipient_id: Annotated[uuid.UUID | None, Query(description="Only this person's")] = None,
) -> list[SubscriptionOut]:
    """List subscriptions."""
    require(identity, READERS)
    rows = await repository.list_subscriptions(session, team_id=team_id, recipient_id=recipient_id)
    return [SubscriptionOut.model_validate(row) for row in rows]


@router.get(
    "/subscriptions/{subscription_id}",
    operation_id="notify-subscriptions-get",
    response_model=SubscriptionOut,
    responses=errors(404),
)
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> SubscriptionOut:
    """One subscription."""
    require(identity, READERS)
    return SubscriptionOut.model_validate(
        await service.get_subscription(session, subscription_id=subscription_id)
    )


@router.put(
    "/subscriptions/{subscription_id}",
    operation_id="notify-subscriptions-replace",
    response_model=SubscriptionOut,
    responses=errors(404),
)
async def replace_subscription(
    subscription_id: uuid.UUID, body: SubscriptionIn, session: SessionDep, identity: IdentityDep
) -> SubscriptionOut:
    """Replace a subscription."""
    require(identity, MANAGERS)
    row = await service.replace_subscription(session, subscription_id=subscription_id, body=body)
    await session.flush()
    return SubscriptionOut.model_validate(row)


@router.delete(
    "/subscriptions/{subscription_id}",
    operation_id="notify-subscriptions-delete",
    status_code=204,
    responses=errors(404),
)
async def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> Response:
    """Remove a subscription."""
    require(identity, MANAGERS)
    await service.delete_subscription(session, subscription_id=subscription_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- escalation policies


@router.get(
    "/escalation-policies",
    operation_id="notify-escalation-policies-list",
    response_model=list[EscalationPolicyOut],
    responses=errors(),
)
async def list_policies(session: SessionDep, identity: IdentityDep) -> list[EscalationPolicyOut]:
    """Escalation policies, one per severity."""
    require(identity, READERS)
    return await service.list_policies(session)


@router.put(
    "/escalation-policies/{severity}",
    operation_id="notify-escalation-policies-put",
    response_model=EscalationPolicyProposalOut,
    status_code=202,
    responses=errors(404),
)
async def put_policy(
    severity: RiskLevelName,
    body: EscalationPolicyIn,
    session: SessionDep,
    identity: IdentityDep,
    approver: ApproverDep,
) -> EscalationPolicyProposalOut:
    """Propose the policy of a severity (create or replace; checked now). Maker-checker: it
    takes effect once someone else approves (POST /v1/escalation-policy-proposals/{id}/approve);
    the live policy pages unchanged until then."""
    require(identity, MANAGERS)
    proposal = await policy_governance.propose_put(session, severity, body, approver)
    return policy_proposal_out(proposal, approver)


@router.get(
    "/escalation-policies/{severity}",
    operation_id="notify-escalation-policies-get",
    response_model=EscalationPolicyOut,
    responses=errors(404),
)
async def get_policy(
    severity: RiskLevelName, session: SessionDep, identity: IdentityDep
) -> EscalationPolicyOut:
    """The policy of one severity."""
    require(identity, READERS)
    return await service.get_policy(session, severity=severity)


@router.delete(
    "/escalation-policies/{severity}",
    operation_id="notify-escalation-policies-delete",
    response_model=EscalationPolicyProposalOut,
    status_code=202,
    responses=errors(404),
)
async def delete_policy(
    severity: RiskLevelName, session: SessionDep, identity: IdentityDep, approver: ApproverDep
) -> EscalationPolicyProposalOut:
    """Propose removing the policy of one severity; it stays until someone else approves."""
    require(identity, MANAGERS)
    proposal = await policy_governance.propose_delete(session, severity, approver)
    return policy_proposal_out(proposal, approver)


@router.get(
    "/escalation-policies/{severity}/history",
    operation_id="notify-escalation-policies-history",
    response_model=list[AuditOut],
    responses=errors(),
)
async def policy_history(
    severity: RiskLevelName, session: SessionDep, identity: IdentityDep
) -> list[AuditOut]:
    """Every governance step of a severity's policy: proposed, superseded, approved (and how),
    rejected."""
    require(identity, READERS)
    entries = await policy_governance.history(session, severity)
    return [AuditOut.model_validate(entry) for entry in entries]
