"""`riskwatch simulate`: build the bank, push it through the gateway, report what was caught."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TextIO

from riskwatch_simulator.api import (
    ensure_risk_department,
    ensure_rules,
    first_notified_at,
    list_all,
    page_items,
    parse_alert,
    risk_scores,
    wait_for_quiet,
)
from riskwatch_simulator.bank import Bank, label_outcomes
from riskwatch_simulator.client import GatewayError, RetryPolicy, RiskWatchClient
from riskwatch_simulator.config import SimulationConfig
from riskwatch_simulator.generator import (
    BankSpec,
    generate_bank,
    live_stream,
    shifted,
    timeline,
)
from riskwatch_simulator.lead_time import fetch_lead_times
from riskwatch_simulator.pacing import Progress
from riskwatch_simulator.payloads import IdMap, label_body
from riskwatch_simulator.pushing import Pusher, PushLog, bounded, onboard, post_labels
from riskwatch_simulator.report import AlertSeen, PushTimes, SimulationReport, build_report

__all__ = ["SimulationConfig", "simulate"]


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
    # Notifications of the alerts that may have caught a pattern (labelled customers only).
    candidates = [alert for c, found in alerts.items() if c in labelled for alert in found]

    async def notified(alert: AlertSeen) -> tuple[str, float | None]:
        page = await client.get_json(f"/v1/alerts/{alert.alert_id}/notifications")
        return alert.alert_id, first_notified_at(page_items(page, "notifications"))

    notifications = dict(await bounded(8, [partial(notified, alert) for alert in candidates]))
    times = PushTimes(log.transaction_ids, log.transaction_posted_at, log.record_posted_at)
    report = build_report(
        labels=bank.labels,
        customer_ids=ids.customers,
        alerts_by_customer=alerts,
        times=times,
        notified_at={k: v for k, v in notifications.items() if v is not None},
        risk_scores=risks,
        base=base,
    )
    report.credit_warning = await fetch_lead_times(client, bank.labels, ids.customers)
    return report


async def simulate(
    config: SimulationConfig,
    *,
    client: RiskWatchClient | None = None,
    err: TextIO | None = None,
    settled: Callable[[], Awaitable[object]] | None = None,
) -> SimulationReport:
    """`settled`: waits until the system has processed everything sent (a caller that sees
    inside it, like a benchmark); by default the alert count holding still for a while."""
    err = err or sys.stderr
    now = config.now or datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    started = time.monotonic()
    spec = BankSpec(
        seed=config.seed, customers=config.customers, days=config.days, now=now, hard=config.hard
    )
    bank = generate_bank(spec)
    if config.shift_days:
        bank = shifted(bank, days=config.shift_days, tag=f"R{config.shift_days}")
    err.write(f"generated {bank.counts()}\n")
    owned = client is None
    retry = RetryPolicy(attempts=config.attempts)
    client = client or RiskWatchClient(config.gateway, seed=config.seed, retry=retry)
    try:
        await client.sign_in(config.admin_email, config.admin_password)
        await client.create_ingest_key(f"simulator-{config.seed}-{int(time.time())}")
        if config.setup_rules:
            err.write(f"active rules: {await ensure_rules(client)}\n")
            if await ensure_risk_department(client):
                err.write("subscribed a simulated risk department to every alert\n")
        ids, log = IdMap(), PushLog()
        await onboard(client, bank, ids, Progress(len(bank.customers), "customers", stream=err))
        # In time order, records in step with the payments: each is assessed as of its time.
        records = timeline(bank)
        progress = Progress(len(records), "records", stream=err)
        pusher = Pusher(client, ids, config, log)
        await pusher.push(records, progress)
        progress.close()
        err.write(
            f"pushed in {time.monotonic() - started:,.0f}s "
            f"({log.waited_seconds:,.0f}s waiting at window ends)\n"
        )
        if config.post_labels:
            outcomes = label_outcomes(bank)
            bodies = [label_body(outcome, ids) for outcome in outcomes]
            err.write(f"labels posted: {await post_labels(client, bodies, config.seed)}\n")
        if config.live_seconds > 0:
            await push_live(pusher, bank, config, err)
        if settled is not None:
            await settled()
            err.write(f"processed in {time.monotonic() - started:,.0f}s\n")
        await wait_for_quiet(client, config.settle_seconds, timeout=config.settle_seconds * 6)
        base = SimulationReport(
            customers=len(bank.customers),
            start=bank.start,
            days=(bank.now - bank.start).days,
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
