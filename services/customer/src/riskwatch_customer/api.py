"""HTTP routes of the customer service. Thin: parse, call the use case, answer (the kit's unit
of work commits)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, ValidationError
from pydantic_core import to_json

from riskwatch_customer import follow_up, importing, intake, records, service
from riskwatch_customer.config import Settings
from riskwatch_customer.errors import InvalidRecord
from riskwatch_customer.repository import CustomerFilters, TransactionFilters
from riskwatch_customer.runtime import Intake, intake_of
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
    CustomerStatus,
    CustomerUpdate,
    Direction,
    FinancialHistory,
    FinancialProfileCreate,
    FinancialProfileOut,
    ImportReport,
    InteractionCreate,
    InteractionOut,
    MeasureLift,
    Page,
    RiskMeasureOut,
    TransactionBatchIn,
    TransactionBatchOut,
    TransactionChannel,
    TransactionIn,
    TransactionOut,
)
from riskwatch_shared.app import SessionDep, get_identity, get_runtime
from riskwatch_shared.contact import phone_or_none
from riskwatch_shared.contract import csv_body
from riskwatch_shared.events.common import RiskLevel
from riskwatch_shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, InvalidCursor, decode_cursor
from riskwatch_shared.security import Identity

router = APIRouter(prefix="/v1", tags=["customer"])
# The intake routes, included before `router`: routes are matched one by one in order, and
# these take far more calls than the forty others together.
intake_router = APIRouter(prefix="/v1", tags=["customer"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not allowed (problem+json)"},
    404: {"description": "Not found (problem+json)"},
    422: {"description": "Invalid input, with per-field `errors` (problem+json)"},
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    **_PROBLEMS,
    409: {"description": "Conflict (problem+json)"},
}
REPLAYED_HEADER = "Idempotent-Replayed"


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in its
# thread pool, a thread hop per dependency per request, a large share of the CPU that the
# single-transaction intake costs.


async def caller_identity(request: Request) -> Identity:
    """The gateway-signed caller: the shared check (which verifies a token once until it
    expires), without the thread-pool hop."""
    return get_identity(request)


async def intake_dependency(request: Request) -> Intake:
    return intake_of(get_runtime(request))


async def service_settings(request: Request) -> Settings:
    settings = get_runtime(request).settings
    assert isinstance(settings, Settings)
    return settings


IdentityDep = Annotated[Identity, Depends(caller_identity)]
SettingsDep = Annotated[Settings, Depends(service_settings)]
IntakeDep = Annotated[Intake, Depends(intake_dependency)]


@dataclass(frozen=True)
class PageParams:
    cursor: str | None
    limit: int


async def page_params(
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> PageParams:
    """`cursor` (opaque, from `next_cursor`) and `limit` of a paginated list."""
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except InvalidCursor as exc:
            raise InvalidRecord(
                "cursor is not valid",
                errors=[{"loc": ["query", "cursor"], "msg": str(exc), "type": "cursor"}],
            ) from exc
    return PageParams(cursor, limit)


PageDep = Annotated[PageParams, Depends(page_params)]


# --- customers ---------------------------------------------------------------------------


@router.get("/customers", operation_id="customer-customers-list", responses=_PROBLEMS)
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
    "/customers", status_code=201, operation_id="customer-customers-create", responses=_CONFLICT
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
    responses=_PROBLEMS,
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


@router.get("/customers/{customer_id}", operation_id="customer-customers-get", responses=_PROBLEMS)
async def get_customer(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> CustomerOut:
    """One customer, with their latest risk levels."""
    return await service.get_customer(session, customer_id, identity=identity)


@router.patch(
    "/customers/{customer_id}", operation_id="customer-customers-update", responses=_CONFLICT
)
async def update_customer(
    customer_id: uuid.UUID, body: CustomerUpdate, session: SessionDep, identity: IdentityDep
) -> CustomerOut:
    """Change the fields sent."""
    customer = await service.update_customer(session, customer_id, data=body, identity=identity)
    await session.flush()
    return customer


@router.put(
    "/customers/{customer_id}", operation_id="customer-customers-replace", responses=_CONFLICT
)
async def replace_customer(
    customer_id: uuid.UUID, body: CustomerCreate, session: SessionDep, identity: IdentityDep
) -> CustomerOut:
    """Replace the whole record (fields left out take their defaults)."""
    customer = await service.replace_customer(session, customer_id, data=body, identity=identity)
    await session.flush()
    return customer


@router.get(
    "/customers/{customer_id}/360", operation_id="customer-customer-360-get", responses=_PROBLEMS
)
async def customer_360(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep, settings: SettingsDep
) -> Customer360:
    """Everything a customer page shows, in one call."""
    return await service.customer_360(
        session, customer_id, identity=identity, recent=settings.recent_items_in_360
    )


@router.get(
    "/customers/{customer_id}/audit", operation_id="customer-audit-list", responses=_PROBLEMS
)
async def list_audit(
    customer_id: uuid.UUID, session: SessionDep, identity: IdentityDep, page: PageDep
) -> Page[AuditEntryOut]:
    """Every change to the customer's records: who, what, before and after; newest first."""
    return await service.list_audit(
        session, customer_id, identity=identity, cursor=page.cursor, limit=page.limit
    )


# --- credit records and financial profiles ------------------------------------------------


@router.get(
    "/customers/{customer_id}/credit-records",
    operation_id="customer-credit-records-list",
    responses=_PROBLEMS,
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
    responses=_PROBLEMS,
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
    responses=_PROBLEMS,
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
    responses=_PROBLEMS,
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
    responses=_PROBLEMS,
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
    "/customers/{customer_id}/accounts", operation_id="customer-accounts-list", responses=_PROBLEMS
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
    responses=_CONFLICT,
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
    responses=_PROBLEMS,
)
async def get_account(
    customer_id: uuid.UUID, account_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> AccountOut:
    """One account."""
    return await records.get_account(session, customer_id, account_id, identity=identity)


@router.patch(
    "/customers/{customer_id}/accounts/{account_id}",
    operation_id="customer-accounts-update",
    responses=_PROBLEMS,
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
    responses=_PROBLEMS,
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
    responses=_PROBLEMS,
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
    responses=_PROBLEMS,
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
    responses=_PROBLEMS,
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


# --- transactions -------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/transactions",
    operation_id="customer-customer-transactions-list",
    responses=_PROBLEMS,
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


IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_KEY_LENGTH = 200


def idempotency_key_of(request: Request) -> str | None:
    """The Idempotency-Key header, refused past 200 characters (as a declared header would)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and len(key) > _MAX_KEY_LENGTH:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("header", IDEMPOTENCY_HEADER),
                    "msg": f"String should have at most {_MAX_KEY_LENGTH} characters",
                    "input": key,
                }
            ]
        )
    return key


def transaction_in(body: bytes) -> TransactionIn:
    """The body validated in one pass from its bytes (pydantic's JSON parser), with the errors
    FastAPI would give for a declared body, under `body`."""
    if not body:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
        )
    try:
        return TransactionIn.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc


# The body and the header are read by hand rather than declared: FastAPI's dependency solving
# and its json.loads-then-validate cost as much CPU as the rest of the call. The OpenAPI
# document still declares both.
@intake_router.post(
    "/transactions",
    status_code=201,
    operation_id="customer-transactions-create",
    response_model=TransactionOut,
    responses={
        **_CONFLICT,
        201: {
            "description": "Stored and announced; a retry answers the same, with "
            f"`{REPLAYED_HEADER}: true`"
        },
    },
    openapi_extra={
        "parameters": [
            {
                "in": "header",
                "name": IDEMPOTENCY_HEADER,
                "required": False,
                "schema": {"type": "string", "maxLength": _MAX_KEY_LENGTH},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": TransactionIn.model_json_schema()}},
        },
    },
)
async def receive_transaction(request: Request) -> Response:
    """Take one transaction from a core system; idempotent on `external_id` and the key."""
    identity = await caller_identity(request)
    idempotency_key = idempotency_key_of(request)
    item = transaction_in(await request.body())
    resources = intake_of(get_runtime(request))
    outcome = await intake.receive_transaction(
        resources.pool,
        item=item,
        identity=identity,
        rules=resources.rules,
        idempotency_key=idempotency_key,
    )
    headers = {} if outcome.created else {REPLAYED_HEADER: "true"}
    return Response(
        to_json(outcome.transaction),
        status_code=201,
        media_type="application/json",
        headers=headers,
    )


@intake_router.post(
    "/transactions/batch",
    operation_id="customer-transactions-batch-create",
    response_model=TransactionBatchOut,
    responses=_PROBLEMS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": TransactionBatchIn.model_json_schema()}},
        }
    },
)
async def receive_batch(request: Request, resources: IntakeDep, identity: IdentityDep) -> Response:
    """Take up to 5,000 transactions; each is accepted, a duplicate, or rejected with reasons."""
    report = await intake.receive_batch(
        resources.pool,
        body=await request.body(),
        identity=identity,
        rules=resources.rules,
        max_items=resources.batch_max_items,
    )
    return Response(to_json(report), media_type="application/json")


@router.get(
    "/transactions/{transaction_id}", operation_id="customer-transactions-get", responses=_PROBLEMS
)
async def get_transaction(
    transaction_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> TransactionOut:
    """One stored transaction."""
    return await service.get_transaction(session, transaction_id, identity=identity)
