"""Routes: configuration as code, alerting's section (rules and managed lists); admins only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from riskwatch_alerting import configuration
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.config_bundle import canonical_bytes, section_document
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
