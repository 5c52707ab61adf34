"""Routes: configuration as code, alerting's section (rules and managed lists); admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from riskwatch_alerting import configuration
from riskwatch_alerting.api.common import ApproverDep
from riskwatch_shared.app import IdentityDep, SessionDep
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
from riskwatch_shared.roles import ADMIN, require_role

router = APIRouter(prefix="/config/alerting", tags=["configuration"])

BUNDLE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A bundle (`riskwatch-config/v1`) holding alerting's section, in its "
        "canonical encoding",
        "content": {"application/json": {}},
    },
    403: {"description": "Not an admin (problem+json)"},
}


@router.get("/export", operation_id="alerting-config-export", responses=BUNDLE)
async def export_config(session: SessionDep, identity: IdentityDep) -> Response:
    """Rules (live definition, message templates, status) and managed lists (with entries)
    as a bundle section: stable ids, a fixed order, no timestamps or authors."""
    require_role(identity, ADMIN, action="exporting the configuration")
    section = await configuration.export_section(session)
    body = canonical_bytes(section_document(configuration.SERVICE, section))
    return Response(body, media_type="application/json")


@router.post(
    "/import",
    operation_id="alerting-config-import",
    responses=import_responses("alerting"),
    openapi_extra=IMPORT_REQUEST,
)
async def import_config(
    request: Request,
    session: SessionDep,
    identity: IdentityDep,
    approver: ApproverDep,
    mode: Annotated[ImportMode, Query(description="`dry-run` (stores nothing) or `apply`")] = (
        "dry-run"
    ),
) -> dict[str, Any]:
    """Import a bundle's alerting section. `dry-run`: per rule and list, create / change
    (field by field) / unchanged / left alone (an import never deletes), nothing stored.
    `apply`: lists created or changed directly (audited); rules as proposals a second person
    approves, a rule the bundle switches off switched off at once (audited)."""
    require_role(identity, ADMIN, action="importing a configuration")
    raw = await read_capped(request.stream())
    section = read_section(raw, configuration.SERVICE, configuration.AlertingSection)
    diffs = await configuration.import_section(session, section, mode=mode, approver=approver)
    return import_report(configuration.SERVICE, mode, diffs)
