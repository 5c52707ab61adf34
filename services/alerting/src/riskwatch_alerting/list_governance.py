"""Maker-checker for managed lists (issue 23): a list that an active rule names is part of
what watches the bank's money, so loading or removing its entries, changing it or deleting it
is a proposal someone other than its author approves; the rules keep matching on the list as
it is while one is pending. A list no active rule names changes at once. Either way every
step is in the list's history (`list_audit`), written in the transaction of the change itself.

Measures taken on an alert (`add_to_list`) are an analyst's response to that alert, recorded on
it, and are not held up here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import repository, service
from riskwatch_alerting.errors import (
    ListNotFound,
    ListProposalNotFound,
    ListProposalNotPending,
    ListSelfApprovalNotAllowed,
)
from riskwatch_alerting.models import ListAuditEntry, ListProposal, ManagedList
from riskwatch_alerting.rules.compiler import compile_rule
from riskwatch_alerting.rules.errors import RuleError
from riskwatch_alerting.schemas import ListCreate, ListUpdate
from riskwatch_shared.db.governance import Governed
from riskwatch_shared.governance import Approver

LISTS: Governed[ListProposal, ListAuditEntry] = Governed(
    proposals=ListProposal,
    audit_entries=ListAuditEntry,
    not_found=ListProposalNotFound,
    not_pending=ListProposalNotPending,
    self_approval=ListSelfApprovalNotAllowed,
    noun="list",
)

# How many values a history entry names (a bulk load of 100,000 is summarised, not copied).
SAMPLE_VALUES = 20


async def active_rules_using(session: AsyncSession, list_name: str) -> list[str]:
    """The names of the active rules whose condition names the list (sorted)."""
    names = []
    for rule in await repository.active_rules(session):
        try:
            lists = compile_rule(rule.condition).lists
        except RuleError:  # an active rule always compiled; an old one that no longer does
            continue  # names no list it could match on
        if list_name in lists:
            names.append(rule.name)
    return sorted(names)


def summary(kind: str, change: dict[str, Any]) -> dict[str, Any]:
    """What the history says of a change: its counts and the first values."""
    if kind == "load":
        values = [entry[0] for entry in change["entries"]]
        return {
            "mode": change["mode"],
            "entries": len(values),
            "values": values[:SAMPLE_VALUES],
        }
    if kind == "remove":
        return {"values_count": len(change["values"]), "values": change["values"][:SAMPLE_VALUES]}
    return change


async def _change(
    session: AsyncSession,
    managed: ManagedList,
    kind: str,
    change: dict[str, Any],
    approver: Approver,
) -> ListProposal | None:
    """Propose `change` when an active rule names the list (None: apply it now, audited)."""
    used_by = await active_rules_using(session, managed.name)
    if not used_by:
        await _apply(session, managed, kind, change, actor=approver.subject)
        LISTS.audit(
            session,
            str(managed.id),
            "applied",
            actor=approver.subject,
            roles=approver.roles,
            comment=kind,
            detail={**summary(kind, change), "used_by_active_rules": []},
        )
        await session.flush()
        return None
    proposed = {**change, "list_name": managed.name}
    for pending in await LISTS.pending_of(session, str(managed.id)):
        if (pending.kind, pending.change, pending.proposed_by) == (
            kind,
            proposed,
            approver.subject,
        ):
            return pending  # a retry of the same proposal
    return await LISTS.propose(
        session,
        subject=str(managed.id),
        kind=kind,
        change=proposed,
        approver=approver,
        detail={**summary(kind, change), "used_by_active_rules": used_by},
    )


async def _apply(
    session: AsyncSession, managed: ManagedList, kind: str, change: dict[str, Any], *, actor: str
) -> None:
    if kind == "load":
        await service.load_entries(
            session,
            managed.id,
            entries=[(entry[0], entry[1]) for entry in change["entries"]],
            replace=change["mode"] == "replace",
            actor=actor,
        )
    elif kind == "remove":
        await service.remove_entries(session, managed.id, values=change["values"], actor=actor)
    elif kind == "update":
        await service.update_list(
            session, managed.id, changes=ListUpdate.model_validate(change["fields"]), actor=actor
        )
    elif kind == "delete":
        await service.delete_list(session, managed.id)


async def create(
    session: AsyncSession,
    data: ListCreate,
    approver: Approver,
    *,
    list_id: uuid.UUID | None = None,
) -> tuple[ManagedList, ListProposal | None]:
    """A new list. When an active rule already names it, its first entries are a proposal
    (the list is created empty: the rule's matches change only once they are approved).
    `list_id`: the id it has in another install (a configuration import)."""
    used_by = await active_rules_using(session, data.name)
    entries = {entry.value: entry.note for entry in data.entries}
    held = bool(used_by and entries)
    managed = await service.create_list(
        session,
        data=data.model_copy(update={"entries": []}) if held else data,
        actor=approver.subject,
        list_id=list_id,
    )
    LISTS.audit(
        session,
        str(managed.id),
        "created",
        actor=approver.subject,
        roles=approver.roles,
        detail={
            "name": managed.name,
            "kind": managed.kind,
            "entries": 0 if held else len(entries),
            "used_by_active_rules": used_by,
        },
    )
    proposal = None
    if held:
        proposal = await _change(
            session,
            managed,
            "load",
            {"entries": [[value, note] for value, note in entries.items()], "mode": "merge"},
            approver,
        )
    await session.flush()
    return managed, proposal


async def load(
    session: AsyncSession,
    list_id: uuid.UUID,
    entries: Sequence[tuple[str, str | None]],
    mode: str,
    approver: Approver,
) -> ListProposal | None:
    managed = await service.get_list(session, list_id)
    unique = dict(entries)
    change = {"entries": [[value, note] for value, note in unique.items()], "mode": mode}
    return await _change(session, managed, "load", change, approver)


async def remove(
    session: AsyncSession, list_id: uuid.UUID, values: Sequence[str], approver: Approver
) -> ListProposal | None:
    managed = await service.get_list(session, list_id)
    return await _change(
        session, managed, "remove", {"values": list(dict.fromkeys(values))}, approver
    )


async def update(
    session: AsyncSession, list_id: uuid.UUID, changes: ListUpdate, approver: Approver
) -> ListProposal | None:
    managed = await service.get_list(session, list_id)
    fields = changes.model_dump(mode="json", exclude_unset=True)
    return await _change(session, managed, "update", {"fields": fields}, approver)


async def delete(
    session: AsyncSession, list_id: uuid.UUID, approver: Approver
) -> ListProposal | None:
    managed = await service.get_list(session, list_id)
    return await _change(session, managed, "delete", {}, approver)


async def approve(
    session: AsyncSession, proposal_id: uuid.UUID, approver: Approver, comment: str | None
) -> ListProposal:
    """The proposed change is made (entries added by its author, as proposed); never
    approved by its author (403)."""
    proposal = await LISTS.pending(session, proposal_id)
    approval = LISTS.check(proposal, approver)
    managed = await repository.get_list(session, uuid.UUID(proposal.subject))
    if managed is None:
        raise ListNotFound(f"the list of proposal {proposal_id} was deleted")
    await _apply(session, managed, proposal.kind, proposal.change, actor=proposal.proposed_by)
    LISTS.approved(
        session,
        proposal,
        approver,
        approval,
        comment,
        detail=summary(proposal.kind, proposal.change),
    )
    if proposal.kind == "delete":  # what waited on the deleted list can never apply
        await LISTS.supersede_pending(
            session, proposal.subject, approver, comment="the list was deleted"
        )
    await session.flush()
    return proposal


async def reject(
    session: AsyncSession, proposal_id: uuid.UUID, approver: Approver, comment: str
) -> ListProposal:
    """Turn the proposal down with a reason: the list stays as it is."""
    proposal = await LISTS.pending(session, proposal_id)
    LISTS.rejected(session, proposal, approver, comment)
    await session.flush()
    return proposal


async def history(session: AsyncSession, list_id: uuid.UUID) -> Sequence[ListAuditEntry]:
    """The list's history; kept (and shown) after the list is deleted."""
    entries = await LISTS.history(session, str(list_id))
    if not entries:
        await service.get_list(session, list_id)
    return entries


async def list_proposals(
    session: AsyncSession, *, status: str | None, list_id: uuid.UUID | None, limit: int
) -> Sequence[ListProposal]:
    subject = None if list_id is None else str(list_id)
    return await LISTS.list(session, status=status, subject=subject, limit=limit)
