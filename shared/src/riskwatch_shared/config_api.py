"""Routes: configuration as code, one service's section (`/config/<service>/export|import`).

Every service that owns a section of the bundle serves the same two admin-only routes; only
the section's model, how it is read and written, and the routes' descriptions differ. This
factory holds the shared part so the three services cannot drift apart (the size cap, the
strict section check, the canonical encoding, the report's shape).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_shared.app import IdentityDep, RuntimeDep, ServiceRuntime, SessionDep
from riskwatch_shared.config_bundle import (
    IMPORT_REQUEST,
    ImportMode,
    ObjectDiff,
    canonical_bytes,
    import_report,
    import_responses,
    read_capped,
    read_section,
    section_document,
)
from riskwatch_shared.errors import Forbidden
from riskwatch_shared.governance import Approver
from riskwatch_shared.governance_api import ApproverDep
from riskwatch_shared.roles import ADMIN, require_role

SectionT = TypeVar("SectionT", bound=BaseModel)
SectionT_contra = TypeVar("SectionT_contra", bound=BaseModel, contravariant=True)
Responses = dict[int | str, dict[str, Any]]


class SectionImporter(Protocol[SectionT_contra]):
    """A service's import: the diff per object (dry-run) or the diff after applying it."""

    def __call__(
        self,
        session: AsyncSession,
        section: SectionT_contra,
        *,
        mode: ImportMode,
        approver: Approver,
    ) -> Awaitable[Sequence[ObjectDiff]]: ...


def config_router(
    service: str,
    section_model: type[SectionT],
    *,
    export_section: Callable[[AsyncSession], Awaitable[Mapping[str, Any]]],
    importer: Callable[[ServiceRuntime], SectionImporter[SectionT]],
    export_description: str,
    import_description: str,
    export_responses: Responses | None = None,
    import_extra_responses: Responses | None = None,
    forbidden: type[Forbidden] = Forbidden,
) -> APIRouter:
    """The export and import routes of `service`'s section. `importer` gives the service's
    import for this install (a service whose import needs its settings reads them from the
    runtime); `forbidden` is the error a non-admin gets."""
    router = APIRouter(prefix=f"/config/{service}", tags=["configuration"])
    bundle: Responses = {
        200: {
            "description": f"A bundle (`riskwatch-config/v1`) holding {service}'s section, in "
            "its canonical encoding",
            "content": {"application/json": {}},
        },
        403: {"description": "Not an admin (problem+json)"},
    }

    async def export_config(session: SessionDep, identity: IdentityDep) -> Response:
        require_role(identity, ADMIN, action="exporting the configuration", error=forbidden)
        section = await export_section(session)
        body = canonical_bytes(section_document(service, section))
        return Response(body, media_type="application/json")

    async def import_config(
        request: Request,
        session: SessionDep,
        identity: IdentityDep,
        approver: ApproverDep,
        runtime: RuntimeDep,
        mode: Annotated[
            ImportMode, Query(description="`dry-run` (stores nothing) or `apply`")
        ] = "dry-run",
    ) -> dict[str, Any]:
        require_role(identity, ADMIN, action="importing a configuration", error=forbidden)
        raw = await read_capped(request.stream())
        section = read_section(raw, service, section_model)
        diffs = await importer(runtime)(session, section, mode=mode, approver=approver)
        return import_report(service, mode, diffs)

    router.add_api_route(
        "/export",
        export_config,
        methods=["GET"],
        name="export_config",
        operation_id=f"{service}-config-export",
        description=export_description,
        responses={**bundle, **(export_responses or {})},
    )
    router.add_api_route(
        "/import",
        import_config,
        methods=["POST"],
        name="import_config",
        operation_id=f"{service}-config-import",
        description=import_description,
        responses={**(import_extra_responses or {}), **import_responses(service)},
        openapi_extra=IMPORT_REQUEST,
    )
    return router
