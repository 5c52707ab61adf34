"""Routes: configuration as code, scoring's section (the model registry's metadata); admins
only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from riskwatch_scoring import configuration
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
from riskwatch_shared.governance_api import ApproverDep
from riskwatch_shared.roles import ADMIN, require_role

router = APIRouter(prefix="/config/scoring", tags=["configuration"])

BUNDLE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A bundle (`riskwatch-config/v1`) holding scoring's section, in its "
        "canonical encoding",
        "content": {"application/json": {}},
    },
    403: {"description": "Not an admin (problem+json)"},
}


@router.get("/export", operation_id="scoring-config-export", responses=BUNDLE)
async def export_config(session: SessionDep, identity: IdentityDep) -> Response:
    """The model registry's metadata (not the weights) as a bundle section."""
    require_role(identity, ADMIN, action="exporting the configuration")
    section = await configuration.export_section(session)
    body = canonical_bytes(section_document(configuration.SERVICE, section))
    return Response(body, media_type="application/json")


@router.post(
    "/import",
    operation_id="scoring-config-import",
    responses=import_responses("scoring"),
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
    """Import a bundle's scoring section. `dry-run`: per model, create / change / unchanged /
    left alone, nothing stored. `apply`: which registered model serves or shadows becomes a
    proposal a second person approves; a model the bundle retired is retired (audited). A
    model this install has not registered is reported, never created."""
    require_role(identity, ADMIN, action="importing a configuration")
    raw = await read_capped(request.stream())
    section = read_section(raw, configuration.SERVICE, configuration.ScoringSection)
    diffs = await configuration.import_section(session, section, mode=mode, approver=approver)
    return import_report(configuration.SERVICE, mode, diffs)
