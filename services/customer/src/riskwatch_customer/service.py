"""Use cases of the CRM records: customers, credit records, financial profiles, accounts,
interactions, the audit trail and the customer 360. Functions take the session first, only
flush (the route commits), write an audit entry for every change and stage events in the
outbox in the same transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_customer import audit, repository, views
from riskwatch_customer.errors import (
    AccountNotFound,
    CustomerNotFound,
    DuplicateAccount,
    DuplicateCustomer,
    NotAllowed,
    TransactionNotFound,
)
from riskwatch_customer.figures import utilisation
from riskwatch_customer.models import (
    Account,
    AuditEntry,
    CreditRecord,
    Customer,
    FinancialProfile,
    Interaction,
    Transaction,
)
from riskwatch_customer.permissions import (
    CRM_READER_ROLES,
    CRM_WRITER_ROLES,
    may_see,
    owner_scope,
    require_role,
)
from riskwatch_customer.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    AuditEntryOut,
    CreditRecordCreate,
    CreditRecordOut,
    Customer360,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    FinancialProfileCreate,
    FinancialProfileOut,
    InteractionCreate,
    InteractionOut,
    Page,
)
from riskwatch_shared.events.base import utcnow
from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    CustomerCreated,
    CustomerUpdated,
    FinancialProfileUpdated,
    InteractionLogged,
)
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.security import Identity


def _constraint(exc: IntegrityError) -> str:
    return str(getattr(exc.orig, "constraint_name", "") or exc.orig)


async def _flush_new(session: AsyncSession, row: Customer | Account) -> None:
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


async def _audit(
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
    customer = Customer(id=uuid.uuid4(), created_at=now, updated_at=now, **fields)
    await _flush_new(session, customer)
    await _audit(
        session,
        identity=identity,
        customer_id=customer.id,
        entity_type="customer",
        entity_id=customer.id,
        action="created",
        changes=audit.created(fields),
        at=now,
    )
    await add_events(
        session,
        CustomerCreated(customer_id=customer.id, customer=views.customer_snapshot(customer)),
    )
    return customer


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
    await _audit(
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
    require_role(identity, CRM_WRITER_ROLES, "changing a customer")
    customer = await visible_customer(session, customer_id, identity=identity, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    if "relationship_manager" in changes:
        changes["relationship_manager"] = _owned_manager(identity, changes["relationship_manager"])
    for required in ("kind", "name", "document_type", "document_number", "kyc_status", "status"):
        if required in changes and changes[required] is None:
            del changes[required]  # these cannot be cleared
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    await apply_customer_changes(
        session, customer, changes=changes, identity=identity, now=utcnow()
    )
    levels = await repository.risk_levels_of(session, [customer.id])
    return views.customer_out(customer, identity=identity, levels=levels.get(customer.id))


async def get_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, identity: Identity
) -> CustomerOut:
    customer = await visible_customer(session, customer_id, identity=identity)
    levels = await repository.risk_levels_of(session, [customer.id])
    return views.customer_out(customer, identity=identity, levels=levels.get(customer.id))


async def list_customers(
    session: AsyncSession,
    *,
    filters: repository.CustomerFilters,
    identity: Identity,
    cursor: str | None,
    limit: int,
) -> Page[CustomerOut]:
    require_role(identity, CRM_READER_ROLES, "listing customers")
    customers, next_cursor = await repository.list_customers(
        session, filters, owner=owner_scope(identity), cursor=cursor, limit=limit
    )
    levels = await repository.risk_levels_of(session, [c.id for c in customers])
    items = [views.customer_out(c, identity=identity, levels=levels.get(c.id)) for c in customers]
    return Page[CustomerOut](items=items, next_cursor=next_cursor)


# --- credit records and financial profiles ------------------------------------------------


async def add_credit_record(
    session: AsyncSession, customer_id: uuid.UUID, *, data: CreditRecordCreate, identity: Identity
) -> CreditRecordOut:
    require_role(identity, CRM_WRITER_ROLES, "adding a credit record")
    customer = await visible_customer(session, customer_id, identity=identity)
    now = utcnow()
    fields = data.model_dump()
    if fields["utilisation"] is None:
        fields["utilisation"] = utilisation(data.outstanding_debt, data.credit_limit)
    record = CreditRecord(id=uuid.uuid4(), customer_id=customer.id, created_at=now, **fields)
    session.add(record)
    await session.flush()
    await _audit(
        session,
        identity=identity,
        customer_id=customer.id,
        entity_type="credit_record",
        entity_id=record.id,
        action="created",
        changes=audit.created(fields),
        at=now,
    )
    event = CreditRecordAdded(
        customer_id=customer.id, credit_record=views.credit_record_data(record)
    )
    await add_events(session, event)
    return views.credit_record_out(record)


async def list_credit_records(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    identity: Identity,
    cursor: str | None,
    limit: int,
) -> Page[CreditRecordOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    rows, next_cursor = await repository.keyset_page(
        session,
        repository.credit_records_of(customer.id),
        at_column=CreditRecord.created_at,
        id_column=CreditRecord.id,
        cursor=cursor,
        limit=limit,
    )
    items = [views.credit_record_out(row) for row in rows]
    return Page[CreditRecordOut](items=items, next_cursor=next_cursor)


async def add_financial_profile(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    data: FinancialProfileCreate,
    identity: Identity,
) -> FinancialProfileOut:
    require_role(identity, CRM_WRITER_ROLES, "updating a financial profile")
    customer = await visible_customer(session, customer_id, identity=identity)
    now = utcnow()
    profile = FinancialProfile(
        id=uuid.uuid4(),
        customer_id=customer.id,
        annual_income=data.annual_income,
        currency=data.currency,
        assets={kind: str(amount) for kind, amount in data.assets.items()},
        liabilities={kind: str(amount) for kind, amount in data.liabilities.items()},
        as_of=data.as_of,
        created_at=now,
    )
    session.add(profile)
    await session.flush()
    await _audit(
        session,
        identity=identity,
        customer_id=customer.id,
        entity_type="financial_profile",
        entity_id=profile.id,
        action="created",
        changes=audit.created(data.model_dump()),
        at=now,
    )
    event = FinancialProfileUpdated(
        customer_id=customer.id, financial_profile=views.financial_profile_data(profile)
    )
    await add_events(session, event)
    return views.financial_profile_out(profile)


async def list_financial_profiles(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    identity: Identity,
    cursor: str | None,
    limit: int,
) -> Page[FinancialProfileOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    rows, next_cursor = await repository.keyset_page(
        session,
        repository.financial_profiles_of(customer.id),
        at_column=FinancialProfile.created_at,
        id_column=FinancialProfile.id,
        cursor=cursor,
        limit=limit,
    )
    items = [views.financial_profile_out(row) for row in rows]
    return Page[FinancialProfileOut](items=items, next_cursor=next_cursor)


# --- accounts -----------------------------------------------------------------------------


async def add_account(
    session: AsyncSession, customer_id: uuid.UUID, *, data: AccountCreate, identity: Identity
) -> AccountOut:
    require_role(identity, CRM_WRITER_ROLES, "opening an account")
    customer = await visible_customer(session, customer_id, identity=identity)
    if await repository.account_number_taken(session, data.number):
        raise DuplicateAccount(f"account number {data.number!r} is in use")
    now = utcnow()
    account = Account(
        id=uuid.uuid4(),
        customer_id=customer.id,
        created_at=now,
        updated_at=now,
        **data.model_dump(),
    )
    await _flush_new(session, account)
    await _account_changed(
        session,
        account,
        identity=identity,
        action="created",
        changes=audit.created(data.model_dump()),
    )
    return views.account_out(account)


async def _account_changed(
    session: AsyncSession,
    account: Account,
    *,
    identity: Identity,
    action: str,
    changes: dict[str, dict[str, Any]],
) -> None:
    await _audit(
        session,
        identity=identity,
        customer_id=account.customer_id,
        entity_type="account",
        entity_id=account.id,
        action=action,
        changes=changes,
        at=account.updated_at,
    )
    event = AccountChanged(customer_id=account.customer_id, account=views.account_data(account))
    await add_events(session, event)


async def _visible_account(
    session: AsyncSession, customer_id: uuid.UUID, account_id: uuid.UUID, *, identity: Identity
) -> Account:
    customer = await visible_customer(session, customer_id, identity=identity)
    account = await repository.get_account(session, account_id)
    if account is None or account.customer_id != customer.id:
        raise AccountNotFound(f"no account {account_id} for customer {customer_id}")
    return account


async def get_account(
    session: AsyncSession, customer_id: uuid.UUID, account_id: uuid.UUID, *, identity: Identity
) -> AccountOut:
    account = await _visible_account(session, customer_id, account_id, identity=identity)
    return views.account_out(account)


async def update_account(
    session: AsyncSession,
    customer_id: uuid.UUID,
    account_id: uuid.UUID,
    *,
    data: AccountUpdate,
    identity: Identity,
) -> AccountOut:
    require_role(identity, CRM_WRITER_ROLES, "changing an account")
    account = await _visible_account(session, customer_id, account_id, identity=identity)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if (
        changes.get("status") == "closed"
        and account.closed_at is None
        and "closed_at" not in changes
    ):
        changes["closed_at"] = utcnow().date()
    before = {field: getattr(account, field) for field in changes}
    changed = audit.diff(before, changes)
    if changed:
        for field, value in changes.items():
            setattr(account, field, value)
        account.updated_at = utcnow()
        await session.flush()
        await _account_changed(
            session, account, identity=identity, action="updated", changes=changed
        )
    return views.account_out(account)


async def list_accounts(
    session: AsyncSession, customer_id: uuid.UUID, *, identity: Identity
) -> list[AccountOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    return [views.account_out(a) for a in await repository.accounts_of(session, customer.id)]


# --- interactions -------------------------------------------------------------------------


async def log_interaction(
    session: AsyncSession, customer_id: uuid.UUID, *, data: InteractionCreate, identity: Identity
) -> InteractionOut:
    require_role(identity, CRM_WRITER_ROLES, "logging an interaction")
    customer = await visible_customer(session, customer_id, identity=identity)
    now = utcnow()
    fields = data.model_dump()
    fields["staff_member"] = data.staff_member or identity.staff_id or identity.subject
    fields["occurred_at"] = data.occurred_at or now
    interaction = Interaction(id=uuid.uuid4(), customer_id=customer.id, created_at=now, **fields)
    session.add(interaction)
    await session.flush()
    await _audit(
        session,
        identity=identity,
        customer_id=customer.id,
        entity_type="interaction",
        entity_id=interaction.id,
        action="created",
        changes=audit.created(fields),
        at=now,
    )
    event = InteractionLogged(
        customer_id=customer.id, interaction=views.interaction_data(interaction)
    )
    await add_events(session, event)
    return views.interaction_out(interaction)


async def list_interactions(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    identity: Identity,
    cursor: str | None,
    limit: int,
) -> Page[InteractionOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    rows, next_cursor = await repository.keyset_page(
        session,
        repository.interactions_of(customer.id),
        at_column=Interaction.created_at,
        id_column=Interaction.id,
        cursor=cursor,
        limit=limit,
    )
    return Page[InteractionOut](
        items=[views.interaction_out(row) for row in rows], next_cursor=next_cursor
    )


# --- transactions (read side), audit, 360 -------------------------------------------------


async def list_transactions(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    identity: Identity,
    cursor: str | None,
    limit: int,
) -> Page[TransactionData]:
    customer = await visible_customer(session, customer_id, identity=identity)
    rows, next_cursor = await repository.keyset_page(
        session,
        repository.transactions_of(customer.id),
        at_column=Transaction.received_at,
        id_column=Transaction.id,
        cursor=cursor,
        limit=limit,
    )
    return Page[TransactionData](
        items=[views.transaction_data(row) for row in rows], next_cursor=next_cursor
    )


async def get_transaction(
    session: AsyncSession, transaction_id: uuid.UUID, *, identity: Identity
) -> TransactionData:
    require_role(identity, CRM_READER_ROLES, "reading transactions")
    transaction = await repository.get_transaction(session, transaction_id)
    if transaction is None:
        raise TransactionNotFound(f"no transaction {transaction_id}")
    if owner_scope(identity) is not None:
        customer = await repository.get_customer(session, transaction.customer_id)
        if customer is None or not may_see(identity, customer.relationship_manager):
            raise TransactionNotFound(f"no transaction {transaction_id}")
    return views.transaction_data(transaction)


async def list_audit(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    identity: Identity,
    cursor: str | None,
    limit: int,
) -> Page[AuditEntryOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    rows, next_cursor = await repository.keyset_page(
        session,
        repository.audit_of(customer.id),
        at_column=AuditEntry.at,
        id_column=AuditEntry.id,
        cursor=cursor,
        limit=limit,
        id_type=int,
    )
    items = [AuditEntryOut.model_validate(row, from_attributes=True) for row in rows]
    return Page[AuditEntryOut](items=items, next_cursor=next_cursor)


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
    return Customer360(
        customer=views.customer_out(customer, identity=identity, levels=levels),
        risk_levels=views.risk_levels_out(levels),
        credit_record=views.credit_record_out(credit) if credit else None,
        financial_profile=views.financial_profile_out(profile) if profile else None,
        accounts=[views.account_out(a) for a in accounts],
        recent_transactions=[views.transaction_data(t) for t in transactions],
        recent_interactions=[views.interaction_out(i) for i in interactions],
    )
