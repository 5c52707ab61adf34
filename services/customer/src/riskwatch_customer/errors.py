"""The customer service's errors (rendered as problem+json by the shared handler)."""

from __future__ import annotations

from riskwatch_shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class CustomerNotFound(NotFound):
    title = "Customer not found"
    type_slug = "customer-not-found"


class AccountNotFound(NotFound):
    title = "Account not found"
    type_slug = "account-not-found"


class MeasureNotFound(NotFound):
    title = "Risk measure not found"
    type_slug = "risk-measure-not-found"


class InteractionNotFound(NotFound):
    title = "Interaction not found"
    type_slug = "interaction-not-found"


class TransactionNotFound(NotFound):
    title = "Transaction not found"
    type_slug = "transaction-not-found"


class DuplicateCustomer(Conflict):
    title = "Customer already exists"
    type_slug = "duplicate-customer"


class DuplicateAccount(Conflict):
    title = "Account number already in use"
    type_slug = "duplicate-account"


class IdempotencyKeyReused(Conflict):
    title = "Idempotency key reused with a different request"
    type_slug = "idempotency-key-reused"


class NotAllowed(Forbidden):
    title = "Not allowed"
    type_slug = "forbidden"


class InvalidTransaction(InvalidInput):
    title = "Invalid transaction"
    type_slug = "invalid-transaction"


class InvalidRecord(InvalidInput):
    title = "Invalid record"
    type_slug = "invalid-record"


class DuplicateTransaction(Conflict):
    title = "External id already used by a different transaction"
    type_slug = "duplicate-transaction"
