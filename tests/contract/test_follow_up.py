"""Issue 20, item 5: an alert's follow-up reaches the customer's record and takes effect.

Customer, scoring and alerting run in process (real PostgreSQL and NATS); the events go
through the outboxes and the consumers as in production. A contact logged on an alert becomes
an interaction on the customer; a measure taken on the alert is recorded on the customer
(360, `/customers/{id}`), announced to scoring, and enforced by the pre-authorisation score;
`add_to_list` fills alerting's managed list; lifting a measure undoes its effect.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import riskwatch_alerting
import riskwatch_customer
import riskwatch_scoring
from riskwatch_alerting.config import Settings as AlertingSettings
from riskwatch_alerting.main import create_app as create_alerting
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_customer import follow_up
from riskwatch_customer.config import Settings as CustomerSettings
from riskwatch_customer.main import create_app as create_customer
from riskwatch_customer.models import Interaction, RiskMeasure
from riskwatch_scoring.config import Settings as ScoringSettings
from riskwatch_scoring.main import create_app as create_scoring
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.alerting import CustomerContacted, RiskMeasureTaken
from riskwatch_shared.events.common import CustomerSnapshot, RiskMeasureData
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import CHECKER, identity_headers, running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra

from .harness import database, payment_scored

ADMIN = Identity(subject="follow-admin", roles=("admin",), staff_id="follow-admin")
ANALYST = Identity(
    subject="ann", roles=("analyst",), staff_id="ann", name="Ann Analyst", kind="user"
)
RM = Identity(subject="rm-follow", roles=("relationship_manager",), staff_id="rm-follow")
VIEWER = Identity(subject="vic", roles=("viewer",), staff_id="vic")
WAIT = 30.0


@dataclass
class Service:
    client: httpx.AsyncClient
    runtime: ServiceRuntime

    async def call(
        self, identity: Identity, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        return await self.client.request(method, path, headers=identity_headers(identity), **kwargs)

    async def ok(self, identity: Identity, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(identity, method, path, **kwargs)
        assert response.status_code in (200, 201), (method, path, response.text)
        return response.json()


@dataclass
class World:
    customer: Service
    scoring: Service
    alerting: Service
    customer_id: uuid.UUID
    account_id: uuid.UUID
    other_account_id: uuid.UUID
    alert_ids: list[uuid.UUID]


@contextlib.asynccontextmanager
async def started(app: Any) -> AsyncIterator[Service]:
    async with running_app(app) as (client, runtime):
        yield Service(client, runtime)


async def _raise_alerts(alerting: Service, customer_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    rule = await alerting.ok(
        ADMIN,
        "POST",
        "/v1/rules",
        json={
            "name": "Follow-up: very big payment",
            "rule_type": "transaction_anomaly",
            "severity": "high",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            "condition": "txn.amount > 60000",
            "dedup_key": "transaction_id",
            "cooldown_seconds": 0,
        },
    )
    await alerting.ok(CHECKER, "POST", f"/v1/rules/{rule['id']}/activate")
    snapshot = CustomerSnapshot(
        kind="individual", name="Follow Up", status="active", relationship_manager=RM.staff_id
    )
    events = [
        CustomerCreated(customer_id=customer_id, customer=snapshot),
        *(payment_scored(customer_id, "75000", tag="follow") for _ in range(count)),
    ]
    async with alerting.runtime.session_factory() as session, session.begin():
        await AlertPipeline().handle_batch(list(events), session)
    listed = await alerting.ok(ADMIN, "GET", "/v1/alerts", params={"customer_id": str(customer_id)})
    assert len(listed["items"]) == count, listed
    return [uuid.UUID(alert["id"]) for alert in listed["items"]]


@pytest.fixture(scope="module")
async def world(infra: Infra) -> AsyncIterator[World]:
    tag = uuid.uuid4().hex[:8]
    async with contextlib.AsyncExitStack() as stack:
        urls = {
            name: await stack.enter_async_context(database(infra, package, f"follow_{name}"))
            for name, package in (
                ("customer", riskwatch_customer),
                ("scoring", riskwatch_scoring),
                ("alerting", riskwatch_alerting),
            )
        }
        nats = infra.nats_url
        customer = await stack.enter_async_context(
            started(
                create_customer(
                    CustomerSettings(
                        database_url=urls["customer"], NATS_URL=nats, log_level="WARNING"
                    )
                )
            )
        )
        scoring = await stack.enter_async_context(
            started(
                create_scoring(
                    ScoringSettings(
                        database_url=urls["scoring"],
                        NATS_URL=nats,
                        log_level="WARNING",
                        consumer_durable=f"follow-scoring-{tag}",
                        consumer_fetch_timeout=0.2,
                    )
                )
            )
        )
        alerting = await stack.enter_async_context(
            started(
                create_alerting(
                    AlertingSettings(
                        database_url=urls["alerting"],
                        NATS_URL=nats,
                        log_level="WARNING",
                        consumer_prefix=f"follow-alerting-{tag}",
                    )
                )
            )
        )
        created = await customer.ok(
            ADMIN,
            "POST",
            "/v1/customers",
            json={
                "kind": "individual",
                "name": "Follow Up",
                "document_type": "passport",
                "document_number": f"F-{uuid.uuid4().hex[:10]}",
                "country": "GB",
                "relationship_manager": RM.staff_id,
            },
        )
        customer_id = uuid.UUID(created["id"])
        accounts = []
        for _ in range(2):
            account = await customer.ok(
                ADMIN,
                "POST",
                f"/v1/customers/{customer_id}/accounts",
                json={
                    "number": f"GB{uuid.uuid4().int % 10**18:018d}",
                    "type": "current",
                    "currency": "EUR",
                    "opened_at": "2020-01-01",
                },
            )
            accounts.append(uuid.UUID(account["id"]))
        alert_ids = await _raise_alerts(alerting, customer_id, 3)

        async def scored() -> bool:
            response = await scoring.call(ADMIN, "GET", f"/v1/customers/{customer_id}/features")
            return response.status_code == 200

        await wait_until(scored, timeout=WAIT, interval=0.1, message="scoring has the customer")
        yield World(customer, scoring, alerting, customer_id, accounts[0], accounts[1], alert_ids)


async def preauthorise(
    world: World, account_id: uuid.UUID, direction: str, amount: str = "120.00"
) -> dict[str, Any]:
    body = {
        "customer_id": str(world.customer_id),
        "account_id": str(account_id),
        "direction": direction,
        "amount": amount,
        "currency": "EUR",
        "channel": "card",
    }
    result: dict[str, Any] = await world.scoring.ok(
        ANALYST, "POST", "/v1/scores/transaction", json=body
    )
    return result


def _answers(
    world: World, account_id: uuid.UUID, direction: str, action: str
) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def check() -> dict[str, Any] | None:
        result = await preauthorise(world, account_id, direction)
        return result if result["recommended_action"] == action else None

    return check


async def test_a_contact_on_an_alert_becomes_an_interaction(world: World) -> None:
    alert_id = world.alert_ids[0]
    await world.alerting.ok(
        ANALYST,
        "POST",
        f"/v1/alerts/{alert_id}/contact",
        json={"channel": "sms", "note": "Texted the customer about the payment."},
    )
    path = f"/v1/customers/{world.customer_id}/interactions"

    async def filed() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await world.customer.ok(ADMIN, "GET", path))["items"]
        return [i for i in items if i["alert_id"] == str(alert_id)]

    [interaction] = await wait_until(filed, timeout=WAIT, interval=0.05, message="interaction")
    assert interaction["channel"] == "sms"
    assert interaction["direction"] == "outbound"
    assert interaction["summary"] == "Texted the customer about the payment."
    assert (interaction["staff_member"], interaction["staff_name"]) == ("ann", "Ann Analyst")
    view = await world.customer.ok(ADMIN, "GET", f"/v1/customers/{world.customer_id}/360")
    assert interaction["id"] in [i["id"] for i in view["recent_interactions"]]
    timeline = await world.alerting.ok(ADMIN, "GET", f"/v1/alerts/{alert_id}/timeline")
    [contact] = [e for e in timeline if e["change"] == "customer_contacted"]
    assert contact["detail"]["contact_id"] == interaction["id"]
    # The RM who owns the customer sees it too (the 360 is theirs).
    mine = await world.customer.ok(RM, "GET", f"/v1/customers/{world.customer_id}/360")
    assert interaction["id"] in [i["id"] for i in mine["recent_interactions"]]


async def test_a_frozen_account_is_blocked_until_the_freeze_is_lifted(world: World) -> None:
    alert_id = world.alert_ids[1]
    before = await preauthorise(world, world.account_id, "outbound")
    assert before["recommended_action"] != "block"
    taken = await world.alerting.call(
        ANALYST,
        "POST",
        f"/v1/alerts/{alert_id}/measures",
        json={"kind": "freeze_account", "account_id": str(world.account_id), "reason": "fraud"},
    )
    assert taken.status_code == 200, taken.text
    timeline = await world.alerting.ok(ADMIN, "GET", f"/v1/alerts/{alert_id}/timeline")
    [entry] = [e for e in timeline if e["change"] == "measure_taken"]
    assert entry["detail"]["kind"] == "freeze_account"
    assert entry["detail"]["account_id"] == str(world.account_id)
    assert entry["actor"] == "ann"

    blocked = await wait_until(
        _answers(world, world.account_id, "outbound", "block"),
        timeout=WAIT,
        interval=0.05,
        message="the frozen account's payment is blocked",
    )
    assert blocked["reasons"][0]["code"] == "account_frozen"
    # Inbound to the frozen account too; the customer's other account is not frozen.
    assert (await preauthorise(world, world.account_id, "inbound"))["recommended_action"] == (
        "block"
    )
    other = await preauthorise(world, world.other_account_id, "outbound")
    assert other["recommended_action"] != "block"

    customer_path = f"/v1/customers/{world.customer_id}"
    read = await world.customer.ok(ADMIN, "GET", customer_path)
    [measure] = [m for m in read["active_measures"] if m["kind"] == "freeze_account"]
    assert measure["account_id"] == str(world.account_id)
    assert (measure["alert_id"], measure["taken_by_name"]) == (str(alert_id), "Ann Analyst")
    assert measure["id"] == entry["detail"]["measure_id"]
    view = await world.customer.ok(ADMIN, "GET", f"{customer_path}/360")
    assert measure["id"] in [m["id"] for m in view["active_measures"]]
    [account] = [a for a in view["accounts"] if a["id"] == str(world.account_id)]
    assert account["status"] == "frozen"
    features = (await world.scoring.ok(ADMIN, "GET", f"{customer_path}/features"))["features"]
    assert features["frozen_accounts"] == 1
    assert features["frozen_account_ids"] == [str(world.account_id)]

    # Analysts, risk managers and admins take measures; an RM or a viewer may not.
    for caller in (RM, VIEWER):
        refused = await world.alerting.call(
            caller,
            "POST",
            f"/v1/alerts/{alert_id}/measures",
            json={"kind": "require_payment_review"},
        )
        assert refused.status_code == 403, refused.text
    refused_lift = await world.customer.call(
        RM, "POST", f"{customer_path}/measures/{measure['id']}/lift", json={}
    )
    assert refused_lift.status_code == 403

    lifted = await world.customer.ok(
        ANALYST,
        "POST",
        f"{customer_path}/measures/{measure['id']}/lift",
        json={"reason": "customer identified"},
    )
    assert (lifted["status"], lifted["lifted_by"]) == ("lifted", "ann")
    await wait_until(
        _answers(world, world.account_id, "outbound", before["recommended_action"]),
        timeout=WAIT,
        interval=0.05,
        message="the lifted freeze no longer blocks",
    )
    view = await world.customer.ok(ADMIN, "GET", f"{customer_path}/360")
    assert measure["id"] not in [m["id"] for m in view["active_measures"]]
    [account] = [a for a in view["accounts"] if a["id"] == str(world.account_id)]
    assert account["status"] == "active"
    history = await world.customer.ok(ADMIN, "GET", f"{customer_path}/measures")
    assert [(m["id"], m["status"]) for m in history if m["kind"] == "freeze_account"] == [
        (measure["id"], "lifted")
    ]


async def test_review_limit_and_list_measures(world: World) -> None:
    alert_id = world.alert_ids[2]
    alert_path = f"/v1/alerts/{alert_id}/measures"
    managed = await world.alerting.ok(
        ADMIN,
        "POST",
        "/v1/lists",
        json={"name": f"follow_{uuid.uuid4().hex[:6]}", "kind": "accounts"},
    )
    for body in (
        {"kind": "require_payment_review", "reason": "watch outflows"},
        {"kind": "reduce_limit", "new_limit": "2500.00", "currency": "EUR"},
        {"kind": "add_to_list", "list_id": managed["id"], "value": "DE89370400440532013000"},
    ):
        response = await world.alerting.call(ANALYST, "POST", alert_path, json=body)
        assert response.status_code == 200, (body, response.text)
    entries = await world.alerting.ok(ADMIN, "GET", f"/v1/lists/{managed['id']}/entries")
    items = entries["items"] if isinstance(entries, dict) else entries
    assert "DE89370400440532013000" in [e["value"] for e in items]

    reviewed = await wait_until(
        _answers(world, world.other_account_id, "outbound", "review"),
        timeout=WAIT,
        interval=0.05,
        message="outgoing payments are reviewed",
    )
    assert "payment_review_required" in [r["code"] for r in reviewed["reasons"]]
    inbound = await preauthorise(world, world.other_account_id, "inbound")
    assert "payment_review_required" not in [r["code"] for r in inbound["reasons"]]
    # The reduced limit (2,500.00 EUR) holds an outgoing payment above it for review. Its
    # measure travels as its own events, after the review's: wait for it too.

    async def limit_held() -> dict[str, Any] | None:
        above = await preauthorise(world, world.other_account_id, "outbound", amount="2600.00")
        codes = [r["code"] for r in above["reasons"]]
        return above if "reduced_limit_exceeded" in codes else None

    await wait_until(limit_held, timeout=WAIT, interval=0.05, message="the reduced limit holds")
    below = await preauthorise(world, world.other_account_id, "outbound", amount="2400.00")
    assert "reduced_limit_exceeded" not in [r["code"] for r in below["reasons"]]

    customer_path = f"/v1/customers/{world.customer_id}"
    wanted = {"require_payment_review", "reduce_limit", "add_to_list"}

    # Each measure reaches the customer service as its own events, in no fixed order:
    # the list entry can still be on its way when the limit already holds.
    async def all_measures_active() -> list[dict[str, Any]] | None:
        active: list[dict[str, Any]] = await world.customer.ok(
            ADMIN, "GET", f"{customer_path}/measures", params={"active": "true"}
        )
        return active if wanted <= {m["kind"] for m in active} else None

    active = await wait_until(
        all_measures_active, timeout=WAIT, interval=0.05, message="the three measures are active"
    )
    by_kind = {m["kind"]: m for m in active}
    limit = by_kind["reduce_limit"]
    assert (Decimal(limit["limit_amount"]), limit["limit_currency"]) == (Decimal("2500"), "EUR")
    assert by_kind["add_to_list"]["list_name"] == managed["name"]
    # A viewer sees listed values masked, on the customer and in the alert's timeline.
    masked = await world.customer.ok(VIEWER, "GET", f"{customer_path}/measures")
    [listed] = [m for m in masked if m["kind"] == "add_to_list"]
    assert listed["list_value"] == "****3000"
    timeline = await world.alerting.ok(VIEWER, "GET", f"/v1/alerts/{alert_id}/timeline")
    shown = [e["detail"].get("list_value") for e in timeline if e["change"] == "measure_taken"]
    assert "****3000" in shown
    assert "DE89370400440532013000" not in str(timeline)

    async def in_features() -> dict[str, Any] | None:
        found = await world.scoring.ok(ADMIN, "GET", f"{customer_path}/features")
        features: dict[str, Any] = found["features"]
        return features if features["limit_reduced"] else None

    features = await wait_until(in_features, timeout=WAIT, interval=0.05, message="features")
    assert features["payment_review_required"] is True
    assert Decimal(features["reduced_limit"]) == Decimal("2500")

    # Measures follow an open alert: once resolved, the alert takes none.
    await world.alerting.ok(
        ANALYST,
        "POST",
        f"/v1/alerts/{alert_id}/resolve",
        json={"outcome": "mitigated_limit_reduced"},
    )
    late = await world.alerting.call(
        ANALYST, "POST", alert_path, json={"kind": "require_payment_review"}
    )
    assert late.status_code == 409
    invalid = await world.alerting.call(
        ANALYST, "POST", f"/v1/alerts/{world.alert_ids[0]}/measures", json={"kind": "reduce_limit"}
    )
    assert invalid.status_code == 422


async def test_redelivered_follow_up_events_change_nothing(world: World) -> None:
    now = datetime.now(UTC)
    contact = CustomerContacted(
        customer_id=world.customer_id,
        alert_id=world.alert_ids[0],
        contact_id=uuid.uuid4(),
        channel="call",
        note="Called twice?",
        actor="ann",
        actor_name="Ann Analyst",
        contacted_at=now,
    )
    measure = RiskMeasureTaken(
        customer_id=world.customer_id,
        alert_id=world.alert_ids[0],
        measure=RiskMeasureData(
            measure_id=uuid.uuid4(), kind="require_payment_review", taken_by="ann", taken_at=now
        ),
    )
    factory = world.customer.runtime.session_factory
    for _ in range(2):  # the same event twice, as a re-delivery under a new event id would be
        async with factory() as session, session.begin():
            await follow_up.record_contact(contact, session)
            await follow_up.record_measure(measure, session)
    async with factory() as session:
        interactions = await session.scalar(
            select(func.count()).where(Interaction.id == contact.contact_id)
        )
        measures = await session.scalar(
            select(func.count()).where(RiskMeasure.id == measure.measure.measure_id)
        )
    assert (interactions, measures) == (1, 1)
