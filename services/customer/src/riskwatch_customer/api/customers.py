"""Routes: customers (list, create, import, get, update, replace), the customer 360 and the
audit trail."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from riskwatch_customer import importing, service
from riskwatch_customer.api.common import (
    CONFLICT,
    PROBLEMS,
    IdentityDep,
    PageDep,
    SettingsDep,
)
from riskwatch_customer.errors import InvalidRecord
from riskwatch_customer.repository import CustomerFilters
from riskwatch_customer.schemas import (
    AuditEntryOut,
    Customer360,
    CustomerCreate,
    CustomerOut,
    CustomerStatus,
    CustomerUpdate,
    ImportReport,
    Page,
)
from riskwatch_shared.app import SessionDep
from riskwatch_shared.contact import phone_or_none
from riskwatch_shared.contract import csv_body
from riskwatch_shared.events.common import RiskLevel

router = APIRouter()


# --- customers ---------------------------------------------------------------------------


@router.get("/customers", operation_id="customer-customers-list", responses=PROBLEMS)
async def list_customers(
    session: SessionDep,
    identity: IdentityDep,
    page: PageDep,
    name: Annotated[str | None, Query(description="Part of the name, any case")] = None,
    document_number: Annotated[str | None, Query(description="Exact document number")] = None,
    phone: Annotated[
        str | None, Query(description="Exact phone number, any international form")
    ] = None,
    segment: str | None = None,
    relationship_manager: Annotated[str | None, Query(description="Staff id")] = None,
    status: CustomerStatus | None = None,
    risk_level: Annotated[RiskLevel | None, Query(description="Latest overall level")] = None,
) -> Page[CustomerOut]:
    """List customers, newest first; a relationship manager sees their own only."""
    filters = CustomerFilters(
        name=name,
        document_number=document_number,
        phone=None if phone is None else (phone_or_none(phone) or phone),
        segment=segment,
        relationship_manager=relationship_manager,
        status=status,
        risk_level=risk_level,
    )
    return await service.list_customers(
        session, filters=filters, identity=identity, cursor=page.cursor, limit=page.limit
    )


@router.post(
    "/customers", status_code=201, operation_id="customer-customers-create", responses=CONFLICT
)
async def create_customer(
    body: CustomerCreate, session: SessionDep, identity: IdentityDep
) -> CustomerOut:
    """Create a customer."""
    customer = await service.create_customer(session, data=body, identity=identity)
    await session.flush()
    return customer


@router.post(
    "/customers/import",
    operation_id="customer-customers-import",
    responses=PROBLEMS,
    openapi_extra=csv_body(
        description="UTF-8 CSV with a header row. Columns: kind,name,document_type,"
        "document_number (required), phone,email,address,country,segment,kyc_status,"
        "relationship_manager,tags,status",
        example="kind,name,document_type,document_number,country,segment,relationship_manager\n"
        "individual,Ana Pereira,passport,P4821937,PT,retail,rm-lisbon-1\n"
        "corporate,Nordlicht Logistik GmbH,tax_id,DE811907980,DE,corporate,rm-berlin-2\n",
    ),
)
async def import_customers(
    request: Request, session: SessionDep, identity: IdentityDep, settings: SettingsDep
) -> ImportReport:
    """Import customers from a CSV export; customers are matched on their identity document."""
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRecord("the CSV must be UTF-8") from exc
    report = await importing.import_customers(
        session, csv_text=text, identity=identity, max_rows=settings.import_max_rows
    )
    await session.flush()
    return report


@router.get("/customers/{customer_id}", operation_id="customer-customers-get", responses=PROBLEMS)
async def get_customer(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> CustomerOut:
    """One customer, with their latest risk levels."""
    return await service.get_customer(session, customer_id, identity=identity)


@router.patch(
    "/customers/{customer_id}", operation_id="customer-customers-update", responses=CONFLICT
)
async def update_customer(
    customer_id: uuid.UUID, body: CustomerUpdate, session: SessionDep, identity: IdentityDep
) -> CustomerOut:
    """Change the fields sent."""
    customer = await service.update_customer(session, customer_id, data=body, identity=identity)
    await session.flush()
    return customer


@router.put(
    "/customers/{customer_id}", operation_id="customer-customers-replace", responses=CONFLICT
)
async def replace_customer(
    customer_id: uuid.UUID, body: CustomerCreate, session: SessionDep, identity: IdentityDep
) -> CustomerOut:
    """Replace the whole record (fields left out take their defaults)."""
    customer = await service.replace_customer(session, customer_id, data=body, identity=identity)
    await session.flush()
    return customer


@router.get(
    "/customers/{customer_id}/360", operation_id="customer-customer-360-get", responses=PROBLEMS
)
async def customer_360(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep, settings: SettingsDep
) -> Customer360:
    """Everything a customer page shows, in one call."""
    return await service.customer_360(
        session, customer_id, identity=identity, recent=settings.recent_items_in_360
    )


@router.get(
    "/customers/{customer_id}/audit", operation_id="customer-audit-list", responses=PROBLEMS
)
async def list_audit(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep, page: PageDep
) -> Page[AuditEntryOut]:
    """Every change to the customer's records: who, what, before and after; newest first."""
    return await service.list_audit(
        session, customer_id, identity=identity, cursor=page.cursor, limit=page.limit
    )
