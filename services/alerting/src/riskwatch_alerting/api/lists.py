"""Routes: managed lists and their entries."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from riskwatch_alerting import repository, service
from riskwatch_alerting.api.common import CONFLICT, INVALID, NOT_FOUND, actor_of
from riskwatch_alerting.models import ManagedList
from riskwatch_alerting.schemas import (
    BulkLoadOut,
    ListCreate,
    ListEntriesLoad,
    ListEntriesPage,
    ListEntriesRemove,
    ListEntryOut,
    ListOut,
    ListUpdate,
)
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.text import SafeText

router = APIRouter()


# --- managed lists --------------------------------------------------------------------------


async def _list_out(session: SessionDep, managed: ManagedList) -> ListOut:
    count = await repository.count_entries(session, managed.id)
    return ListOut(
        id=managed.id,
        name=managed.name,
        kind=managed.kind,
        description=managed.description,
        entry_count=count,
        created_at=managed.created_at,
        updated_at=managed.updated_at,
        updated_by=managed.updated_by,
    )


@router.get("/lists", operation_id="alerting-lists-list")
async def list_lists(session: SessionDep) -> list[ListOut]:
    """Managed lists (countries, counterparties, accounts, devices) with their sizes."""
    return [
        ListOut(
            id=m.id,
            name=m.name,
            kind=m.kind,
            description=m.description,
            entry_count=count,
            created_at=m.created_at,
            updated_at=m.updated_at,
            updated_by=m.updated_by,
        )
        for m, count in await repository.list_lists(session)
    ]


@router.post(
    "/lists",
    status_code=201,
    operation_id="alerting-lists-create",
    responses={**CONFLICT, **INVALID},
)
async def create_list(body: ListCreate, session: SessionDep, identity: IdentityDep) -> ListOut:
    """Create a managed list, optionally with its first entries."""
    managed = await service.create_list(session, data=body, actor=actor_of(identity))
    out = await _list_out(session, managed)
    return out


@router.get("/lists/{list_id}", operation_id="alerting-lists-get", responses=NOT_FOUND)
async def get_list(list_id: uuid.UUID, session: SessionDep) -> ListOut:
    """One managed list."""
    return await _list_out(session, await service.get_list(session, list_id))


@router.patch("/lists/{list_id}", operation_id="alerting-lists-update", responses=NOT_FOUND)
async def update_list(
    list_id: uuid.UUID, body: ListUpdate, session: SessionDep, identity: IdentityDep
) -> ListOut:
    """Change a list's kind or description."""
    managed = await service.update_list(session, list_id, changes=body, actor=actor_of(identity))
    out = await _list_out(session, managed)
    return out


@router.delete(
    "/lists/{list_id}",
    status_code=204,
    operation_id="alerting-lists-delete",
    responses=NOT_FOUND,
)
async def delete_list(list_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> Response:
    """Delete a list and its entries (rules naming it then never match on it)."""
    await service.delete_list(session, list_id)
    return Response(status_code=204)


@router.get(
    "/lists/{list_id}/entries", operation_id="alerting-lists-entries-list", responses=NOT_FOUND
)
async def list_entries(
    list_id: uuid.UUID,
    session: SessionDep,
    cursor: Annotated[str | None, Query(description="The last value of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    search: Annotated[
        SafeText | None,
        Query(max_length=200, description="Only entries whose value or note contains this"),
    ] = None,
) -> ListEntriesPage:
    """A list's entries in value order, by cursor; `search` finds values and notes (any case)."""
    wanted = search.strip() if search else None
    entries = await service.list_entries_page(
        session, list_id, after=cursor, limit=limit + 1, search=wanted
    )
    page = [ListEntryOut.model_validate(entry) for entry in entries[:limit]]
    total = await repository.total_entries(session, list_id, search=wanted)
    return ListEntriesPage(
        items=page,
        next_cursor=page[-1].value if len(entries) > limit else None,
        **total.fields(),
    )


@router.post(
    "/lists/{list_id}/entries",
    operation_id="alerting-lists-entries-load",
    responses={**NOT_FOUND, **INVALID},
)
async def load_entries(
    list_id: uuid.UUID, body: ListEntriesLoad, session: SessionDep, identity: IdentityDep
) -> BulkLoadOut:
    """Bulk load entries: merge into the list or replace it. A merge says which of the given
    values were in the list already (`already_present`: their note updated, nothing added)."""
    result = await service.load_entries(
        session,
        list_id,
        entries=[(entry.value, entry.note) for entry in body.entries],
        replace=body.mode == "replace",
        actor=actor_of(identity),
    )
    out = await _list_out(session, result.managed)
    await session.flush()
    return BulkLoadOut(
        list=out,
        loaded=result.loaded,
        removed=result.removed,
        added=result.loaded - len(result.already_present),
        already_present=result.already_present,
    )


@router.post(
    "/lists/{list_id}/entries/remove",
    operation_id="alerting-lists-entries-remove",
    responses=NOT_FOUND,
)
async def remove_entries(
    list_id: uuid.UUID, body: ListEntriesRemove, session: SessionDep, identity: IdentityDep
) -> BulkLoadOut:
    """Remove the given values from a list."""
    removed = await service.remove_entries(
        session, list_id, values=body.values, actor=actor_of(identity)
    )
    out = await _list_out(session, await service.get_list(session, list_id))
    await session.flush()
    return BulkLoadOut(list=out, loaded=0, removed=removed)
