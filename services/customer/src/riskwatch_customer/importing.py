"""CSV import of customers from another CRM: create new ones, update known ones (matched on
their identity document), report every row. New customers are written in bulk; a document
repeated within the file is reported, not imported twice."""

from __future__ import annotations

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


async def import_customers(
    session: AsyncSession, *, csv_text: str, identity: Identity, max_rows: int
) -> ImportReport:
    require_role(identity, IMPORT_ROLES, "importing customers")
    try:
        parsed = parse_customer_csv(csv_text, max_rows=max_rows)
    except InvalidCsv as exc:
        raise InvalidRecord(str(exc)) from exc
    documents = [
        (row.customer.document_type, row.customer.document_number)
        for row in parsed
        if row.customer is not None
    ]
    known: dict[tuple[str, str], Customer] = await repository.find_customers_by_documents(
        session, documents
    )
    now = utcnow()
    results: dict[int, ImportRowResult] = {}
    to_create: list[tuple[int, ParsedRow, CustomerCreate]] = []
    pending: set[tuple[str, str]] = set()
    for position, row in enumerate(parsed):
        if row.customer is None:
            results[position] = _rejected(row)
            continue
        document = (row.customer.document_type, row.customer.document_number)
        existing = known.get(document)
        if existing is None and document not in pending:
            pending.add(document)
            to_create.append((position, row, row.customer))
            continue
        if existing is None:
            results[position] = ImportRowResult(
                row=row.line,
                status="rejected",
                errors=[
                    ErrorItem(
                        loc=["row", row.line, "document_number"],
                        msg="the same document appears earlier in the file",
                        type="document.repeated",
                    )
                ],
            )
            continue
        # Only the columns the file filled in are taken over.
        changed = await service.apply_customer_changes(
            session,
            existing,
            changes=row.customer.model_dump(exclude_unset=True),
            identity=identity,
            now=now,
        )
        results[position] = ImportRowResult(
            row=row.line, status="updated" if changed else "unchanged", customer_id=existing.id
        )
    created = (
        await service.add_customers(
            session,
            many_fields=[customer.model_dump() for _, _, customer in to_create],
            identity=identity,
            now=now,
        )
        if to_create
        else []
    )
    for (position, row, _), customer in zip(to_create, created, strict=True):
        results[position] = ImportRowResult(row=row.line, status="created", customer_id=customer.id)
    rows = [results[position] for position in sorted(results)]
    return ImportReport(
        created=sum(r.status == "created" for r in rows),
        updated=sum(r.status == "updated" for r in rows),
        unchanged=sum(r.status == "unchanged" for r in rows),
        rejected=sum(r.status == "rejected" for r in rows),
        rows=rows,
    )
