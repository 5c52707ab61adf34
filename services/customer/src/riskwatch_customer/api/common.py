"""What the route modules share: declared error responses and the dependencies (identity,
settings, the intake's resources, a page's cursor and limit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from riskwatch_customer.config import Settings
from riskwatch_customer.errors import InvalidRecord
from riskwatch_customer.runtime import Intake, intake_of
from riskwatch_shared.app import get_identity, get_runtime
from riskwatch_shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidCursor, decode_cursor
from riskwatch_shared.security import Identity

PROBLEMS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not allowed (problem+json)"},
    404: {"description": "Not found (problem+json)"},
    422: {"description": "Invalid input, with per-field `errors` (problem+json)"},
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    409: {"description": "Conflict (problem+json)"},
}
REPLAYED_HEADER = "Idempotent-Replayed"


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in its
# thread pool, a thread hop per dependency per request, a large share of the CPU that the
# single-transaction intake costs.


async def caller_identity(request: Request) -> Identity:
    """The gateway-signed caller: the shared check (which verifies a token once until it
    expires), without the thread-pool hop."""
    return get_identity(request)


async def intake_dependency(request: Request) -> Intake:
    return intake_of(get_runtime(request))


async def service_settings(request: Request) -> Settings:
    settings = get_runtime(request).settings
    assert isinstance(settings, Settings)
    return settings


IdentityDep = Annotated[Identity, Depends(caller_identity)]
SettingsDep = Annotated[Settings, Depends(service_settings)]
IntakeDep = Annotated[Intake, Depends(intake_dependency)]


@dataclass(frozen=True)
class PageParams:
    cursor: str | None
    limit: int


async def page_params(
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> PageParams:
    """`cursor` (opaque, from `next_cursor`) and `limit` of a paginated list."""
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except InvalidCursor as exc:
            raise InvalidRecord(
                "cursor is not valid",
                errors=[{"loc": ["query", "cursor"], "msg": str(exc), "type": "cursor"}],
            ) from exc
    return PageParams(cursor, limit)


PageDep = Annotated[PageParams, Depends(page_params)]
