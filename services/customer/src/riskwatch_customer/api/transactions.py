"""Routes: stored transactions (a customer's, filtered and paged; one by id)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from riskwatch_customer import service
from riskwatch_customer.api.common import (
    PROBLEMS,
    IdentityDep,
    PageDep,
)
from riskwatch_customer.repository import TransactionFilters
from riskwatch_customer.schemas import (
    Direction,
    Page,
    TransactionChannel,
    TransactionOut,
)
from riskwatch_shared.app import SessionDep

router = APIRouter()


# --- transactions -------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/transactions",
    operation_id="customer-customer-transactions-list",
    responses=PROBLEMS,
)
async def list_customer_transactions(
    customer_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    page: PageDep,
    occurred_from: Annotated[
        AwareDatetime | None,
        Query(description="Happened at or after (ISO 8601 with offset): around an alert's event"),
    ] = None,
    occurred_to: Annotated[AwareDatetime | None, Query(description="Happened before")] = None,
    direction: Direction | None = None,
    channel: TransactionChannel | None = None,
    account_id: uuid.UUID | None = None,
    min_amount: Annotated[
        Decimal | None,
        Query(ge=0, max_digits=24, allow_inf_nan=False, description="In its own currency"),
    ] = None,
    max_amount: Annotated[
        Decimal | None,
        Query(
            ge=0,
            max_digits=24,
            allow_inf_nan=False,
            description="At most this amount, in its own currency (with `min_amount`: a range)",
        ),
    ] = None,
) -> Page[TransactionOut]:
    """The customer's transactions, most recently received first, filtered."""
    filters = TransactionFilters(
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        direction=direction,
        channel=channel,
        account_id=account_id,
        min_amount=min_amount,
        max_amount=max_amount,
    )
    return await service.list_transactions(
        session,
        customer_id,
        identity=identity,
        cursor=page.cursor,
        limit=page.limit,
        filters=filters,
    )


@router.get(
    "/transactions/{transaction_id}", operation_id="customer-transactions-get", responses=PROBLEMS
)
async def get_transaction(
    transaction_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> TransactionOut:
    """One stored transaction."""
    return await service.get_transaction(session, transaction_id, identity=identity)
