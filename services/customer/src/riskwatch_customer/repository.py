"""All SQL of the customer service. Functions take the session first and only flush."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, insert, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from riskwatch_customer.errors import InvalidRecord
from riskwatch_customer.models import (
    Account,
    AuditEntry,
    CreditRecord,
    Customer,
    CustomerRiskLevels,
    FinancialProfile,
    Interaction,
    RiskMeasure,
    Transaction,
)
from riskwatch_shared.db.totals import Total, total_of
from riskwatch_shared.pagination import InvalidCursor, cursor_after, encode_cursor

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class CustomerFilters:
    name: str | None = None
    document_number: str | None = None
    phone: str | None = None
    segment: str | None = None
    relationship_manager: str | None = None
    status: str | None = None
    kind: str | None = None
    risk_level: str | None = None


async def keyset_page(
    session: AsyncSession,
    statement: Select[RowT],
    *,
    at_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[Any],
    cursor: str | None,
    limit: int,
    id_type: Callable[[str], Any] = uuid.UUID,
) -> tuple[list[RowT], str | None, Total]:
    """Newest first, `limit` rows after the cursor, the cursor of the next page, and how many
    rows the filters select in all pages."""
    total = await total_of(session, statement)
    if cursor is not None:
        try:
            after_at, after_id = cursor_after(cursor, id_type)
        except InvalidCursor as exc:
            raise InvalidRecord(
                "cursor is not valid",
                errors=[{"loc": ["query", "cursor"], "msg": str(exc), "type": "cursor"}],
            ) from exc
        statement = statement.where(tuple_(at_column, id_column) < tuple_(after_at, after_id))
    statement = statement.order_by(at_column.desc(), id_column.desc()).limit(limit + 1)
    rows = list((await session.execute(statement)).scalars().all())
    if len(rows) <= limit:
        return rows, None, total
    last = rows[limit - 1]
    next_cursor = encode_cursor(getattr(last, at_column.key), getattr(last, id_column.key))
    return rows[:limit], next_cursor, total


# --- customers ---------------------------------------------------------------------------


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer | None:
    return await session.get(Customer, customer_id)


async def get_customer_for_update(session: AsyncSession, customer_id: uuid.UUID) -> Customer | None:
    return await session.get(Customer, customer_id, with_for_update=True)


async def find_customers_by_documents(
    session: AsyncSession, documents: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Customer]:
    keys = list(documents)
    if not keys:
        return {}
    statement = select(Customer).where(
        tuple_(Customer.document_type, Customer.document_number).in_(keys)
    )
    found = (await session.execute(statement)).scalars().all()
    return {(c.document_type, c.document_number): c for c in found}


def _customer_conditions(filters: CustomerFilters, owner: str | None) -> list[Any]:
    conditions: list[Any] = []
    if filters.name:
        escaped = filters.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Customer.name.ilike(f"%{escaped}%"))
    for column, value in (
        (Customer.document_number, filters.document_number),
        (Customer.phone, filters.phone),
        (Customer.segment, filters.segment),
        (Customer.relationship_manager, filters.relationship_manager),
        (Customer.status, filters.status),
        (Customer.kind, filters.kind),
    ):
        if value is not None:
            conditions.append(column == value)
    if owner is not None:
        conditions.append(Customer.relationship_manager == owner)
    if filters.risk_level is not None:
        conditions.append(
            Customer.id.in_(
                select(CustomerRiskLevels.customer_id).where(
                    CustomerRiskLevels.overall_level == filters.risk_level
                )
            )
        )
    return conditions


async def list_customers(
    session: AsyncSession,
    filters: CustomerFilters,
    *,
    owner: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Customer], str | None, Total]:
    statement = select(Customer).where(and_(True, *_customer_conditions(filters, owner)))
    return await keyset_page(
        session,
        statement,
        at_column=Customer.created_at,
        id_column=Customer.id,
        cursor=cursor,
        limit=limit,
    )


async def risk_levels_of(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CustomerRiskLevels]:
    if not customer_ids:
        return {}
    statement = select(CustomerRiskLevels).where(CustomerRiskLevels.customer_id.in_(customer_ids))
    return {row.customer_id: row for row in (await session.execute(statement)).scalars().all()}


_RISK_KINDS = ("credit", "anomaly", "churn", "overall")


async def store_risk_level(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    kind: str,
    level: str,
    sequence: int,
    at: datetime,
) -> None:
    """Keep a level unless the stored one came from a later assessment (higher sequence)."""
    if kind not in _RISK_KINDS:
        raise ValueError(f"unknown risk kind {kind!r}")
    level_column, sequence_column = f"{kind}_level", f"{kind}_sequence"
    statement = text(
        f"INSERT INTO customer_risk_levels "
        f"(customer_id, {level_column}, {sequence_column}, updated_at) "
        "VALUES (:customer_id, :level, :sequence, :at) "
        f"ON CONFLICT (customer_id) DO UPDATE SET {level_column} = excluded.{level_column}, "
        f"{sequence_column} = excluded.{sequence_column}, "
        "updated_at = GREATEST(customer_risk_levels.updated_at, excluded.updated_at) "
        f"WHERE customer_risk_levels.{sequence_column} IS NULL "
        f"OR customer_risk_levels.{sequence_column} <= excluded.{sequence_column}"
    )
    await session.execute(
        statement, {"customer_id": customer_id, "level": level, "sequence": sequence, "at": at}
    )


@dataclass(frozen=True)
class RiskLevelUpdate:
    customer_id: uuid.UUID
    kind: str
    level: str
    sequence: int
    at: datetime


def _store_risk_levels_statement(kind: str) -> Any:
    level_column, sequence_column = f"{kind}_level", f"{kind}_sequence"
    return text(
        f"INSERT INTO customer_risk_levels "
        f"(customer_id, {level_column}, {sequence_column}, updated_at) "
        "SELECT * FROM unnest(CAST(:customer_ids AS uuid[]), CAST(:levels AS text[]), "
        "CAST(:sequences AS bigint[]), CAST(:ats AS timestamptz[])) "
        f"ON CONFLICT (customer_id) DO UPDATE SET {level_column} = excluded.{level_column}, "
        f"{sequence_column} = excluded.{sequence_column}, "
        "updated_at = GREATEST(customer_risk_levels.updated_at, excluded.updated_at) "
        f"WHERE customer_risk_levels.{sequence_column} IS NULL "
        f"OR customer_risk_levels.{sequence_column} <= excluded.{sequence_column}"
    )


async def store_risk_levels(session: AsyncSession, updates: Sequence[RiskLevelUpdate]) -> None:
    """Many levels at once: one statement per model kind. At most one update per
    (customer, kind) may be given (keep the highest sequence before calling)."""
    for kind in _RISK_KINDS:
        of_kind = [u for u in updates if u.kind == kind]
        if not of_kind:
            continue
        await session.execute(
            _store_risk_levels_statement(kind),
            {
                "customer_ids": [u.customer_id for u in of_kind],
                "levels": [u.level for u in of_kind],
                "sequences": [u.sequence for u in of_kind],
                "ats": [u.at for u in of_kind],
            },
        )


# --- customer records ---------------------------------------------------------------------


async def current_credit_record(
    session: AsyncSession, customer_id: uuid.UUID
) -> CreditRecord | None:
    statement = (
        select(CreditRecord)
        .where(CreditRecord.customer_id == customer_id)
        .order_by(CreditRecord.as_of.desc(), CreditRecord.created_at.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def current_financial_profile(
    session: AsyncSession, customer_id: uuid.UUID
) -> FinancialProfile | None:
    statement = (
        select(FinancialProfile)
        .where(FinancialProfile.customer_id == customer_id)
        .order_by(FinancialProfile.as_of.desc(), FinancialProfile.created_at.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def credit_records_of(customer_id: uuid.UUID) -> Select[CreditRecord]:
    return select(CreditRecord).where(CreditRecord.customer_id == customer_id)


def financial_profiles_of(customer_id: uuid.UUID) -> Select[FinancialProfile]:
    return select(FinancialProfile).where(FinancialProfile.customer_id == customer_id)


async def financial_history(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    as_of_from: date | None,
    as_of_to: date | None,
    limit: int,
) -> list[FinancialProfile]:
    """The customer's latest `limit` financial profiles in the range, oldest first (by as-of
    date, then when recorded)."""
    statement = financial_profiles_of(customer_id)
    if as_of_from is not None:
        statement = statement.where(FinancialProfile.as_of >= as_of_from)
    if as_of_to is not None:
        statement = statement.where(FinancialProfile.as_of <= as_of_to)
    newest = statement.order_by(
        FinancialProfile.as_of.desc(), FinancialProfile.created_at.desc()
    ).limit(limit)
    rows = list((await session.execute(newest)).scalars().all())
    return rows[::-1]


def interactions_of(customer_id: uuid.UUID) -> Select[Interaction]:
    return select(Interaction).where(Interaction.customer_id == customer_id)


@dataclass(frozen=True)
class TransactionFilters:
    """A customer's transactions narrowed for a case page or the 360: a time range (when they
    happened, to see what surrounds an alert's event), direction, channel, account, amount."""

    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    direction: str | None = None
    channel: str | None = None
    account_id: uuid.UUID | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None


def transactions_of(
    customer_id: uuid.UUID, filters: TransactionFilters | None = None
) -> Select[Transaction]:
    statement = select(Transaction).where(Transaction.customer_id == customer_id)
    if filters is None:
        return statement
    conditions = []
    if filters.occurred_from is not None:
        conditions.append(Transaction.occurred_at >= filters.occurred_from)
    if filters.occurred_to is not None:
        conditions.append(Transaction.occurred_at < filters.occurred_to)
    for column, value in (
        (Transaction.direction, filters.direction),
        (Transaction.channel, filters.channel),
        (Transaction.account_id, filters.account_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.min_amount is not None:
        conditions.append(Transaction.amount >= filters.min_amount)
    if filters.max_amount is not None:
        conditions.append(Transaction.amount <= filters.max_amount)
    return statement.where(*conditions)


def audit_of(customer_id: uuid.UUID) -> Select[AuditEntry]:
    return select(AuditEntry).where(AuditEntry.customer_id == customer_id)


async def accounts_of(session: AsyncSession, customer_id: uuid.UUID) -> list[Account]:
    statement = (
        select(Account).where(Account.customer_id == customer_id).order_by(Account.created_at)
    )
    return list((await session.execute(statement)).scalars().all())


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id, with_for_update=True)


async def account_number_taken(session: AsyncSession, number: str) -> bool:
    found = await session.scalar(select(Account.id).where(Account.number == number))
    return found is not None


async def get_interaction(session: AsyncSession, interaction_id: uuid.UUID) -> Interaction | None:
    return await session.get(Interaction, interaction_id, with_for_update=True)


async def recent(
    session: AsyncSession, statement: Select[RowT], order_column: Any, limit: int
) -> list[RowT]:
    ordered = statement.order_by(order_column.desc()).limit(limit)
    return list((await session.execute(ordered)).scalars().all())


async def add_audit_entries(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    if entries:
        await session.execute(insert(AuditEntry), list(entries))


async def get_transaction(session: AsyncSession, transaction_id: uuid.UUID) -> Transaction | None:
    return await session.get(Transaction, transaction_id)


def matches_any(column: Any, values: Iterable[Any]) -> Any:
    return or_(*(column == value for value in values))


async def count_rows(session: AsyncSession, statement: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


async def measures_of(
    session: AsyncSession, customer_id: uuid.UUID, *, active_only: bool
) -> Sequence[RiskMeasure]:
    """The customer's measures, newest first (those in force only, with `active_only`)."""
    statement = select(RiskMeasure).where(RiskMeasure.customer_id == customer_id)
    if active_only:
        statement = statement.where(RiskMeasure.status == "active")
    statement = statement.order_by(RiskMeasure.taken_at.desc(), RiskMeasure.id)
    return (await session.scalars(statement)).all()


async def get_measure(session: AsyncSession, measure_id: uuid.UUID) -> RiskMeasure | None:
    return await session.get(RiskMeasure, measure_id, with_for_update=True)


async def account_frozen_by_other(
    session: AsyncSession, account_id: uuid.UUID, *, except_measure: uuid.UUID
) -> bool:
    """Whether another measure in force still freezes the account."""
    statement = select(RiskMeasure.id).where(
        RiskMeasure.account_id == account_id,
        RiskMeasure.kind == "freeze_account",
        RiskMeasure.status == "active",
        RiskMeasure.id != except_measure,
    )
    return (await session.scalars(statement.limit(1))).first() is not None
