"""Transaction intake from the bank core systems: one at a time or in batches.

Lean on purpose. A request runs one transaction: one multi-row INSERT ... ON CONFLICT DO
NOTHING for the transactions (idempotent on `external_id`, safe under concurrent identical
sends; rows with an unknown customer or account are left out by the same statement) and one
multi-row outbox insert. Only items that were not inserted cost more: one query for their
references, one for the stored duplicates.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_customer import repository, views
from riskwatch_customer.config import Settings
from riskwatch_customer.errors import (
    DuplicateTransaction,
    IdempotencyKeyReused,
    InvalidTransaction,
)
from riskwatch_customer.permissions import INTAKE_ROLES, require_role
from riskwatch_customer.reference_data import in_minor_units
from riskwatch_customer.schemas import (
    BatchItemResult,
    ErrorItem,
    TransactionBatchOut,
    TransactionIn,
)
from riskwatch_customer.validation import FieldError, TransactionRules, check_transaction
from riskwatch_shared.events.base import utcnow
from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.customer import TransactionReceived
from riskwatch_shared.logging import trace_id_var
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.security import Identity

# What makes two sends the same transaction (the ids and reception time are ours).
_CONTENT_FIELDS = tuple(
    name for name in TransactionData.model_fields if name not in ("transaction_id", "received_at")
)


def rules_from(settings: Settings) -> TransactionRules:
    return TransactionRules(
        max_amount=settings.max_transaction_amount,
        max_future_skew=timedelta(seconds=settings.max_future_skew_seconds),
    )


@dataclass(frozen=True)
class IntakeOutcome:
    transaction: TransactionData
    created: bool


def to_row(
    item: TransactionIn, *, transaction_id: uuid.UUID, received_at: datetime
) -> dict[str, Any]:
    row = item.model_dump()
    row["amount"] = in_minor_units(item.amount, item.currency)
    row["ip_address"] = str(item.ip_address) if item.ip_address is not None else None
    row["id"] = transaction_id
    row["received_at"] = received_at
    return row


def row_data(row: dict[str, Any]) -> TransactionData:
    """The stored row as event payload."""
    fields = {name: row[name] for name in _CONTENT_FIELDS}
    return TransactionData.model_validate(
        {**fields, "transaction_id": row["id"], "received_at": row["received_at"]}
    )


def received_event(data: TransactionData) -> TransactionReceived:
    return TransactionReceived(
        customer_id=data.customer_id, transaction=data, trace_id=trace_id_var.get()
    )


def same_content(stored: TransactionData, row: dict[str, Any]) -> bool:
    return all(getattr(stored, name) == row[name] for name in _CONTENT_FIELDS)


def reference_errors(item: TransactionIn, refs: repository.IntakeRefs) -> list[FieldError]:
    """Unknown customer or account, or an account of somebody else."""
    if item.customer_id not in refs.customer_status:
        return [FieldError(("customer_id",), "no such customer", "customer.unknown")]
    if item.account_id is None:
        return []
    owner = refs.account_owner.get(item.account_id)
    if owner is None:
        return [FieldError(("account_id",), "no such account", "account.unknown")]
    if owner != item.customer_id:
        return [
            FieldError(("account_id",), "the account belongs to another customer", "account.owner")
        ]
    return []


def rule_errors(item: TransactionIn, rules: TransactionRules, now: datetime) -> list[FieldError]:
    return check_transaction(
        amount=item.amount,
        currency=item.currency,
        occurred_at=item.occurred_at,
        country=item.country,
        counterparty_country=item.counterparty_country,
        rules=rules,
        now=now,
    )


def fingerprint(item: TransactionIn) -> str:
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()


def _invalid(errors: list[FieldError]) -> InvalidTransaction:
    return InvalidTransaction(
        "; ".join(f"{e.loc[0]}: {e.msg}" for e in errors),
        errors=[{**e.as_dict(), "loc": ["body", *e.loc]} for e in errors],
    )


async def _references_of(
    session: AsyncSession, items: list[TransactionIn]
) -> repository.IntakeRefs:
    return await repository.fetch_intake_refs(
        session,
        {item.customer_id for item in items},
        {item.account_id for item in items if item.account_id is not None},
    )


# --- one at a time ------------------------------------------------------------------------


async def receive_transaction(
    session: AsyncSession,
    *,
    item: TransactionIn,
    identity: Identity,
    rules: TransactionRules,
    idempotency_key: str | None = None,
) -> IntakeOutcome:
    """Store and announce one transaction, or give back the one stored for this external id
    (or this Idempotency-Key) before: a retry stores and publishes nothing new."""
    require_role(identity, INTAKE_ROLES, "sending transactions")
    digest = fingerprint(item) if idempotency_key else ""
    if idempotency_key:
        replay = await _replay_of_key(session, idempotency_key, digest)
        if replay is not None:
            return IntakeOutcome(replay, created=False)
    now = utcnow()
    errors = rule_errors(item, rules, now)
    if errors:
        raise _invalid(errors)
    row = to_row(item, transaction_id=uuid.uuid4(), received_at=now)
    outcome = await _store_one(session, item, row)
    if idempotency_key and not await repository.remember_idempotency_key(
        session,
        key=idempotency_key,
        fingerprint=digest,
        transaction_id=outcome.transaction.transaction_id,
    ):
        # A concurrent send with the same key committed first: same request, same answer.
        replay = await _replay_of_key(session, idempotency_key, digest)
        if replay is None or replay.transaction_id != outcome.transaction.transaction_id:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    return outcome


async def _replay_of_key(session: AsyncSession, key: str, digest: str) -> TransactionData | None:
    remembered = await repository.get_idempotency_key(session, key)
    if remembered is None:
        return None
    if remembered.request_fingerprint != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    stored = await repository.get_transaction(session, remembered.transaction_id)
    return views.transaction_data(stored) if stored is not None else None


async def _store_one(
    session: AsyncSession, item: TransactionIn, row: dict[str, Any]
) -> IntakeOutcome:
    if await repository.insert_transactions(session, [row]):
        data = row_data(row)
        await add_events(session, received_event(data))
        return IntakeOutcome(data, created=True)
    errors = reference_errors(item, await _references_of(session, [item]))
    if errors:
        raise _invalid(errors)
    existing = await repository.transactions_by_external_ids(session, [row["external_id"]])
    stored = views.transaction_data(existing[row["external_id"]])
    if not same_content(stored, row):
        raise DuplicateTransaction(
            f"external_id {row['external_id']!r} was already used for a different transaction"
        )
    return IntakeOutcome(stored, created=False)


# --- batches ------------------------------------------------------------------------------


class _ValidBatch(BaseModel):
    items: list[TransactionIn]


def _rejected(index: int, external_id: str | None, errors: list[FieldError]) -> BatchItemResult:
    return BatchItemResult(
        index=index,
        external_id=external_id,
        status="rejected",
        errors=[ErrorItem(loc=list(e.loc), msg=e.msg, type=e.type) for e in errors],
    )


def _result(
    index: int, row: dict[str, Any], status: Literal["accepted", "duplicate"], transaction_id: Any
) -> BatchItemResult:
    return BatchItemResult(
        index=index, external_id=row["external_id"], status=status, transaction_id=transaction_id
    )


def _too_many(max_items: int) -> InvalidTransaction:
    return InvalidTransaction(
        f"a batch holds at most {max_items} transactions",
        errors=[{"loc": ["body", "items"], "msg": f"at most {max_items}", "type": "too_long"}],
    )


def _not_a_list() -> InvalidTransaction:
    return InvalidTransaction(
        "`items` must be a non-empty list",
        errors=[{"loc": ["body", "items"], "msg": "a non-empty list", "type": "list_type"}],
    )


def _raw_items(body: bytes) -> list[Any]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InvalidTransaction("the body is not JSON") from exc
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise _not_a_list()
    return items


def parse_batch(
    body: bytes, *, max_items: int
) -> tuple[list[tuple[int, TransactionIn]], dict[int, BatchItemResult]]:
    """Items that parse, and a rejection per item that does not.

    The whole batch is validated in one pass first (pydantic's JSON parser, in Rust); only a
    batch with a bad item is parsed again item by item to keep the good ones.
    """
    try:
        items = _ValidBatch.model_validate_json(body).items
    except ValidationError:
        pass
    else:
        if not items:
            raise _not_a_list()
        if len(items) > max_items:
            raise _too_many(max_items)
        return list(enumerate(items)), {}
    raw_items = _raw_items(body)
    if len(raw_items) > max_items:
        raise _too_many(max_items)
    parsed: list[tuple[int, TransactionIn]] = []
    rejected: dict[int, BatchItemResult] = {}
    for index, raw in enumerate(raw_items):
        try:
            parsed.append((index, TransactionIn.model_validate(raw)))
        except ValidationError as exc:
            external_id = raw.get("external_id") if isinstance(raw, dict) else None
            errors = [
                FieldError(tuple(e["loc"]), e["msg"], e["type"])
                for e in exc.errors(include_url=False)
            ]
            rejected[index] = _rejected(
                index, external_id if isinstance(external_id, str) else None, errors
            )
    return parsed, rejected


async def receive_batch(
    session: AsyncSession,
    *,
    body: bytes,
    identity: Identity,
    rules: TransactionRules,
    max_items: int,
) -> TransactionBatchOut:
    """Up to `max_items` transactions in one transaction: each accepted, duplicate or rejected
    with its reasons; one bad item never loses the good ones."""
    require_role(identity, INTAKE_ROLES, "sending transactions")
    parsed, results = parse_batch(body, max_items=max_items)
    now = utcnow()
    candidates: list[tuple[int, TransactionIn, dict[str, Any]]] = []
    for index, item in parsed:
        errors = rule_errors(item, rules, now)
        if errors:
            results[index] = _rejected(index, item.external_id, errors)
        else:
            row = to_row(item, transaction_id=uuid.uuid4(), received_at=now)
            candidates.append((index, item, row))
    await _store_batch(session, candidates, results)
    ordered = [results[index] for index in sorted(results)]
    return TransactionBatchOut(
        accepted=sum(r.status == "accepted" for r in ordered),
        duplicates=sum(r.status == "duplicate" for r in ordered),
        rejected=sum(r.status == "rejected" for r in ordered),
        items=ordered,
    )


_CONFLICT = FieldError(
    ("external_id",), "already used for a different transaction", "external_id.conflict"
)
_VANISHED = FieldError(
    ("external_id",), "a concurrent request holds this external id; retry", "external_id.busy"
)


@dataclass
class _BatchState:
    """What the batch's statements found out, to answer each item from."""

    first_of: dict[str, dict[str, Any]]
    inserted: set[str]
    bad_refs: dict[str, list[FieldError]]
    stored: dict[str, TransactionData]


def _answer(
    index: int, row: dict[str, Any], state: _BatchState
) -> tuple[BatchItemResult, TransactionData | None]:
    """The item's result, and the payload to announce when it was accepted."""
    external_id = row["external_id"]
    if state.bad_refs.get(external_id):
        return _rejected(index, external_id, state.bad_refs[external_id]), None
    first_row = state.first_of[external_id]
    if external_id in state.inserted:
        if first_row is row:
            data = row_data(row)
            return _result(index, row, "accepted", row["id"]), data
        original: TransactionData | None = row_data(first_row)
    else:
        original = state.stored.get(external_id)
    if original is None:
        return _rejected(index, external_id, [_VANISHED]), None
    if same_content(original, row):
        return _result(index, row, "duplicate", original.transaction_id), None
    return _rejected(index, external_id, [_CONFLICT]), None


async def _store_batch(
    session: AsyncSession,
    candidates: list[tuple[int, TransactionIn, dict[str, Any]]],
    results: dict[int, BatchItemResult],
) -> None:
    """Insert the distinct external ids in one statement; then answer each item: accepted,
    duplicate (of an earlier item or a stored one) or rejected (bad reference, or the same
    external id with other content). A later copy of an item with a bad reference shares its
    rejection."""
    first_of: dict[str, tuple[TransactionIn, dict[str, Any]]] = {}
    for _, item, row in candidates:
        first_of.setdefault(row["external_id"], (item, row))
    inserted = await repository.insert_transactions(session, [row for _, row in first_of.values()])
    left_out = [item for external_id, (item, _) in first_of.items() if external_id not in inserted]
    bad_refs: dict[str, list[FieldError]] = {}
    stored: dict[str, TransactionData] = {}
    if left_out:
        refs = await _references_of(session, left_out)
        bad_refs = {item.external_id: reference_errors(item, refs) for item in left_out}
        found = await repository.transactions_by_external_ids(
            session, [item.external_id for item in left_out if not bad_refs[item.external_id]]
        )
        stored = {external_id: views.transaction_data(t) for external_id, t in found.items()}
    state = _BatchState({k: row for k, (_, row) in first_of.items()}, inserted, bad_refs, stored)
    events = []
    for index, _, row in candidates:
        results[index], accepted = _answer(index, row, state)
        if accepted is not None:
            events.append(received_event(accepted))
    await add_events(session, *events)
