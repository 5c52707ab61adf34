"""Routes: managed lists and their entries."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from riskwatch_alerting import list_governance, repository, service
from riskwatch_alerting.api.common import CONFLICT, INVALID, NOT_FOUND
from riskwatch_alerting.api.list_proposals import list_proposal_out
from riskwatch_alerting.models import ListProposal, ManagedList
from riskwatch_alerting.schemas import (
    BulkLoadOut,
    ListCreate,
    ListEntriesLoad,
    ListEntriesPage,
    ListEntriesRemove,
    ListEntryOut,
    ListOut,
    ListProposalOut,
    ListUpdate,
)
from riskwatch_shared.app import SessionDep
from riskwatch_shared.governance import Approver, AuditOut
from riskwatch_shared.governance_api import ApproverDep
from riskwatch_shared.text import SafeText

router = APIRouter()


# --- managed lists --------------------------------------------------------------------------

# A write to a list an active rule names is a proposal (maker-checker): 202 with it.
PROPOSED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ListProposalOut,
        "description": "An active rule names the list: the change is a proposal that someone "
        "else approves (POST /v1/list-proposals/{id}/approve)",
    }
}


def _proposed(proposal: ListProposal, approver: Approver) -> JSONResponse:
    return JSONResponse(
        status_code=202, content=list_proposal_out(proposal, approver).model_dump(mode="json")
    )


def _out(managed: ManagedList, count: int, pending: int) -> ListOut:
    return ListOut(
        id=managed.id,
        name=managed.name,
        kind=managed.kind,
        description=managed.description,
        entry_count=count,
        created_at=managed.created_at,
        updated_at=managed.updated_at,
        updated_by=managed.updated_by,
        pending_proposals=pending,
    )


async def _list_out(session: SessionDep, managed: ManagedList) -> ListOut:
    count = await repository.count_entries(session, managed.id)
    pending = await list_governance.LISTS.pending_counts(session)
    return _out(managed, count, pending.get(str(managed.id), 0))


@router.get("/lists", operation_id="alerting-lists-list")
async def list_lists(session: SessionDep) -> list[ListOut]:
    """Managed lists (countries, counterparties, accounts, devices) with their sizes."""
    pending = await list_governance.LISTS.pending_counts(session)
    return [
        _out(m, count, pending.get(str(m.id), 0))
        for m, count in await repository.list_lists(session)
    ]


@router.post(
    "/lists",
    status_code=201,
    operation_id="alerting-lists-create",
    responses={**CONFLICT, **INVALID},
)
async def create_list(body: ListCreate, session: SessionDep, approver: ApproverDep) -> ListOut:
    """Create a managed list, optionally with its first entries. When an active rule already
    names it, the entries are a proposal (`pending_proposals`) and the list starts empty."""
    managed, _ = await list_governance.create(session, body, approver)
    out = await _list_out(session, managed)
    return out


@router.get("/lists/{list_id}", operation_id="alerting-lists-get", responses=NOT_FOUND)
async def get_list(list_id: uuid.UUID, session: SessionDep) -> ListOut:
    """One managed list."""
    return await _list_out(session, await service.get_list(session, list_id))


@router.patch(
    "/lists/{list_id}",
    operation_id="alerting-lists-update",
    response_model=ListOut,
    responses={**NOT_FOUND, **PROPOSED},
)
async def update_list(
    list_id: uuid.UUID, body: ListUpdate, session: SessionDep, approver: ApproverDep
) -> ListOut | JSONResponse:
    """Change a list's kind or description (a proposal when an active rule names it)."""
    proposal = await list_governance.update(session, list_id, body, approver)
    if proposal is not None:
        return _proposed(proposal, approver)
    out = await _list_out(session, await service.get_list(session, list_id))
    return out


@router.delete(
    "/lists/{list_id}",
    status_code=204,
    operation_id="alerting-lists-delete",
    responses={**NOT_FOUND, **PROPOSED},
)
async def delete_list(list_id: uuid.UUID, session: SessionDep, approver: ApproverDep) -> Response:
    """Delete a list and its entries; when an active rule names it, a proposal (the rule would
    never match on it again)."""
    proposal = await list_governance.delete(session, list_id, approver)
    if proposal is not None:
        return _proposed(proposal, approver)
    return Response(status_code=204)


@router.get(
    "/lists/{list_id}/history",
    operation_id="alerting-lists-history",
    response_model=list[AuditOut],
    responses=NOT_FOUND,
)
async def list_history(list_id: uuid.UUID, session: SessionDep) -> list[AuditOut]:
    """Every step of the list: created, applied (no active rule named it), proposed,
    approved (and how), rejected, superseded; kept after the list is deleted."""
    entries = await list_governance.history(session, list_id)
    return [AuditOut.model_validate(entry) for entry in entries]


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
    response_model=BulkLoadOut,
    responses={**NOT_FOUND, **INVALID, **PROPOSED},
)
async def load_entries(
    list_id: uuid.UUID, body: ListEntriesLoad, session: SessionDep, approver: ApproverDep
) -> BulkLoadOut | JSONResponse:
    """Bulk load entries: merge into the list or replace it (a proposal when an active rule
    names the list). A merge says which of the given values the list held already
    (`already_present`: their note updated, nothing added)."""
    entries = [(entry.value, entry.note) for entry in body.entries]
    unique = dict(entries)
    before = await repository.count_entries(session, list_id)
    present = (
        await repository.present_values(session, list_id, list(unique))
        if body.mode == "merge"
        else set()
    )
    proposal = await list_governance.load(session, list_id, entries, body.mode, approver)
    if proposal is not None:
        return _proposed(proposal, approver)
    out = await _list_out(session, await service.get_list(session, list_id))
    removed = max(0, before - len(unique)) if body.mode == "replace" else 0
    already_present = [value for value in unique if value in present]
    return BulkLoadOut(
        list=out,
        loaded=len(unique),
        removed=removed,
        added=len(unique) - len(already_present),
        already_present=already_present,
    )


@router.post(
    "/lists/{list_id}/entries/remove",
    operation_id="alerting-lists-entries-remove",
    response_model=BulkLoadOut,
    responses={**NOT_FOUND, **PROPOSED},
)
async def remove_entries(
    list_id: uuid.UUID, body: ListEntriesRemove, session: SessionDep, approver: ApproverDep
) -> BulkLoadOut | JSONResponse:
    """Remove the given values from a list (a proposal when an active rule names it)."""
    before = await repository.count_entries(session, list_id)
    proposal = await list_governance.remove(session, list_id, body.values, approver)
    if proposal is not None:
        return _proposed(proposal, approver)
    out = await _list_out(session, await service.get_list(session, list_id))
    return BulkLoadOut(list=out, loaded=0, removed=before - out.entry_count)
