"""Routes: configuration as code, notify's section (teams, recipients, subscriptions,
escalation policies); admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import select

from riskwatch_notify import configuration
from riskwatch_notify.api.common import Limit, errors, require
from riskwatch_notify.config import Settings
from riskwatch_notify.models import ConfigAuditEntry
from riskwatch_shared import roles
from riskwatch_shared.app import IdentityDep, RuntimeDep, SessionDep
from riskwatch_shared.config_bundle import (
    IMPORT_REQUEST,
    ImportMode,
    canonical_bytes,
    import_report,
    import_responses,
    read_capped,
    read_section,
    section_document,
)
from riskwatch_shared.governance import AuditOut
from riskwatch_shared.governance_api import ApproverDep

router = APIRouter(prefix="/config/notify", tags=["configuration"])


@router.get(
    "/export",
    operation_id="notify-config-export",
    responses={
        **errors(),
        200: {
            "description": "A bundle (`riskwatch-config/v1`) holding notify's section, in its "
            "canonical encoding",
            "content": {"application/json": {}},
        },
    },
)
async def export_config(session: SessionDep, identity: IdentityDep) -> Response:
    """Teams, recipients (quiet hours included; no secrets), subscriptions and escalation
    policies as a bundle section: stable ids, a fixed order, no timestamps."""
    require(identity, roles.ADMIN)
    section = await configuration.export_section(session)
    body = canonical_bytes(section_document(configuration.SERVICE, section))
    return Response(body, media_type="application/json")


@router.post(
    "/import",
    operation_id="notify-config-import",
    responses={**errors(409, 413, 422), **import_responses("notify")},
    openapi_extra=IMPORT_REQUEST,
)
async def import_config(
    request: Request,
    session: SessionDep,
    identity: IdentityDep,
    approver: ApproverDep,
    runtime: RuntimeDep,
    mode: Annotated[ImportMode, Query(description="`dry-run` (stores nothing) or `apply`")] = (
        "dry-run"
    ),
) -> dict[str, Any]:
    """Import a bundle's notify section. `dry-run`: per team, recipient, subscription and
    escalation policy, create / change (field by field) / unchanged / left alone (an import
    never deletes), nothing stored. `apply`: in one transaction, teams, recipients and
    subscriptions created or replaced directly (audited), escalation policies as proposals a
    second person approves; a webhook URL the bundle withheld stays as this install has it."""
    require(identity, roles.ADMIN)
    raw = await read_capped(request.stream())
    section = read_section(raw, configuration.SERVICE, configuration.NotifySection)
    settings = runtime.settings
    assert isinstance(settings, Settings)
    diffs = await configuration.import_section(
        session, section, mode=mode, approver=approver, policy=settings.outbound_policy()
    )
    return import_report(configuration.SERVICE, mode, diffs)


class ConfigAuditOut(AuditOut):
    subject: str = Field(description="`<kind>:<key>`, e.g. `team:3f0c...`")


@router.get(
    "/audit",
    operation_id="notify-config-audit",
    response_model=list[ConfigAuditOut],
    responses=errors(),
)
async def config_audit(
    session: SessionDep, identity: IdentityDep, limit: Limit = 100
) -> list[ConfigAuditOut]:
    """What configuration imports changed here directly, newest first: who (with which
    roles), which team, recipient or subscription, and each field's old and new value."""
    require(identity, roles.ADMIN)
    rows = await session.scalars(
        select(ConfigAuditEntry).order_by(ConfigAuditEntry.id.desc()).limit(limit)
    )
    return [ConfigAuditOut.model_validate(row) for row in rows.all()]
