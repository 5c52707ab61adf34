"""Routes: configuration as code, scoring's section (the model registry's metadata); admins
only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from riskwatch_scoring import configuration
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.config_bundle import canonical_bytes, section_document
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
