"""Use cases of the CRM: customers, their transactions (read side), the audit trail and the
customer 360 (records of a customer are in `records.py`, intake in `intake.py`). Functions
take the session first, only flush (the route commits), write an audit entry for every change
and stage events in the outbox in the same transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_customer import repository, views
from riskwatch_customer.domain import audit
from riskwatch_customer.errors import (
    CustomerNotFound,
    DuplicateAccount,
    DuplicateCustomer,
    NotAllowed,
    TransactionNotFound,
)
from riskwatch_customer.models import (
    Account,
    AuditEntry,
    Customer,
    Interaction,
    Transaction,
)
from riskwatch_customer.permissions import (
    CRM_READER_ROLES,
    CRM_WRITER_ROLES,
    may_see,
    owner_scope,
    require_role,
    require_unmasking_for_exact_search,
)
from riskwatch_customer.repository import TransactionFilters
from riskwatch_customer.schemas import (
    AuditEntryOut,
    Customer360,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    Page,
    TransactionOut,
)
from riskwatch_shared.events.base import utcnow
from riskwatch_shared.events.customer import (
    CustomerCreated,
    CustomerUpdated,
)
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.security import Identity


def _constraint(exc: IntegrityError) -> str:
    return str(getattr(exc.orig, "constraint_name", "") or exc.orig)


async def flush_new(session: AsyncSession, row: Customer | Account) -> None:
    """Flush a new row, turning a unique-constraint race into the domain's 409."""
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        if "uq_accounts_number" in _constraint(exc):
            raise DuplicateAccount(f"account number {getattr(row, 'number', '')!r}") from exc
        if "uq_customers_document" in _constraint(exc):
            raise DuplicateCustomer("a customer with this identity document exists") from exc
        raise


async def record_audit(
    session: AsyncSession,
    *,
    identity: Identity,
    customer_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    action: str,
    changes: dict[str, dict[str, Any]],
    at: datetime,
) -> None:
    await repository.add_audit_entries(
        session,
        [
            audit.entry(
                customer_id=customer_id,
                entity_type=entity_type,
                entity_id=entity_id,
                action=action,
                actor=identity.subject,
                changes=changes,
                at=at,
            )
        ],
    )


# --- customers ---------------------------------------------------------------------------


async def visible_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, identity: Identity, for_update: bool = False
) -> Customer:
    """The customer if it exists and the caller may see it (else 404: existence is not leaked)."""
    require_role(identity, CRM_READER_ROLES, "reading customers")
    fetch = repository.get_customer_for_update if for_update else repository.get_customer
    customer = await fetch(session, customer_id)
    if customer is None or not may_see(identity, customer.relationship_manager):
        raise CustomerNotFound(f"no customer {customer_id}")
    return customer


def _owned_manager(identity: Identity, wanted: str | None) -> str | None:
    """An RM creates and keeps customers for themself only."""
    owner = owner_scope(identity)
    if owner is None:
        return wanted
    if wanted not in (None, owner):
        raise NotAllowed("a relationship manager can only assign customers to themself")
    return owner


async def create_customer(
    session: AsyncSession, *, data: CustomerCreate, identity: Identity
) -> CustomerOut:
    require_role(identity, CRM_WRITER_ROLES, "creating a customer")
    fields = data.model_dump()
    fields["relationship_manager"] = _owned_manager(identity, data.relationship_manager)
    customer = await add_customer(session, fields=fields, identity=identity, now=utcnow())
    return views.customer_out(customer, identity=identity)


async def add_customer(
    session: AsyncSession, *, fields: dict[str, Any], identity: Identity, now: datetime
) -> Customer:
    """Insert a customer with its audit entry and `customer.created.v1`."""
    [customer] = await add_customers(session, many_fields=[fields], identity=identity, now=now)
    return customer


async def add_customers(
    session: AsyncSession, *, many_fields: list[dict[str, Any]], identity: Identity, now: datetime
) -> list[Customer]:
    """Insert customers with their audit entries and events: one flush, one audit insert and
    one outbox insert however many there are (an import of thousands stays a few statements)."""
    customers = [
        Customer(id=uuid.uuid4(), created_at=now, updated_at=now, **fields)
        for fields in many_fields
    ]
    session.add_all(customers)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise DuplicateCustomer("a customer with this identity document exists") from exc
    await repository.add_audit_entries(
        session,
        [
            audit.entry(
                customer_id=customer.id,
                entity_type="customer",
                entity_id=customer.id,
                action="created",
                actor=identity.subject,
                changes=audit.created(fields),
                at=now,
            )
            for customer, fields in zip(customers, many_fields, strict=True)
        ],
    )
    events = [
        CustomerCreated(customer_id=c.id, customer=views.customer_snapshot(c)) for c in customers
    ]
    await add_events(session, *events)
    return customers


async def apply_customer_changes(
    session: AsyncSession,
    customer: Customer,
    *,
    changes: dict[str, Any],
    identity: Identity,
    now: datetime,
) -> bool:
    """Apply field changes with audit and `customer.updated.v1`; False when nothing changed."""
    before = views.customer_fields(customer)
    changed = audit.diff(before, changes)
    if not changed:
        return False
    for field, value in changes.items():
        setattr(customer, field, value)
    customer.updated_at = now
    try:
        await session.flush()
    except IntegrityError as exc:
        raise DuplicateCustomer("a customer with this identity document exists") from exc
    await record_audit(
        session,
        identity=identity,
        customer_id=customer.id,
        entity_type="customer",
        entity_id=customer.id,
        action="updated",
        changes=changed,
        at=now,
    )
    event = CustomerUpdated(
        customer_id=customer.id,
        customer=views.customer_snapshot(customer),
        changed_fields=sorted(changed),
        changes=changed,
    )
    await add_events(session, event)
    return True


async def update_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, data: CustomerUpdate, identity: Identity
) -> CustomerOut:
    """PATCH: only the fields sent change; required fields cannot be cleared."""
    changes = data.model_dump(exclude_unset=True)
    for required in ("kind", "name", "document_type", "document_number", "kyc_status", "status"):
        if required in changes and changes[required] is None:
            del changes[required]
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    return await _change_customer(session, customer_id, changes=changes, identity=identity)


async def replace_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, data: CustomerCreate, identity: Identity
) -> CustomerOut:
    """PUT: the whole record as sent (fields left out take their defaults)."""
    return await _change_customer(
        session, customer_id, changes=data.model_dump(), identity=identity
    )


async def _change_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, changes: dict[str, Any], identity: Identity
) -> CustomerOut:
    require_role(identity, CRM_WRITER_ROLES, "changing a customer")
    customer = await visible_customer(session, customer_id, identity=identity, for_update=True)
    if "relationship_manager" in changes:
        changes["relationship_manager"] = _owned_manager(identity, changes["relationship_manager"])
    await apply_customer_changes(
        session, customer, changes=changes, identity=identity, now=utcnow()
    )
    levels = await repository.risk_levels_of(session, [customer.id])
    out = views.customer_out(customer, identity=identity, levels=levels.get(customer.id))
    measures = await repository.measures_of(session, customer.id, active_only=True)
    return out.model_copy(
        update={"active_measures": [views.measure_view(m, identity) for m in measures]}
    )


async def get_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, identity: Identity
) -> CustomerOut:
    customer = await visible_customer(session, customer_id, identity=identity)
    levels = await repository.risk_levels_of(session, [customer.id])
    out = views.customer_out(customer, identity=identity, levels=levels.get(customer.id))
    measures = await repository.measures_of(session, customer.id, active_only=True)
    return out.model_copy(
        update={"active_measures": [views.measure_view(m, identity) for m in measures]}
    )


async def list_customers(
    session: AsyncSession,
    *,
    filters: repository.CustomerFilters,
    identity: Identity,
    cursor: str | None,
    limit: int,
) -> Page[CustomerOut]:
    require_role(identity, CRM_READER_ROLES, "listing customers")
    require_unmasking_for_exact_search(identity, filters)
    customers, next_cursor, total = await repository.list_customers(
        session, filters, owner=owner_scope(identity), cursor=cursor, limit=limit
    )
    levels = await repository.risk_levels_of(session, [c.id for c in customers])
    items = [views.customer_out(c, identity=identity, levels=levels.get(c.id)) for c in customers]
    return Page[CustomerOut](items=items, next_cursor=next_cursor, **total.fields())


# --- transactions (read side), audit, 360 -------------------------------------------------


async def list_transactions(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    identity: Identity,
    cursor: str | None,
    limit: int,
    filters: TransactionFilters | None = None,
) -> Page[TransactionOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    rows, next_cursor, total = await repository.keyset_page(
        session,
        repository.transactions_of(customer.id, filters),
        at_column=Transaction.received_at,
        id_column=Transaction.id,
        cursor=cursor,
        limit=limit,
    )
    return Page[TransactionOut](
        items=[views.transaction_view(row, identity) for row in rows],
        next_cursor=next_cursor,
        **total.fields(),
    )


async def get_transaction(
    session: AsyncSession, transaction_id: uuid.UUID, *, identity: Identity
) -> TransactionOut:
    require_role(identity, CRM_READER_ROLES, "reading transactions")
    transaction = await repository.get_transaction(session, transaction_id)
    if transaction is None:
        raise TransactionNotFound(f"no transaction {transaction_id}")
    if owner_scope(identity) is not None:
        customer = await repository.get_customer(session, transaction.customer_id)
        if customer is None or not may_see(identity, customer.relationship_manager):
            raise TransactionNotFound(f"no transaction {transaction_id}")
    return views.transaction_view(transaction, identity)


async def list_audit(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    identity: Identity,
    cursor: str | None,
    limit: int,
) -> Page[AuditEntryOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    rows, next_cursor, total = await repository.keyset_page(
        session,
        repository.audit_of(customer.id),
        at_column=AuditEntry.at,
        id_column=AuditEntry.id,
        cursor=cursor,
        limit=limit,
        id_type=int,
    )
    items = [AuditEntryOut.model_validate(row, from_attributes=True) for row in rows]
    return Page[AuditEntryOut](items=items, next_cursor=next_cursor, **total.fields())


async def customer_360(
    session: AsyncSession, customer_id: uuid.UUID, *, identity: Identity, recent: int
) -> Customer360:
    """Profile, current credit and financial figures, accounts, recent activity, risk levels."""
    customer = await visible_customer(session, customer_id, identity=identity)
    levels = (await repository.risk_levels_of(session, [customer.id])).get(customer.id)
    credit = await repository.current_credit_record(session, customer.id)
    profile = await repository.current_financial_profile(session, customer.id)
    accounts = await repository.accounts_of(session, customer.id)
    transactions = await repository.recent(
        session, repository.transactions_of(customer.id), Transaction.received_at, recent
    )
    interactions = await repository.recent(
        session, repository.interactions_of(customer.id), Interaction.occurred_at, recent
    )
    measures = await repository.measures_of(session, customer.id, active_only=True)
    return Customer360(
        customer=views.customer_out(customer, identity=identity, levels=levels),
        risk_levels=views.risk_levels_out(levels),
        credit_record=views.credit_record_out(credit) if credit else None,
        financial_profile=views.financial_profile_out(profile) if profile else None,
        accounts=[views.account_view(a, identity) for a in accounts],
        recent_transactions=[views.transaction_view(t, identity) for t in transactions],
        recent_interactions=[views.interaction_out(i) for i in interactions],
        active_measures=[views.measure_view(m, identity) for m in measures],
    )
