"""CSV import of customers from another CRM: create new ones, update known ones (matched on
their identity document), report every row. New customers are written in bulk; a document
repeated within the file is reported, not imported twice."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_customer import repository, service
from riskwatch_customer.csv_import import InvalidCsv, ParsedRow, parse_customer_csv
from riskwatch_customer.errors import InvalidRecord
from riskwatch_customer.models import Customer
from riskwatch_customer.permissions import IMPORT_ROLES, require_role
from riskwatch_customer.schemas import CustomerCreate, ErrorItem, ImportReport, ImportRowResult
from riskwatch_shared.events.base import utcnow
from riskwatch_shared.security import Identity


def _rejected(row: ParsedRow) -> ImportRowResult:
    return ImportRowResult(
        row=row.line,
        status="rejected",
        errors=[ErrorItem(loc=list(e.loc), msg=e.msg, type=e.type) for e in row.errors],
    )


_REPEATED = ErrorItem(
    loc=["document_number"],
    msg="the same document appears earlier in the file",
    type="document.repeated",
)


def _report(results: dict[int, ImportRowResult]) -> ImportReport:
    rows = [results[position] for position in sorted(results)]
    return ImportReport(
        created=sum(r.status == "created" for r in rows),
        updated=sum(r.status == "updated" for r in rows),
        unchanged=sum(r.status == "unchanged" for r in rows),
        rejected=sum(r.status == "rejected" for r in rows),
        rows=rows,
    )


async def _update_known(
    session: AsyncSession, row: ParsedRow, customer: Customer, *, identity: Identity, now: datetime
) -> ImportRowResult:
    """Take over the columns the file filled in (empty cells leave a field as it is)."""
    assert row.customer is not None
    changed = await service.apply_customer_changes(
        session,
        customer,
        changes=row.customer.model_dump(exclude_unset=True),
        identity=identity,
        now=now,
    )
    status: Literal["updated", "unchanged"] = "updated" if changed else "unchanged"
    return ImportRowResult(row=row.line, status=status, customer_id=customer.id)


async def import_customers(
    session: AsyncSession, *, csv_text: str, identity: Identity, max_rows: int
) -> ImportReport:
    require_role(identity, IMPORT_ROLES, "importing customers")
    try:
        parsed = parse_customer_csv(csv_text, max_rows=max_rows)
    except InvalidCsv as exc:
        raise InvalidRecord(str(exc)) from exc
    known = await repository.find_customers_by_documents(
        session,
        [(r.customer.document_type, r.customer.document_number) for r in parsed if r.customer],
    )
    now = utcnow()
    results: dict[int, ImportRowResult] = {}
    to_create: dict[tuple[str, str], tuple[int, ParsedRow, CustomerCreate]] = {}
    for position, row in enumerate(parsed):
        if row.customer is None:
            results[position] = _rejected(row)
            continue
        document = (row.customer.document_type, row.customer.document_number)
        if document in known:
            results[position] = await _update_known(
                session, row, known[document], identity=identity, now=now
            )
        elif document in to_create:
            results[position] = ImportRowResult(row=row.line, status="rejected", errors=[_REPEATED])
        else:
            to_create[document] = (position, row, row.customer)
    if to_create:
        created = await service.add_customers(
            session,
            many_fields=[customer.model_dump() for _, _, customer in to_create.values()],
            identity=identity,
            now=now,
        )
        for (position, row, _), customer in zip(to_create.values(), created, strict=True):
            results[position] = ImportRowResult(
                row=row.line, status="created", customer_id=customer.id
            )
    return _report(results)
