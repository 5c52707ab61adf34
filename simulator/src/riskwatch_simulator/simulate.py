"""`riskwatch simulate`: build the bank, push it through the gateway, report what was caught."""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TextIO, TypeVar

from riskwatch_simulator.bank import (
    Bank,
    CreditRecord,
    FinancialProfile,
    Interaction,
    Transaction,
    label_outcomes,
)
from riskwatch_simulator.client import BatchResult, GatewayError, RiskWatchClient
from riskwatch_simulator.generator import BankSpec, generate_bank, live_stream, push_order
from riskwatch_simulator.pacing import Pacer, Progress
from riskwatch_simulator.payloads import (
    IdMap,
    account_body,
    credit_record_body,
    customer_body,
    financial_profile_body,
    interaction_body,
    label_body,
    transaction_body,
)
from riskwatch_simulator.report import AlertSeen, SimulationReport, build_report

T = TypeVar("T")
BookRecord = CreditRecord | FinancialProfile | Interaction


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    gateway: str
    customers: int = 200
    days: int = 365
    seed: int = 1
    rate: float | None = 2_000.0
    batch_size: int = 500
    concurrency: int = 2
    admin_email: str = "admin@riskwatch.local"
    admin_password: str = ""
    setup_rules: bool = True
    post_labels: bool = True
    live_seconds: float = 0.0
    settle_seconds: float = 20.0
    now: datetime | None = None


@dataclass(slots=True)
class PushLog:
    """What was sent and when (epoch seconds), for the latency figures."""

    transactions_sent: int = 0
    records_sent: int = 0
    rejected: int = 0
    transaction_posted_at: dict[str, float] = field(default_factory=dict)
    customer_posts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)

    def batch_done(self, result: BatchResult, customer_ids: Iterable[str]) -> None:
        self.transactions_sent += result.accepted + result.duplicates + result.rejected
        self.rejected += result.rejected
        for transaction_id in result.transaction_ids.values():
            self.transaction_posted_at[transaction_id] = result.posted_at
        for customer_id in set(customer_ids):
            self.customer_posts[customer_id].append(result.posted_at)
        self.errors.extend(str(error)[:300] for error in result.errors[:3])


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
    await bounded(8, [partial(one, customer.external_id) for customer in bank.customers])
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
        self.in_flight: deque[tuple[asyncio.Task[BatchResult], list[str]]] = deque()

    async def send(self, batch: list[Transaction]) -> None:
        await self.pacer.take(len(batch))
        items = [transaction_body(t, self.ids) for t in batch]
        customers = [item["customer_id"] for item in items]
        task = asyncio.create_task(self.client.post_batch(items))
        self.in_flight.append((task, customers))
        while len(self.in_flight) >= self.config.concurrency:
            await self._finish_oldest()

    async def _finish_oldest(self) -> None:
        task, customers = self.in_flight.popleft()
        self.log.batch_done(await task, customers)

    async def drain(self) -> None:
        while self.in_flight:
            await self._finish_oldest()

    async def push(self, records: list[BookRecord | Transaction], progress: Progress) -> None:
        batch: list[Transaction] = []
        for record in records:
            if isinstance(record, Transaction):
                batch.append(record)
                if len(batch) >= self.config.batch_size:
                    await self.send(batch)
                    progress.advance(len(batch))
                    batch = []
                continue
            # A customer's record goes after the transactions that happened before it.
            if any(t.customer_external_id == record.customer_external_id for t in batch):
                await self.send(batch)
                progress.advance(len(batch))
                batch = []
                await self.drain()
            await self._post(record)
            progress.advance(1)
        if batch:
            await self.send(batch)
            progress.advance(len(batch))
        await self.drain()

    async def _post(self, record: BookRecord) -> None:
        try:
            await post_record(self.client, record, self.ids, self.config.seed)
        except GatewayError as exc:
            if exc.status is None or exc.status >= 500:
                raise
            self.log.errors.append(str(exc)[:300])
            return
        self.log.records_sent += 1
        self.log.customer_posts[self.ids.customers[record.customer_external_id]].append(time.time())


RULE_FIELDS = (
    "name",
    "rule_type",
    "severity",
    "trigger_event_types",
    "condition",
    "dedup_key",
    "cooldown_seconds",
    "description",
)


def rule_from_template(template: dict[str, Any]) -> dict[str, Any]:
    """A `POST /v1/rules` body with a shipped template's default parameters."""
    return {name: template[name] for name in RULE_FIELDS if template.get(name) is not None}


async def ensure_rules(client: RiskWatchClient) -> int:
    """Enable every shipped rule template when no rule is active yet; returns active rules."""
    active = await list_all(client, "/v1/rules", status="active")
    if active:
        return len(active)
    templates = await client.get_json("/v1/rule-templates")
    items = templates["items"] if isinstance(templates, dict) else templates
    for template in items:
        rule = await client.post_json(
            "/v1/rules", rule_from_template(template), idempotency_key=f"sim-rule-{template['key']}"
        )
        await client.post_json(f"/v1/rules/{rule['id']}/activate", {})
    return len(items)


async def ensure_risk_department(client: RiskWatchClient) -> bool:
    """A team emailed and messaged about every alert, when nobody is subscribed yet (so the
    report has alert->notification figures). Returns whether it was created."""
    if await list_all(client, "/v1/subscriptions"):
        return False
    team = await client.post_json("/v1/teams", {"name": "Risk department (simulator)"})
    await client.post_json(
        "/v1/recipients",
        {"name": "Simulated risk analyst", "email": "risk@bank.example", "team_ids": [team["id"]]},
    )
    await client.post_json(
        "/v1/subscriptions",
        {"team_id": team["id"], "channels": ["email", "in_app"], "min_severity": "low"},
    )
    return True


async def list_all(client: RiskWatchClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor-paginated list."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await client.get_json(path, cursor=cursor, limit=200, **params)
        if isinstance(page, list):
            return items + page
        items.extend(page.get("items", []))
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def parse_alert(item: dict[str, Any]) -> AlertSeen:
    return AlertSeen(
        alert_id=str(item["id"]),
        customer_id=str(item["customer_id"]) if item.get("customer_id") else None,
        rule_type=str(item.get("rule_type", "")),
        rule_name=str(item.get("rule_name", "")),
        raised_at=datetime.fromisoformat(str(item["raised_at"]).replace("Z", "+00:00")),
        transaction_id=str(item["transaction_id"]) if item.get("transaction_id") else None,
    )


def page_items(page: Any, key: str = "items") -> list[dict[str, Any]]:
    if isinstance(page, list):
        return page
    found = page.get(key, page.get("items", []))
    return found if isinstance(found, list) else []


def first_notified_at(items: list[dict[str, Any]]) -> float | None:
    """The earliest moment a channel accepted one of an alert's notifications."""
    moments = []
    for item in items:
        for name in ("accepted_at", "sent_at", "delivered_at"):
            value = item.get(name)
            if value:
                moments.append(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
                break
    return min(moments).timestamp() if moments else None


def risk_scores(body: dict[str, Any]) -> dict[str, float]:
    """{kind: score} from `GET /v1/customers/{id}/risk` (`assessments: {kind: {score}}`)."""
    assessments = body.get("assessments")
    if not isinstance(assessments, dict):
        return {}
    return {
        kind: float(value["score"])
        for kind, value in assessments.items()
        if isinstance(value, dict) and isinstance(value.get("score"), int | float)
    }


async def wait_for_quiet(client: RiskWatchClient, seconds: float, *, timeout: float) -> int:
    """Poll the alert count until it has not changed for `seconds` (or the timeout)."""
    deadline = time.monotonic() + timeout
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(await list_all(client, "/v1/alerts"))
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since >= seconds:
            break
        await asyncio.sleep(min(2.0, seconds / 4))
    return last


async def collect_report(
    client: RiskWatchClient, bank: Bank, ids: IdMap, log: PushLog, base: SimulationReport
) -> SimulationReport:
    customer_ids = list(ids.customers.values())

    async def alerts_of(customer_id: str) -> tuple[str, list[AlertSeen]]:
        items = await list_all(client, "/v1/alerts", customer_id=customer_id)
        return customer_id, [parse_alert(item) for item in items]

    async def risk_of(customer_id: str) -> tuple[str, dict[str, float]]:
        try:
            return customer_id, risk_scores(
                await client.get_json(f"/v1/customers/{customer_id}/risk")
            )
        except GatewayError:
            return customer_id, {}

    alerts = dict(await bounded(16, [partial(alerts_of, c) for c in customer_ids]))
    risks = dict(await bounded(16, [partial(risk_of, c) for c in customer_ids]))
    labelled = {ids.customers[label.customer_external_id] for label in bank.labels}
    firsts = [
        min(found, key=lambda alert: alert.raised_at)
        for customer_id, found in alerts.items()
        if customer_id in labelled and found
    ]

    async def notified(alert: AlertSeen) -> tuple[str, float | None]:
        page = await client.get_json(f"/v1/alerts/{alert.alert_id}/notifications")
        return alert.alert_id, first_notified_at(page_items(page, "notifications"))

    notifications = dict(await bounded(8, [partial(notified, alert) for alert in firsts]))
    return build_report(
        labels=bank.labels,
        customer_ids=ids.customers,
        alerts_by_customer=alerts,
        event_posted_at=log.transaction_posted_at,
        customer_posts=log.customer_posts,
        notified_at={k: v for k, v in notifications.items() if v is not None},
        risk_scores=risks,
        base=base,
    )


async def simulate(
    config: SimulationConfig, *, client: RiskWatchClient | None = None, err: TextIO | None = None
) -> SimulationReport:
    err = err or sys.stderr
    now = config.now or datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    started = time.monotonic()
    spec = BankSpec(seed=config.seed, customers=config.customers, days=config.days, now=now)
    bank = generate_bank(spec)
    err.write(f"generated {bank.counts()}\n")
    owned = client is None
    client = client or RiskWatchClient(config.gateway, seed=config.seed)
    try:
        await client.sign_in(config.admin_email, config.admin_password)
        await client.create_ingest_key(f"simulator-{config.seed}-{int(time.time())}")
        if config.setup_rules:
            err.write(f"active rules: {await ensure_rules(client)}\n")
            if await ensure_risk_department(client):
                err.write("subscribed a simulated risk department to every alert\n")
        ids, log = IdMap(), PushLog()
        await onboard(client, bank, ids, Progress(len(bank.customers), "customers", stream=err))
        records = push_order(bank)
        progress = Progress(len(records), "records", stream=err)
        pusher = Pusher(client, ids, config, log)
        await pusher.push(records, progress)  # type: ignore[arg-type]
        progress.close()
        if config.post_labels:
            outcomes = label_outcomes(bank)
            bodies = [label_body(outcome, ids) for outcome in outcomes]
            err.write(f"labels posted: {await post_labels(client, bodies, config.seed)}\n")
        if config.live_seconds > 0:
            await push_live(pusher, bank, config, err)
        await wait_for_quiet(client, config.settle_seconds, timeout=config.settle_seconds * 6)
        base = SimulationReport(
            customers=len(bank.customers),
            transactions_sent=log.transactions_sent,
            records_sent=log.records_sent,
            seconds=time.monotonic() - started,
        )
        report = await collect_report(client, bank, ids, log, base)
        for error in log.errors[:5]:
            err.write(f"rejected: {error}\n")
        return report
    finally:
        if owned:
            await client.aclose()


TRAINABLE_KINDS = ("credit", "churn")


async def post_labels(client: RiskWatchClient, bodies: list[dict[str, Any]], seed: int) -> int:
    """Outcomes the credit and churn models can be trained on (`POST /v1/labels`, batched)."""
    trainable = [body for body in bodies if body["kind"] in TRAINABLE_KINDS]
    for start in range(0, len(trainable), 5_000):
        chunk = trainable[start : start + 5_000]
        key = f"sim-labels-{seed}-{start}-{len(chunk)}"
        await client.post_json("/v1/labels", {"labels": chunk}, idempotency_key=key)
    return len(trainable)


async def push_live(pusher: Pusher, bank: Bank, config: SimulationConfig, err: TextIO) -> None:
    rate = config.rate or 1_000.0
    count = int(rate * config.live_seconds)
    stream = live_stream(bank, start=datetime.now(UTC), rate=rate, seed=config.seed)
    progress = Progress(count, "live transactions", stream=err)
    while count > 0:
        batch = list(itertools.islice(stream, min(config.batch_size, count)))
        await pusher.send(batch)
        progress.advance(len(batch))
        count -= len(batch)
    await pusher.drain()
    progress.close()
