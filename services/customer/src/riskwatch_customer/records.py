"""Use cases of a customer's records: credit records, financial profiles, accounts and
interactions. Each change writes its audit entry and stages its event in the same transaction."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_customer import repository, views
from riskwatch_customer.domain import audit
from riskwatch_customer.domain.figures import utilisation
from riskwatch_customer.errors import AccountNotFound, DuplicateAccount
from riskwatch_customer.models import Account, CreditRecord, FinancialProfile, Interaction
from riskwatch_customer.permissions import CRM_WRITER_ROLES, require_role
from riskwatch_customer.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    CreditRecordCreate,
    CreditRecordOut,
    FinancialHistory,
    FinancialProfileCreate,
    FinancialProfileOut,
    InteractionCreate,
    InteractionOut,
    Page,
)
from riskwatch_customer.service import flush_new, record_audit, visible_customer
from riskwatch_shared.events.base import utcnow
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    FinancialProfileUpdated,
    InteractionLogged,
)
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.security import Identity

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
    await record_audit(
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
    rows, next_cursor, total = await repository.keyset_page(
        session,
        repository.credit_records_of(customer.id),
        at_column=CreditRecord.created_at,
        id_column=CreditRecord.id,
        cursor=cursor,
        limit=limit,
    )
    items = [views.credit_record_out(row) for row in rows]
    return Page[CreditRecordOut](items=items, next_cursor=next_cursor, **total.fields())


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
    await record_audit(
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
    rows, next_cursor, total = await repository.keyset_page(
        session,
        repository.financial_profiles_of(customer.id),
        at_column=FinancialProfile.created_at,
        id_column=FinancialProfile.id,
        cursor=cursor,
        limit=limit,
    )
    items = [views.financial_profile_out(row) for row in rows]
    return Page[FinancialProfileOut](items=items, next_cursor=next_cursor, **total.fields())


async def financial_history(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    identity: Identity,
    as_of_from: date | None,
    as_of_to: date | None,
    limit: int,
) -> FinancialHistory:
    """The customer's income, assets, liabilities, net worth and debt-to-income over time.
    Figures only (no personal data to mask); a relationship manager sees only their own
    customers (404 otherwise)."""
    customer = await visible_customer(session, customer_id, identity=identity)
    rows = await repository.financial_history(
        session, customer.id, as_of_from=as_of_from, as_of_to=as_of_to, limit=limit
    )
    points = [views.financial_point(row) for row in rows]
    return FinancialHistory(
        customer_id=customer.id,
        points=points,
        currencies=sorted({point.currency for point in points}),
    )


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
    await flush_new(session, account)
    await _account_changed(
        session,
        account,
        identity=identity,
        action="created",
        changes=audit.created(data.model_dump()),
    )
    return views.account_view(account, identity)


async def _account_changed(
    session: AsyncSession,
    account: Account,
    *,
    identity: Identity,
    action: str,
    changes: dict[str, dict[str, Any]],
) -> None:
    await record_audit(
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
    return views.account_view(account, identity)


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
    return views.account_view(account, identity)


async def list_accounts(
    session: AsyncSession, customer_id: uuid.UUID, *, identity: Identity
) -> list[AccountOut]:
    customer = await visible_customer(session, customer_id, identity=identity)
    return [
        views.account_view(a, identity) for a in await repository.accounts_of(session, customer.id)
    ]


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
    await record_audit(
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
    rows, next_cursor, total = await repository.keyset_page(
        session,
        repository.interactions_of(customer.id),
        at_column=Interaction.created_at,
        id_column=Interaction.id,
        cursor=cursor,
        limit=limit,
    )
    return Page[InteractionOut](
        items=[views.interaction_out(row) for row in rows],
        next_cursor=next_cursor,
        **total.fields(),
    )
