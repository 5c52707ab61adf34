"""Routes: a customer's records: credit records, financial profiles (and their history),
accounts, interactions, risk-control measures."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from riskwatch_customer import follow_up, records
from riskwatch_customer.api.common import (
    CONFLICT,
    PROBLEMS,
    IdentityDep,
    PageDep,
)
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
    MeasureLift,
    Page,
    RiskMeasureOut,
)
from riskwatch_shared.app import SessionDep

router = APIRouter()


# --- credit records and financial profiles ------------------------------------------------


@router.get(
    "/customers/{customer_id}/credit-records",
    operation_id="customer-credit-records-list",
    responses=PROBLEMS,
)
async def list_credit_records(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep, page: PageDep
) -> Page[CreditRecordOut]:
    """Credit history, newest first."""
    return await records.list_credit_records(
        session, customer_id, identity=identity, cursor=page.cursor, limit=page.limit
    )


@router.post(
    "/customers/{customer_id}/credit-records",
    status_code=201,
    operation_id="customer-credit-records-create",
    responses=PROBLEMS,
)
async def add_credit_record(
    customer_id: uuid.UUID, body: CreditRecordCreate, session: SessionDep, identity: IdentityDep
) -> CreditRecordOut:
    """Add a credit record; the newest becomes the current one."""
    record = await records.add_credit_record(session, customer_id, data=body, identity=identity)
    await session.flush()
    return record


@router.get(
    "/customers/{customer_id}/financial-profile",
    operation_id="customer-financial-profiles-list",
    responses=PROBLEMS,
)
async def list_financial_profiles(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep, page: PageDep
) -> Page[FinancialProfileOut]:
    """Financial profile history with derived figures (net worth, debt-to-income), newest first."""
    return await records.list_financial_profiles(
        session, customer_id, identity=identity, cursor=page.cursor, limit=page.limit
    )


MAX_HISTORY_POINTS = 1_000


@router.get(
    "/customers/{customer_id}/financial-profile/history",
    operation_id="customer-financial-profiles-history",
    responses=PROBLEMS,
)
async def financial_profile_history(
    customer_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    as_of_from: Annotated[date | None, Query(description="As of this date or later")] = None,
    as_of_to: Annotated[date | None, Query(description="As of this date or earlier")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY_POINTS)] = 120,
) -> FinancialHistory:
    """Income, assets, liabilities, net worth and debt-to-income over time, oldest first."""
    return await records.financial_history(
        session,
        customer_id,
        identity=identity,
        as_of_from=as_of_from,
        as_of_to=as_of_to,
        limit=limit,
    )


@router.post(
    "/customers/{customer_id}/financial-profile",
    status_code=201,
    operation_id="customer-financial-profiles-create",
    responses=PROBLEMS,
)
async def add_financial_profile(
    customer_id: uuid.UUID,
    body: FinancialProfileCreate,
    session: SessionDep,
    identity: IdentityDep,
) -> FinancialProfileOut:
    """Record the customer's current income, assets and liabilities."""
    profile = await records.add_financial_profile(
        session, customer_id, data=body, identity=identity
    )
    await session.flush()
    return profile


# --- accounts -----------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/accounts", operation_id="customer-accounts-list", responses=PROBLEMS
)
async def list_accounts(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> list[AccountOut]:
    """The customer's accounts, oldest first."""
    return await records.list_accounts(session, customer_id, identity=identity)


@router.post(
    "/customers/{customer_id}/accounts",
    status_code=201,
    operation_id="customer-accounts-create",
    responses=CONFLICT,
)
async def add_account(
    customer_id: uuid.UUID, body: AccountCreate, session: SessionDep, identity: IdentityDep
) -> AccountOut:
    """Open an account for the customer."""
    account = await records.add_account(session, customer_id, data=body, identity=identity)
    await session.flush()
    return account


@router.get(
    "/customers/{customer_id}/accounts/{account_id}",
    operation_id="customer-accounts-get",
    responses=PROBLEMS,
)
async def get_account(
    customer_id: uuid.UUID, account_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> AccountOut:
    """One account."""
    return await records.get_account(session, customer_id, account_id, identity=identity)


@router.patch(
    "/customers/{customer_id}/accounts/{account_id}",
    operation_id="customer-accounts-update",
    responses=PROBLEMS,
)
async def update_account(
    customer_id: uuid.UUID,
    account_id: uuid.UUID,
    body: AccountUpdate,
    session: SessionDep,
    identity: IdentityDep,
) -> AccountOut:
    """Change an account's type or status (closing sets the closing date)."""
    account = await records.update_account(
        session, customer_id, account_id, data=body, identity=identity
    )
    await session.flush()
    return account


# --- interactions -------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/interactions",
    operation_id="customer-interactions-list",
    responses=PROBLEMS,
)
async def list_interactions(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep, page: PageDep
) -> Page[InteractionOut]:
    """Contact history, newest first."""
    return await records.list_interactions(
        session, customer_id, identity=identity, cursor=page.cursor, limit=page.limit
    )


@router.post(
    "/customers/{customer_id}/interactions",
    status_code=201,
    operation_id="customer-interactions-create",
    responses=PROBLEMS,
)
async def log_interaction(
    customer_id: uuid.UUID, body: InteractionCreate, session: SessionDep, identity: IdentityDep
) -> InteractionOut:
    """Log a contact with the customer."""
    interaction = await records.log_interaction(session, customer_id, data=body, identity=identity)
    await session.flush()
    return interaction


# --- risk-control measures ----------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/measures",
    operation_id="customer-measures-list",
    responses=PROBLEMS,
)
async def list_measures(
    customer_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    active: Annotated[bool, Query(description="Only the measures in force")] = False,
) -> list[RiskMeasureOut]:
    """Risk-control measures taken on the customer's alerts, newest first."""
    return await follow_up.list_measures(
        session, customer_id, identity=identity, active_only=active
    )


@router.post(
    "/customers/{customer_id}/measures/{measure_id}/lift",
    operation_id="customer-measures-lift",
    responses=PROBLEMS,
)
async def lift_measure(
    customer_id: uuid.UUID,
    measure_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    body: MeasureLift | None = None,
) -> RiskMeasureOut:
    """Lift a measure: no longer in force (a frozen account is active again)."""
    measure = await follow_up.lift_measure(
        session, customer_id, measure_id, reason=body.reason if body else None, identity=identity
    )
    await session.flush()
    return measure
