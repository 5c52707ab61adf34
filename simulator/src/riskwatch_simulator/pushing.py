"""Onboarding the bank's customers and pushing its history: batches, records, labels."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from riskwatch_simulator.api import list_all
from riskwatch_simulator.bank import Bank, CreditRecord, FinancialProfile, Interaction, Transaction
from riskwatch_simulator.client import BatchResult, GatewayError, RiskWatchClient
from riskwatch_simulator.config import SimulationConfig
from riskwatch_simulator.generator import record_moment
from riskwatch_simulator.pacing import Pacer, Progress
from riskwatch_simulator.payloads import (
    IdMap,
    account_body,
    credit_record_body,
    customer_body,
    financial_profile_body,
    interaction_body,
    transaction_body,
)

T = TypeVar("T")
BookRecord = CreditRecord | FinancialProfile | Interaction


@dataclass(slots=True)
class PushLog:
    """What was sent and when (epoch seconds), for the latency figures."""

    transactions_sent: int = 0
    records_sent: int = 0
    rejected: int = 0
    transaction_ids: dict[str, str] = field(default_factory=dict)  # external -> service id
    transaction_posted_at: dict[str, float] = field(default_factory=dict)
    record_posted_at: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # Seconds the pusher waited at window ends for payments and records in flight.
    waited_seconds: float = 0.0

    def batch_done(self, result: BatchResult) -> None:
        self.transactions_sent += result.accepted + result.duplicates + result.rejected
        self.rejected += result.rejected
        self.transaction_ids.update(result.transaction_ids)
        for transaction_id in result.transaction_ids.values():
            self.transaction_posted_at[transaction_id] = result.posted_at
        self.errors.extend(str(error)[:300] for error in result.errors[:3])


@dataclass(frozen=True, slots=True)
class RecordStep:
    records: list[BookRecord]


@dataclass(frozen=True, slots=True)
class TransactionStep:
    transactions: list[Transaction]


def push_steps(
    timeline: Iterable[BookRecord | Transaction], window: timedelta
) -> Iterator[RecordStep | TransactionStep]:
    """The timeline cut into windows of the bank's time (pure): per window, the records that
    come before its first payment, then its payments, and its later records with the next
    window's first ones. A record waits at most one window behind a payment of its own
    customer that came after it; the sender waits for the payments in flight only once a
    window, not before every record (one wait per record made a year of a bank take hours).
    A window's payments go customer by customer, each customer's in time order, as a core
    system's end-of-period extract comes (sorted by account): the services then load and
    store each customer's state once for many of its payments instead of once for each.
    """
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    records: list[BookRecord] = []
    transactions: list[Transaction] = []
    current: int | None = None
    for item in timeline:
        slot = (record_moment(item) - epoch) // window
        if slot != current and transactions:
            yield TransactionStep(by_customer(transactions))
            transactions = []
        current = slot
        if isinstance(item, Transaction):
            if records and not transactions:
                yield RecordStep(records)
                records = []
            transactions.append(item)
        else:
            records.append(item)
    if transactions:
        yield TransactionStep(by_customer(transactions))
    if records:
        yield RecordStep(records)


def by_customer(transactions: list[Transaction]) -> list[Transaction]:
    return sorted(transactions, key=lambda t: (t.customer_external_id, t.occurred_at))


async def bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def onboard(client: RiskWatchClient, bank: Bank, ids: IdMap, progress: Progress) -> None:
    """Customers, then their accounts; the same idempotency key per record on every retry."""
    accounts = bank.accounts_of()

    async def one(external_id: str) -> None:
        customer = next_customer[external_id]
        body = customer_body(customer)
        customer_id = await create_once(
            client,
            "/v1/customers",
            body,
            key=f"sim-{bank.seed}-{external_id}",
            lookup=("/v1/customers", {"document_number": body["document_number"]}, {}),
        )
        ids.customers[external_id] = customer_id
        for account in accounts.get(external_id, []):
            body = account_body(account)
            path = f"/v1/customers/{customer_id}/accounts"
            ids.accounts[account.external_id] = await create_once(
                client,
                path,
                body,
                key=f"sim-{bank.seed}-{account.external_id}",
                lookup=(path, {}, {"number": body["number"]}),
            )
        progress.advance(1)

    next_customer = {customer.external_id: customer for customer in bank.customers}
    await bounded(16, [partial(one, customer.external_id) for customer in bank.customers])
    progress.close()


async def create_once(
    client: RiskWatchClient,
    path: str,
    body: dict[str, Any],
    *,
    key: str,
    lookup: tuple[str, dict[str, Any], dict[str, Any]],
) -> str:
    """Create a record and return its id; on 409 (an earlier attempt landed) find it instead."""
    try:
        created = await client.post_json(path, body, idempotency_key=key)
        return str(created["id"])
    except GatewayError as exc:
        if exc.status != 409:
            raise
    list_path, params, match = lookup
    for item in await list_all(client, list_path, **params):
        if all(item.get(name) == value for name, value in match.items()):
            return str(item["id"])
    raise GatewayError("POST", path, 409, "conflict, and no existing record matches")


async def post_record(client: RiskWatchClient, record: BookRecord, ids: IdMap, seed: int) -> None:
    customer_id = ids.customers[record.customer_external_id]
    key = f"sim-{seed}-{record.external_id}"
    if isinstance(record, CreditRecord):
        path, body = "credit-records", credit_record_body(record)
    elif isinstance(record, FinancialProfile):
        path, body = "financial-profile", financial_profile_body(record)
    else:
        path, body = "interactions", interaction_body(record)
    await client.post_json(f"/v1/customers/{customer_id}/{path}", body, idempotency_key=key)


class Pusher:
    """Transactions in batches (a few in flight), records in step with the transactions' time."""

    def __init__(
        self, client: RiskWatchClient, ids: IdMap, config: SimulationConfig, log: PushLog
    ) -> None:
        self.client, self.ids, self.config, self.log = client, ids, config, log
        self.pacer = Pacer(config.rate)
        self.in_flight: deque[asyncio.Task[BatchResult]] = deque()

    async def send(self, batch: list[Transaction]) -> None:
        await self.pacer.take(len(batch))
        items = [transaction_body(t, self.ids) for t in batch]
        self.in_flight.append(asyncio.create_task(self.client.post_batch(items)))
        while len(self.in_flight) >= self.config.concurrency:
            await self._finish_oldest()

    async def _finish_oldest(self) -> None:
        self.log.batch_done(await self.in_flight.popleft())

    async def drain(self) -> None:
        while self.in_flight:
            await self._finish_oldest()

    async def push(self, records: list[BookRecord | Transaction], progress: Progress) -> None:
        """Send in order, a window of the bank's time at a time (`push_steps`): the payments
        of a window in batches, several in flight; its records once the payments before them
        are in, customers side by side (each customer's own records still in order), while
        the next window's payments go out."""
        posting: asyncio.Task[None] | None = None
        for step in push_steps(records, timedelta(hours=self.config.window_hours)):
            if isinstance(step, RecordStep):
                waited = time.monotonic()
                if posting is not None:
                    await posting
                await self.drain()
                self.log.waited_seconds += time.monotonic() - waited
                posting = asyncio.create_task(self._post_records(step.records, progress))
                continue
            for start in range(0, len(step.transactions), self.config.batch_size):
                batch = step.transactions[start : start + self.config.batch_size]
                await self.send(batch)
                progress.advance(len(batch))
        if posting is not None:
            await posting
        await self.drain()

    async def _post_records(self, records: list[BookRecord], progress: Progress) -> None:
        by_customer: dict[str, list[BookRecord]] = {}
        for record in records:
            by_customer.setdefault(record.customer_external_id, []).append(record)

        async def in_order(own: list[BookRecord]) -> None:
            for record in own:
                await self._post(record)
                progress.advance(1)

        await bounded(32, [partial(in_order, own) for own in by_customer.values()])

    async def _post(self, record: BookRecord) -> None:
        try:
            await post_record(self.client, record, self.ids, self.config.seed)
        except GatewayError as exc:
            if exc.status is None or exc.status >= 500:
                raise
            self.log.errors.append(str(exc)[:300])
            return
        self.log.records_sent += 1
        self.log.record_posted_at[record.external_id] = time.time()


TRAINABLE_KINDS = ("credit", "churn")


async def post_labels(client: RiskWatchClient, bodies: list[dict[str, Any]], seed: int) -> int:
    """Outcomes the credit and churn models can be trained on (`POST /v1/labels`, batched)."""
    trainable = [body for body in bodies if body["kind"] in TRAINABLE_KINDS]
    for start in range(0, len(trainable), 5_000):
        chunk = trainable[start : start + 5_000]
        key = f"sim-labels-{seed}-{start}-{len(chunk)}"
        await client.post_json("/v1/labels", {"labels": chunk}, idempotency_key=key)
    return len(trainable)
