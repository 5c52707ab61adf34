"""W3C trace context end to end: a transaction pushed through the gateway with a `traceparent`
is received, scored, alerted on and notified about in that one trace, in the events' `trace_id`
and in the `traceparent` header of every JetStream message on the way."""

from __future__ import annotations

from typing import Any

import nats
import orjson
import pytest
from nats.js.api import DeliverPolicy

from riskwatch_shared.testing import wait_until
from riskwatch_shared.tracing import new_span_id, new_trace_id, parse_traceparent
from riskwatch_simulator.client import RiskWatchClient, batch_idempotency_key
from riskwatch_simulator.harness import RunningSystem
from riskwatch_simulator.payloads import transaction_body

from .conftest import RiskDepartment
from .helpers import DEADLINE, push_generated_customer, wait_for_alert, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

SUBJECTS = (
    "customer.transaction_received.v1",
    "scoring.transaction_scored.v2",
    "alerting.alert_raised.v1",
    "notify.notification_sent.v1",
)


async def traced_messages(nats_url: str, subject: str, trace_id: str) -> list[dict[str, Any]]:
    """The events on `subject` whose message carries `trace_id` in its `traceparent`, each
    checked to say the same trace id in its body."""
    nc = await nats.connect(nats_url)
    found: list[dict[str, Any]] = []
    try:
        js = nc.jetstream()
        sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        pending = (await sub.consumer_info()).num_pending
        for _ in range(pending):
            msg = await sub.next_msg(timeout=5)
            parent = parse_traceparent((msg.headers or {}).get("traceparent"))
            if parent is not None and parent.trace_id == trace_id:
                event = orjson.loads(msg.data)
                assert event["trace_id"] == trace_id, (subject, event["trace_id"])
                found.append(event)
        await sub.unsubscribe()
    finally:
        await nc.close()
    return found


async def test_one_transaction_is_one_trace_from_intake_to_notification(
    system: RunningSystem,
    admin: RiskWatchClient,
    scenario_rules: dict[str, dict[str, Any]],
    risk_department: RiskDepartment,
) -> None:
    customer_id, bank, ids, takeover = await push_generated_customer(
        admin, "account_takeover", days=45, index=7, hold_back_pattern=True
    )
    trace_id = new_trace_id()
    items = [transaction_body(t, ids) for t in takeover]
    key = batch_idempotency_key([item["external_id"] for item in items])
    headers = admin._headers("ingest", key) | {"traceparent": f"00-{trace_id}-{new_span_id()}-01"}
    response = await admin._http.post(
        "/v1/transactions/batch", json={"items": items}, headers=headers
    )
    assert response.status_code in (200, 201, 202, 207), response.text
    assert response.headers["x-trace-id"] == trace_id

    await wait_for_alert(admin, customer_id, "transaction_anomaly")
    await wait_for_mail(system, bank.customers[0].name, risk_department.email)

    # The customer's history can raise an alert of its own before the traced batch is relayed:
    # wait for the traced events themselves, never take "an alert exists" as "the trace arrived".
    nats_url = system.stack.env["NATS_URL"]
    sent_ids = {item["transaction_id"] for item in response.json()["items"]}

    async def intake_traced() -> list[dict[str, Any]] | None:
        received = await traced_messages(nats_url, SUBJECTS[0], trace_id)
        got = {e["transaction"]["transaction_id"] for e in received}
        return received if got >= sent_ids else None

    received = await wait_until(intake_traced, timeout=DEADLINE, interval=0.5, message="intake")
    assert received is not None
    assert {e["transaction"]["transaction_id"] for e in received} == sent_ids

    async def whole_path() -> dict[str, list[dict[str, Any]]] | None:
        by_subject = {s: await traced_messages(nats_url, s, trace_id) for s in SUBJECTS[1:]}
        return by_subject if all(by_subject.values()) else None

    path = await wait_until(whole_path, timeout=DEADLINE, interval=0.5, message="traced path")
    assert path is not None
    traced_alerts = {e["alert_id"]: e for e in path["alerting.alert_raised.v1"]}
    assert {e["customer_id"] for e in traced_alerts.values()} == {customer_id}
    notified = {e["alert_id"] for e in path["notify.notification_sent.v1"]}
    assert notified
    assert notified <= set(traced_alerts)
    alert = await admin.get_json(f"/v1/alerts/{next(iter(notified))}")
    assert alert["customer_id"] == customer_id
    assert alert["rule_type"] == "transaction_anomaly"
