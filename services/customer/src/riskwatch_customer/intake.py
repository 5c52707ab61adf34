"""Transaction intake from the bank core systems: one at a time or in batches.

Lean on purpose, since this is the service's hottest path. A request validates its body once
(pydantic, in Rust), builds plain dicts (the stored row is the `TransactionData` payload),
encodes each `customer.transaction_received.v1` once (by its event class), and writes with
ONE statement on the intake's asyncpg pool (`intake_store.py`): the transactions, their
outbox rows and the relay's NOTIFY, so the common case is one round trip and one commit.
Only items that were not inserted cost more: one query for their references, one for the
stored duplicates.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ValidationError

from riskwatch_customer import intake_store
from riskwatch_customer.config import Settings
from riskwatch_customer.domain.batch_split import MAX_ITEM_DEPTH, split_items
from riskwatch_customer.domain.reference_data import in_minor_units, is_country
from riskwatch_customer.domain.validation import (
    FieldError,
    TransactionRules,
    amount_in_minor_units,
    check_transaction,
)
from riskwatch_customer.errors import (
    DuplicateTransaction,
    IdempotencyKeyReused,
    InvalidTransaction,
)
from riskwatch_customer.permissions import INTAKE_ROLES, require_role
from riskwatch_customer.schemas import TransactionIn
from riskwatch_shared.events.base import utcnow
from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.customer import TransactionReceived
from riskwatch_shared.logging import trace_id_var
from riskwatch_shared.security import Identity
from riskwatch_shared.tracing import traceparent_for

# What makes two sends the same transaction (the ids and reception time are ours).
_CONTENT_FIELDS = tuple(
    name
    for name in TransactionData.__struct_fields__
    if name not in ("transaction_id", "received_at")
)
# TransactionIn's fields are TransactionData's content fields, in the same order: an item's
# `__dict__` is the row (no model_dump) and the row is the event payload as it stands.
assert tuple(TransactionIn.model_fields) == _CONTENT_FIELDS

Row = dict[str, Any]


def rules_from(settings: Settings) -> TransactionRules:
    return TransactionRules(
        max_amount=settings.max_transaction_amount,
        max_future_skew=timedelta(seconds=settings.max_future_skew_seconds),
    )


@dataclass(frozen=True)
class IntakeOutcome:
    """The transaction as stored (`TransactionData` fields), and whether this call stored it."""

    transaction: Row
    created: bool


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


def checked_amount(
    item: TransactionIn, rules: TransactionRules, now: datetime
) -> Decimal | list[FieldError]:
    """The amount in the currency's minor units when the item passes every rule, else why not.

    The common case is settled by a few comparisons; `check_transaction` explains the rest.
    """
    amount = amount_in_minor_units(item.amount, item.currency, rules)
    if (
        amount is not None
        and item.occurred_at <= now + rules.max_future_skew
        and (item.country is None or is_country(item.country))
        and (item.counterparty_country is None or is_country(item.counterparty_country))
    ):
        return amount
    errors = rule_errors(item, rules, now)
    return errors or in_minor_units(item.amount, item.currency)


def to_row(
    item: TransactionIn, *, amount: Decimal, transaction_id: uuid.UUID, received_at: datetime
) -> Row:
    """The stored row, keyed and ordered as the `TransactionData` payload."""
    row = {"transaction_id": transaction_id, **item.__dict__, "received_at": received_at}
    row["amount"] = amount
    if row["ip_address"] is not None:
        row["ip_address"] = str(row["ip_address"])
    return row


def event_json(
    row: Row, *, event_id: uuid.UUID, occurred_at: datetime, trace_id: str | None
) -> bytes:
    """`customer.transaction_received.v1` of a stored row, encoded by its event class."""
    return TransactionReceived(
        id=event_id,
        occurred_at=occurred_at,
        trace_id=trace_id,
        customer_id=row["customer_id"],
        transaction=TransactionData(**row),
    ).to_json_bytes()


def same_content(stored: Row, row: Row) -> bool:
    return all(stored[name] == row[name] for name in _CONTENT_FIELDS)


# One answer whether the customer is unknown, the account is unknown, or the account is another
# customer's: an ingest key must not learn which customers or accounts exist.
UNKNOWN_REFERENCE = FieldError(
    ("customer_id",), "no such customer, or the account is not the customer's", "reference.unknown"
)


def reference_errors(row: Row, refs: intake_store.IntakeRefs) -> list[FieldError]:
    """Unknown customer or account, or an account of somebody else: all the same error."""
    if row["customer_id"] not in refs.customers:
        return [UNKNOWN_REFERENCE]
    if row["account_id"] is None:
        return []
    if refs.account_owner.get(row["account_id"]) != row["customer_id"]:
        return [UNKNOWN_REFERENCE]
    return []


def fingerprint(item: TransactionIn) -> str:
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()


def _invalid(errors: list[FieldError]) -> InvalidTransaction:
    return InvalidTransaction(
        "; ".join(f"{e.loc[0]}: {e.msg}" for e in errors),
        errors=[{**e.as_dict(), "loc": ["body", *e.loc]} for e in errors],
    )


async def _references_of(conn: asyncpg.Connection, rows: list[Row]) -> intake_store.IntakeRefs:
    return await intake_store.fetch_intake_refs(
        conn,
        {row["customer_id"] for row in rows},
        {row["account_id"] for row in rows if row["account_id"] is not None},
    )


async def _store(conn: asyncpg.Connection, rows: list[Row], now: datetime) -> set[str]:
    """Insert the rows (distinct external ids) with their events; the external ids inserted."""
    trace_id = trace_id_var.get()
    events = []
    for row in rows:
        event_id = uuid.uuid4()
        events.append(
            (event_id, event_json(row, event_id=event_id, occurred_at=now, trace_id=trace_id))
        )
    return await intake_store.store_transactions(conn, rows, events, traceparent_for(trace_id))


# --- one at a time ------------------------------------------------------------------------


async def receive_transaction(
    pool: asyncpg.Pool,
    *,
    item: TransactionIn,
    identity: Identity,
    rules: TransactionRules,
    idempotency_key: str | None = None,
) -> IntakeOutcome:
    """Store and announce one transaction, or give back the one stored for this external id
    (or this Idempotency-Key) before: a retry stores and publishes nothing new."""
    require_role(identity, INTAKE_ROLES, "sending transactions")
    async with pool.acquire() as conn:
        if not idempotency_key:
            return await _receive_one(conn, item, rules)
        async with conn.transaction():
            return await _receive_with_key(conn, item, rules, idempotency_key)


async def _receive_with_key(
    conn: asyncpg.Connection, item: TransactionIn, rules: TransactionRules, key: str
) -> IntakeOutcome:
    digest = fingerprint(item)
    replay = await _replay_of_key(conn, key, digest)
    if replay is not None:
        return IntakeOutcome(replay, created=False)
    outcome = await _receive_one(conn, item, rules)
    transaction_id = outcome.transaction["transaction_id"]
    if not await intake_store.remember_idempotency_key(
        conn, key=key, fingerprint=digest, transaction_id=transaction_id
    ):
        # A concurrent send with the same key committed first: same request, same answer.
        replay = await _replay_of_key(conn, key, digest)
        if replay is None or replay["transaction_id"] != transaction_id:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    return outcome


async def _replay_of_key(conn: asyncpg.Connection, key: str, digest: str) -> Row | None:
    remembered = await intake_store.idempotency_key(conn, key)
    if remembered is None:
        return None
    request_fingerprint, transaction_id = remembered
    if request_fingerprint != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    return await intake_store.transaction_by_id(conn, transaction_id)


async def _receive_one(
    conn: asyncpg.Connection, item: TransactionIn, rules: TransactionRules
) -> IntakeOutcome:
    now = utcnow()
    amount = checked_amount(item, rules, now)
    if isinstance(amount, list):
        raise _invalid(amount)
    row = to_row(item, amount=amount, transaction_id=uuid.uuid4(), received_at=now)
    if await _store(conn, [row], now):
        return IntakeOutcome(row, created=True)
    errors = reference_errors(row, await _references_of(conn, [row]))
    if errors:
        raise _invalid(errors)
    external_id = row["external_id"]
    stored = (await intake_store.transactions_by_external_ids(conn, [external_id])).get(external_id)
    if stored is None:
        raise DuplicateTransaction(f"a concurrent request holds external_id {external_id!r}; retry")
    if not same_content(stored, row):
        raise DuplicateTransaction(
            f"external_id {external_id!r} was already used for a different transaction"
        )
    return IntakeOutcome(stored, created=False)


# --- batches ------------------------------------------------------------------------------

Status = Literal["accepted", "duplicate", "rejected"]


class _ValidBatch(BaseModel):
    items: list[TransactionIn]


def _item_result(
    index: int,
    external_id: str | None,
    status: Status,
    *,
    transaction_id: uuid.UUID | None = None,
    errors: Sequence[FieldError] = (),
) -> dict[str, Any]:
    """One `BatchItemResult` as a dict (same keys, same order)."""
    return {
        "index": index,
        "external_id": external_id,
        "status": status,
        "transaction_id": transaction_id,
        "errors": [{"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in errors],
    }


def _rejected(index: int, external_id: str | None, errors: list[FieldError]) -> dict[str, Any]:
    return _item_result(index, external_id, "rejected", errors=errors)


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


_TOO_DEEP = FieldError((), f"nested deeper than {MAX_ITEM_DEPTH} levels", "json_too_deep")
_NOT_JSON = FieldError((), "not valid JSON", "json_invalid")


class _Unparsable:
    """An item that could not even be parsed as JSON, and why."""

    def __init__(self, error: FieldError) -> None:
        self.error = error


def _raw_items(body: bytes) -> list[Any]:
    try:
        document = json.loads(body)
    except RecursionError:
        return _raw_items_without_recursion(body)
    except ValueError as exc:
        raise InvalidTransaction("the body is not JSON") from exc
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise _not_a_list()
    return items


def _raw_items_without_recursion(body: bytes) -> list[Any]:
    """The items of a document too deep for `json.loads`: each parsed on its own, the deep ones
    (and any that do not parse) kept as `_Unparsable` to be rejected alone."""
    raw_items = split_items(body)
    if not raw_items:
        raise _not_a_list()
    items: list[Any] = []
    for raw in raw_items:
        if raw is None:
            items.append(_Unparsable(_TOO_DEEP))
            continue
        try:
            items.append(json.loads(raw))
        except ValueError:
            items.append(_Unparsable(_NOT_JSON))
    return items


def _whole_batch(body: bytes) -> list[TransactionIn] | None:
    """Every item, when the whole batch is valid in one pass; None when any part is not."""
    try:
        return _ValidBatch.model_validate_json(body).items
    except ValidationError:
        return None


def parse_batch(
    body: bytes, *, max_items: int
) -> tuple[list[tuple[int, TransactionIn]], dict[int, dict[str, Any]]]:
    """Items that parse, and a rejection (a `BatchItemResult` dict) per item that does not.

    The whole batch is validated in one pass first (pydantic's JSON parser, in Rust); only a
    batch with a bad item is parsed again item by item to keep the good ones.
    """
    items = _whole_batch(body)
    if items is not None:
        if not items:
            raise _not_a_list()
        if len(items) > max_items:
            raise _too_many(max_items)
        return list(enumerate(items)), {}
    raw_items = _raw_items(body)
    if len(raw_items) > max_items:
        raise _too_many(max_items)
    parsed: list[tuple[int, TransactionIn]] = []
    rejected: dict[int, dict[str, Any]] = {}
    for index, raw in enumerate(raw_items):
        if isinstance(raw, _Unparsable):
            rejected[index] = _rejected(index, None, [raw.error])
            continue
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
    pool: asyncpg.Pool,
    *,
    body: bytes,
    identity: Identity,
    rules: TransactionRules,
    max_items: int,
) -> dict[str, Any]:
    """Up to `max_items` transactions in one statement: each accepted, duplicate or rejected
    with its reasons; one bad item never loses the good ones. The `TransactionBatchOut`
    document, as a dict."""
    require_role(identity, INTAKE_ROLES, "sending transactions")
    parsed, results = parse_batch(body, max_items=max_items)
    now = utcnow()
    candidates: list[tuple[int, Row]] = []
    for index, item in parsed:
        amount = checked_amount(item, rules, now)
        if isinstance(amount, list):
            results[index] = _rejected(index, item.external_id, amount)
        else:
            row = to_row(item, amount=amount, transaction_id=uuid.uuid4(), received_at=now)
            candidates.append((index, row))
    async with pool.acquire() as conn:
        state = await _store_batch(conn, candidates, now)
    for index, row in candidates:
        results[index] = _answer(index, row, state)
    ordered = [results[index] for index in sorted(results)]
    statuses = [result["status"] for result in ordered]
    return {
        "accepted": statuses.count("accepted"),
        "duplicates": statuses.count("duplicate"),
        "rejected": statuses.count("rejected"),
        "items": ordered,
    }


_CONFLICT = FieldError(
    ("external_id",), "already used for a different transaction", "external_id.conflict"
)
_VANISHED = FieldError(
    ("external_id",), "a concurrent request holds this external id; retry", "external_id.busy"
)


@dataclass
class _BatchState:
    """What the batch's statements found out, to answer each item from."""

    first_of: dict[str, Row]
    inserted: set[str]
    bad_refs: dict[str, list[FieldError]]
    stored: dict[str, Row]


async def _store_batch(
    conn: asyncpg.Connection, candidates: list[tuple[int, Row]], now: datetime
) -> _BatchState:
    """Insert the distinct external ids in one statement; look up why the others were not."""
    first_of: dict[str, Row] = {}
    for _, row in candidates:
        first_of.setdefault(row["external_id"], row)
    inserted = await _store(conn, list(first_of.values()), now)
    left_out = [row for external_id, row in first_of.items() if external_id not in inserted]
    bad_refs: dict[str, list[FieldError]] = {}
    stored: dict[str, Row] = {}
    if left_out:
        refs = await _references_of(conn, left_out)
        bad_refs = {row["external_id"]: reference_errors(row, refs) for row in left_out}
        stored = await intake_store.transactions_by_external_ids(
            conn, [external_id for external_id, errors in bad_refs.items() if not errors]
        )
    return _BatchState(first_of, inserted, bad_refs, stored)


def _answer(index: int, row: Row, state: _BatchState) -> dict[str, Any]:
    """Accepted, duplicate (of an earlier item or a stored one) or rejected (bad reference, or
    the same external id with other content). A later copy of an item with a bad reference
    shares its rejection."""
    external_id = row["external_id"]
    first_row = state.first_of[external_id]
    if external_id in state.inserted:
        if first_row is row:
            return _item_result(
                index, external_id, "accepted", transaction_id=row["transaction_id"]
            )
        original: Row | None = first_row
    elif state.bad_refs.get(external_id):
        return _rejected(index, external_id, state.bad_refs[external_id])
    else:
        original = state.stored.get(external_id)
    if original is None:
        return _rejected(index, external_id, [_VANISHED])
    if same_content(original, row):
        return _item_result(
            index, external_id, "duplicate", transaction_id=original["transaction_id"]
        )
    return _rejected(index, external_id, [_CONFLICT])
