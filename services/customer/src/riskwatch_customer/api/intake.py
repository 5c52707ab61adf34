"""Routes: transaction intake from the bank's core systems, one at a time or in batches
(idempotent by `Idempotency-Key`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from pydantic_core import to_json

from riskwatch_customer import intake
from riskwatch_customer.api.common import (
    CONFLICT,
    PROBLEMS,
    REPLAYED_HEADER,
    IdentityDep,
    IntakeDep,
    caller_identity,
)
from riskwatch_customer.runtime import intake_of
from riskwatch_customer.schemas import (
    TransactionBatchIn,
    TransactionBatchOut,
    TransactionIn,
    TransactionOut,
)
from riskwatch_shared.app import get_runtime

router = APIRouter()


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
@router.post(
    "/transactions",
    status_code=201,
    operation_id="customer-transactions-create",
    response_model=TransactionOut,
    responses={
        **CONFLICT,
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


@router.post(
    "/transactions/batch",
    operation_id="customer-transactions-batch-create",
    response_model=TransactionBatchOut,
    responses=PROBLEMS,
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
