"""Waiting on the running system: alerts, emails, inbox messages (always with a deadline)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from riskwatch_shared.testing import wait_until
from riskwatch_simulator.api import list_all, page_items
from riskwatch_simulator.bank import Bank, Transaction
from riskwatch_simulator.client import GatewayError, RiskWatchClient
from riskwatch_simulator.config import SimulationConfig
from riskwatch_simulator.generator import BankSpec, generate_customer, push_order
from riskwatch_simulator.harness import RunningSystem
from riskwatch_simulator.pacing import Progress
from riskwatch_simulator.payloads import IdMap
from riskwatch_simulator.pushing import Pusher, PushLog, onboard

# Generous: the whole system shares two loaded cores with the test.
DEADLINE = 90.0
SEED = 2026


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


async def create_customer(admin: RiskWatchClient, name: str, **extra: Any) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "name": name,
        "document_type": "passport",
        "document_number": uuid.uuid4().hex[:12].upper(),
        "email": f"{uuid.uuid4().hex[:8]}@customer.example",
        "country": "GB",
        "segment": "retail",
        "kyc_status": "verified",
        "relationship_manager": "rm-ana",
        **extra,
    }
    created: dict[str, Any] = await admin.post_json("/v1/customers", body)
    return created


async def alerts_for(
    admin: RiskWatchClient, customer_id: str, rule_type: str
) -> list[dict[str, Any]]:
    alerts = await list_all(admin, "/v1/alerts", customer_id=customer_id)
    return [alert for alert in alerts if alert["rule_type"] == rule_type]


async def wait_for_alert(
    admin: RiskWatchClient, customer_id: str, rule_type: str
) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        alerts = await alerts_for(admin, customer_id, rule_type)
        return min(alerts, key=lambda alert: alert["raised_at"]) if alerts else None

    try:
        alert = await wait_until(found, timeout=DEADLINE, interval=0.25, message=f"{rule_type}")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{await explain(admin, customer_id)}") from exc
    assert alert is not None
    return alert


async def explain(admin: RiskWatchClient, customer_id: str) -> str:
    """What the system knows of a customer, for a failing scenario's message."""
    try:
        risk = await admin.get_json(f"/v1/customers/{customer_id}/risk")
        features = await admin.get_json(f"/v1/customers/{customer_id}/features")
    except GatewayError as exc:
        risk, features = {"levels": str(exc)}, {}
    alerts = await list_all(admin, "/v1/alerts", customer_id=customer_id)
    return (
        f"levels: {risk.get('levels')}\nfeatures: {features.get('features')}\n"
        f"alerts: {[(a['rule_type'], a['rule_name']) for a in alerts]}"
    )


def mails_mentioning(system: RunningSystem, text: str, to: str) -> list[EmailMessage]:
    found = []
    for message in system.mail.messages:
        body = message.get_body(preferencelist=("plain", "html"))
        content = body.get_content() if body is not None else ""
        if to in str(message["To"]) and (text in str(message["Subject"]) or text in content):
            found.append(message)
    return found


async def wait_for_mail(system: RunningSystem, text: str, to: str) -> EmailMessage:
    async def arrived() -> list[EmailMessage]:
        return mails_mentioning(system, text, to)

    mails = await wait_until(arrived, timeout=DEADLINE, interval=0.25, message=f"mail on {text}")
    return mails[0]


async def wait_for_inbox(admin: RiskWatchClient, alert_id: str) -> dict[str, Any]:
    async def arrived() -> dict[str, Any] | None:
        items = page_items(await admin.get_json("/v1/inbox"))
        return next((item for item in items if item.get("alert_id") == alert_id), None)

    message = await wait_until(arrived, timeout=DEADLINE, interval=0.25, message="inbox message")
    assert message is not None
    return message


def days_ago(days: int) -> date:
    return (datetime.now(UTC) - timedelta(days=days)).date()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def push_generated_customer(
    admin: RiskWatchClient,
    pattern: str,
    *,
    days: int,
    index: int = 0,
    hold_back_pattern: bool = False,
) -> tuple[str, Bank, IdMap, list[Transaction]]:
    """One simulated customer carrying `pattern`, onboarded and its history pushed in order.

    With `hold_back_pattern`, the pattern's own transactions are returned unsent.
    """
    # A fixed seed: each scenario is the same customer every run (`index` tells them apart).
    now = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    spec = BankSpec(seed=SEED, customers=index + 1, days=days, now=now)
    history = generate_customer(spec, index, pattern)  # type: ignore[arg-type]
    bank = Bank(seed=spec.seed, start=spec.start, now=spec.now)
    history.merge_into(bank)
    bank.transactions.sort(key=lambda t: t.occurred_at)
    held = set(bank.labels[0].transaction_external_ids) if hold_back_pattern else set()
    ids = IdMap()
    await onboard(admin, bank, ids, Progress(1, "customers", stream=io.StringIO()))
    records = [r for r in push_order(bank) if r.external_id not in held]
    config = SimulationConfig(gateway="", rate=None, batch_size=500, concurrency=1)
    pusher = Pusher(admin, ids, config, PushLog())
    await pusher.push(records, Progress(len(records), "records", stream=io.StringIO()))
    pending = [t for t in bank.transactions if t.external_id in held]
    return ids.customers[history.customer.external_id], bank, ids, pending
