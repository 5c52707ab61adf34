"""Routes: configuration as code, notify's section (teams, recipients, subscriptions,
escalation policies); admins only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from riskwatch_notify import configuration
from riskwatch_notify.api.common import errors, require
from riskwatch_shared import roles
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.config_bundle import canonical_bytes, section_document

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
