"""CSV import of customers from another CRM: create new ones, update known ones (matched on
their identity document), report every row."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_customer import repository, service
from riskwatch_customer.csv_import import InvalidCsv, ParsedRow, parse_customer_csv
from riskwatch_customer.errors import InvalidRecord
from riskwatch_customer.models import Customer
from riskwatch_customer.permissions import IMPORT_ROLES, require_role
from riskwatch_customer.schemas import ErrorItem, ImportReport, ImportRowResult
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
    results: list[ImportRowResult] = []
    for row in parsed:
        if row.customer is None:
            results.append(_rejected(row))
            continue
        fields = row.customer.model_dump()
        document = (row.customer.document_type, row.customer.document_number)
        existing = known.get(document)
        if existing is None:
            created = await service.add_customer(session, fields=fields, identity=identity, now=now)
            known[document] = created
            results.append(ImportRowResult(row=row.line, status="created", customer_id=created.id))
            continue
        # Only the columns the file filled in are taken over.
        sent = row.customer.model_dump(exclude_unset=True)
        changed = await service.apply_customer_changes(
            session, existing, changes=sent, identity=identity, now=now
        )
        results.append(
            ImportRowResult(
                row=row.line, status="updated" if changed else "unchanged", customer_id=existing.id
            )
        )
    return ImportReport(
        created=sum(r.status == "created" for r in results),
        updated=sum(r.status == "updated" for r in results),
        unchanged=sum(r.status == "unchanged" for r in results),
        rejected=sum(r.status == "rejected" for r in results),
        rows=results,
    )
