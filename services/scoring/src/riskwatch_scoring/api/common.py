"""What the route modules share: declared error responses, who may score, and the
dependencies and parameters (the process's scoring runtime, customer and model ids, a page)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from riskwatch_scoring.runtime import ScoringRuntime, scoring_runtime
from riskwatch_shared.app import get_runtime
from riskwatch_shared.pagination import MAX_LIMIT
from riskwatch_shared.roles import WORKERS

# Core banking's ingest keys push transactions and nothing else (the shared policy table).
SCORERS = WORKERS
MAX_CSV_BYTES = 20 * 1024 * 1024
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (problem+json)"}}
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid input (problem+json)"}}


async def _scoring(request: Request) -> ScoringRuntime:
    return scoring_runtime(get_runtime(request))


ScoringDep = Annotated[ScoringRuntime, Depends(_scoring)]
CustomerId = Annotated[uuid.UUID, Path(description="The customer's id")]
ModelId = Annotated[uuid.UUID, Path(description="The model version's id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]
