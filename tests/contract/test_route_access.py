"""Defence in depth (issue 17): every `/v1` route of every service, reached directly without
the gateway, checks the gateway's signed identity, the shared policy table and ownership.

One running app per service (module-scoped, real PostgreSQL and NATS). The walk introspects the
apps' routes, so a route added later is walked too: no identity -> 401; each role -> exactly
what the table says (403 when refused, neither 401 nor 403 when allowed); a relationship
manager -> 404 on another RM's customer and alert. Then the findings one by one.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import text

import riskwatch_alerting
import riskwatch_customer
import riskwatch_notify
import riskwatch_scoring
from riskwatch_alerting.config import Settings as AlertingSettings
from riskwatch_alerting.main import create_app as create_alerting
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_customer.config import Settings as CustomerSettings
from riskwatch_customer.main import create_app as create_customer
from riskwatch_notify.config import Settings as NotifySettings
from riskwatch_notify.main import create_app as create_notify
from riskwatch_scoring.config import Settings as ScoringSettings
from riskwatch_scoring.main import create_app as create_scoring
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.policy import DEFAULT_POLICY, ROLES, decide
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import CHECKER, identity_headers, running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra

from .harness import database, payment_scored
from .writes import capture_effects, labelled

DUMMY_ID = str(uuid.UUID(int=7))
ADMIN = Identity(subject="walk-admin", roles=("admin",), staff_id="walk-admin")
RM_MINE = Identity(subject="walk-rm-mine", roles=("relationship_manager",), staff_id="rm-mine")
RM_OTHER = Identity(subject="walk-rm-other", roles=("relationship_manager",), staff_id="rm-other")
ROLE_CALLERS = {
    role: Identity(
        subject=f"walk-{role}",
        kind="api_key" if role == "ingest" else "user",
        roles=(role,),
        staff_id=f"walk-{role}",
    )
    for role in ROLES
}
# Bodies that get an action past validation, so the walk reaches the ownership check.
ACTION_BODIES: dict[str, dict[str, Any]] = {
    "comments": {"comment": "seen"},
    "contact": {"channel": "call", "note": "called"},
    "assign": {"assignee": "someone"},
    "resolve": {"outcome": "false_positive"},
    "measures": {"kind": "require_payment_review"},
    "reviews": {"note": "seen", "next_review_due": "2099-01-01"},
    "exit": {"reason": "settled"},
}
PARAM = re.compile(r"\{([^}]+)\}")


@dataclass
class Service:
    name: str
    app: FastAPI
    client: httpx.AsyncClient
    runtime: ServiceRuntime

    def headers(self, identity: Identity) -> dict[str, str]:
        return identity_headers(identity)

    async def call(
        self, identity: Identity | None, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {} if identity is None else self.headers(identity)
        return await self.client.request(method, path, headers=headers, **kwargs)


@dataclass
class World:
    services: dict[str, Service]
    mine: uuid.UUID  # RM_MINE's customer, and its alert
    theirs: uuid.UUID  # RM_OTHER's customer, and its alert
    alerts: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # customer -> alert


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    template: str

    def path(self, values: dict[str, str] | None = None) -> str:
        return PARAM.sub(lambda m: (values or {}).get(m.group(1), DUMMY_ID), self.template)

    def body(self) -> dict[str, Any] | None:
        if self.method in ("GET", "DELETE"):
            return None
        return ACTION_BODIES.get(self.template.rsplit("/", 1)[-1], {})

    def allowed(self, identity: Identity) -> bool:
        path = self.path()
        return decide(DEFAULT_POLICY.rule_for(self.method, path), identity.roles, identity.scopes)


def operations(services: dict[str, Service]) -> list[Operation]:
    found = [
        Operation(name, method, route.path)
        for name, service in services.items()
        # Included routers are resolved lazily: the routes as the app will serve them.
        for route in iter_route_contexts(service.app.routes)
        if isinstance(route.original_route, APIRoute) and route.path.startswith("/v1/")
        for method in sorted(route.methods or ())
    ]
    assert len({op.service for op in found}) == 4
    return found


@contextlib.asynccontextmanager
async def started(name: str, app: FastAPI) -> AsyncIterator[Service]:
    async with running_app(app) as (client, runtime):
        yield Service(name, app, client, runtime)


async def _create_customer(customer: Service, relationship_manager: str) -> uuid.UUID:
    body = {
        "kind": "individual",
        "name": f"Walk {relationship_manager}",
        "document_type": "passport",
        "document_number": f"P-{uuid.uuid4().hex[:10]}",
        "country": "GB",
        "relationship_manager": relationship_manager,
    }
    response = await customer.call(ADMIN, "POST", "/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def _raise_alerts(alerting: Service, customers: dict[uuid.UUID, str]) -> None:
    rule = await alerting.call(
        ADMIN,
        "POST",
        "/v1/rules",
        json={
            "name": "Walk: very big payment",
            "rule_type": "transaction_anomaly",
            "severity": "high",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            "condition": "txn.amount > 60000",
        },
    )
    assert rule.status_code == 201, rule.text
    activated = await alerting.call(CHECKER, "POST", f"/v1/rules/{rule.json()['id']}/activate")
    assert activated.status_code == 200, activated.text
    events: list[Event] = [
        CustomerCreated(
            customer_id=customer_id,
            customer=CustomerSnapshot(
                kind="individual", name="Walk", status="active", relationship_manager=rm
            ),
        )
        for customer_id, rm in customers.items()
    ]
    events += [payment_scored(customer_id, "75000", tag="walk") for customer_id in customers]
    async with alerting.runtime.session_factory() as session, session.begin():
        await AlertPipeline().handle_batch(events, session)


def _succeeds(service: Service, identity: Identity, path: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await service.call(identity, "GET", path)).status_code == 200

    return check


def _notify_knows(notify: Service, alert_id: uuid.UUID) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        async with notify.runtime.engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT count(*) FROM alerts WHERE alert_id = :a"), {"a": alert_id}
            )
        return bool(found)

    return check


@pytest.fixture(scope="module")
async def world(infra: Infra) -> AsyncIterator[World]:
    tag = uuid.uuid4().hex[:8]
    async with contextlib.AsyncExitStack() as stack:
        urls = {
            name: await stack.enter_async_context(database(infra, package, f"walk_{name}"))
            for name, package in (
                ("customer", riskwatch_customer),
                ("scoring", riskwatch_scoring),
                ("alerting", riskwatch_alerting),
                ("notify", riskwatch_notify),
            )
        }
        nats = infra.nats_url
        apps = {
            "customer": create_customer(
                CustomerSettings(database_url=urls["customer"], NATS_URL=nats, log_level="WARNING")
            ),
            "scoring": create_scoring(
                ScoringSettings(
                    database_url=urls["scoring"],
                    NATS_URL=nats,
                    log_level="WARNING",
                    consumer_durable=f"walk-scoring-{tag}",
                    consumer_fetch_timeout=0.2,
                )
            ),
            "alerting": create_alerting(
                AlertingSettings(
                    database_url=urls["alerting"],
                    NATS_URL=nats,
                    log_level="WARNING",
                    consumer_prefix=f"walk-alerting-{tag}",
                    # The in-process client waits for a response's end: the stream's comes soon.
                    sse_max_seconds=0.2,
                )
            ),
            "notify": create_notify(
                NotifySettings(
                    database_url=urls["notify"],
                    NATS_URL=nats,
                    log_level="WARNING",
                    alert_consumer_durable=f"walk-notify-{tag}",
                )
            ),
        }
        services = {
            name: await stack.enter_async_context(started(name, app)) for name, app in apps.items()
        }
        mine = await _create_customer(services["customer"], "rm-mine")
        theirs = await _create_customer(services["customer"], "rm-other")
        world = World(services, mine, theirs)
        await _raise_alerts(services["alerting"], {mine: "rm-mine", theirs: "rm-other"})
        for customer_id in (mine, theirs):
            listed = await services["alerting"].call(
                ADMIN, "GET", "/v1/alerts", params={"customer_id": str(customer_id)}
            )
            [alert] = listed.json()["items"]
            world.alerts[customer_id] = uuid.UUID(alert["id"])
        # Scoring and notify learn the owners from events (customer.created.v1 over NATS from
        # the customer service; alerting.alert_raised.v1 from alerting), in the transaction
        # that stores what they then serve.
        for customer_id in (mine, theirs):
            await wait_until(
                _succeeds(services["scoring"], ADMIN, f"/v1/customers/{customer_id}/risk"),
                timeout=30,
                message="scoring has the customer",
            )
            await wait_until(
                _notify_knows(services["notify"], world.alerts[customer_id]),
                timeout=30,
                message="notify has the alert",
            )
        yield world


# --- the walk -------------------------------------------------------------------------------


async def test_every_route_refuses_a_caller_without_the_gateway_identity(world: World) -> None:
    failures = []
    for op in operations(world.services):
        service = world.services[op.service]
        response = await service.call(None, op.method, op.path(), json=op.body())
        ok = response.status_code == 401 and response.headers["content-type"].startswith(
            "application/problem+json"
        )
        if not ok:
            failures.append(f"{op.service} {op.method} {op.template} -> {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_exactly_what_the_policy_table_says(world: World, role: str) -> None:
    caller = ROLE_CALLERS[role]
    failures = []
    for op in operations(world.services):
        service = world.services[op.service]
        response = await service.call(caller, op.method, op.path(), json=op.body())
        status = response.status_code
        expected_ok = (
            status not in (401, 403) and status < 500 if op.allowed(caller) else status == 403
        )
        if not expected_ok:
            allowed = "allowed" if op.allowed(caller) else "refused"
            failures.append(f"{op.service} {op.method} {op.template} ({allowed}) -> {status}")
    assert not failures, "\n".join(failures)


def _per_customer(op: Operation) -> bool:
    return "/customers/{customer_id}" in op.template or op.template.startswith(
        ("/v1/alerts/{", "/v1/cases/{", "/v1/watchlist/{")
    )


async def _their_watchlist_entry(alerting: Service, customer_id: uuid.UUID) -> str:
    """RM_OTHER's customer on the watch list (an admin's decision; idempotent per customer)."""
    entered = await alerting.call(
        ADMIN,
        "POST",
        "/v1/watchlist",
        json={
            "customer_id": str(customer_id),
            "reason": "Walk: arrears",
            "owner": "rm-other",
            "review_due": "2099-01-01",
            "exit_criteria": "No arrears for three months",
        },
    )
    assert entered.status_code in (200, 201), entered.text
    return str(entered.json()["id"])


async def test_an_rm_gets_404_for_another_rms_customer_and_alerts(world: World) -> None:
    cases = await world.services["alerting"].call(
        ADMIN, "GET", "/v1/cases", params={"customer_id": str(world.theirs)}
    )
    [their_case] = cases.json()["items"]
    values = {
        "customer_id": str(world.theirs),
        "alert_id": str(world.alerts[world.theirs]),
        "case_id": their_case["id"],
        "entry_id": await _their_watchlist_entry(world.services["alerting"], world.theirs),
    }
    walked = [op for op in operations(world.services) if _per_customer(op) and op.allowed(RM_MINE)]
    assert {op.service for op in walked} == {"customer", "scoring", "alerting", "notify"}
    # The watch list's entry is walked (an RM reads entries; reviews and exit are not theirs).
    assert ("GET", "/v1/watchlist/{entry_id}") in {(op.method, op.template) for op in walked}
    failures = []
    for op in walked:
        service = world.services[op.service]
        response = await service.call(RM_MINE, op.method, op.path(values), json=op.body())
        # The customer service's own writes may refuse the walk's empty body first (422);
        # everything else must be 404.
        lenient = op.service == "customer" and op.method != "GET"
        if response.status_code != 404 and not (lenient and response.status_code == 422):
            failures.append(f"{op.service} {op.method} {op.template} -> {response.status_code}")
    assert not failures, "\n".join(failures)


# Identifiers a list answer names its items by, for the path parameter that follows it.
ITEM_KEYS = ("id", "key", "severity", "version")


async def _first_item(service: Service, path: str) -> str | None:
    """The first item of the list at `path` (`{"items": [...]}` or a plain list), if any."""
    response = await service.call(ADMIN, "GET", path)
    if response.status_code != 200 or "json" not in response.headers["content-type"]:
        return None
    body = response.json()
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return None
    return next((str(items[0][key]) for key in ITEM_KEYS if key in items[0]), None)


async def _real_path(service: Service, template: str) -> str:
    """The template with each parameter taken from the list before it (so the walk reads real
    records where there are some); an unknown one stays a dummy id (404)."""
    path = template
    while match := PARAM.search(path):
        value = await _first_item(service, path[: match.start()].rstrip("/"))
        path = path[: match.start()] + (value or DUMMY_ID) + path[match.end() :]
    return path


async def test_no_get_route_writes_or_publishes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: every GET of every service, by an admin, on real records where there are
    some, commits no write (PostgreSQL assigns a transaction id only to one that writes) and
    publishes nothing, while the services' background loops go on around it."""
    gets = [op for op in operations(world.services) if op.method == "GET"]
    paths = {op: await _real_path(world.services[op.service], op.template) for op in gets}
    engines = [service.runtime.engine for service in world.services.values()]
    statuses: dict[str, int] = {}
    with capture_effects(engines, monkeypatch) as effects:
        # The capture itself sees a labelled write and a labelled publish.
        probe = world.services["scoring"].runtime
        with labelled("probe"):
            async with probe.session_factory() as session, session.begin():
                await session.execute(text("CREATE TEMP TABLE probe (n int) ON COMMIT DROP"))
            assert probe.bus.nc is not None
            await probe.bus.nc.publish("walk.probe", b"")
        assert effects.writes == ["probe"]
        assert effects.published == ["probe: walk.probe"]
        effects.writes.clear()
        effects.published.clear()
        for op in gets:
            label = f"{op.service} GET {op.template}"
            with labelled(label):
                response = await world.services[op.service].call(ADMIN, "GET", paths[op])
            statuses[label] = response.status_code
    refused = {label: status for label, status in statuses.items() if status >= 500}
    assert not refused, refused
    # The two that used to write were reached for real.
    assert statuses["scoring GET /v1/models"] == 200
    assert statuses["scoring GET /v1/models/{model_id}/drift"] == 200
    assert not effects.writes, "GET routes that wrote:\n" + "\n".join(effects.writes)
    assert not effects.published, "GET routes that published:\n" + "\n".join(effects.published)


# --- the findings, one by one ---------------------------------------------------------------


ALERTING_READS = (
    ("GET", "/v1/alerts"),
    ("GET", "/v1/alerts/stats"),
    ("GET", "/v1/alerts/export"),
    ("GET", "/v1/alerts/{alert}"),
    ("GET", "/v1/alerts/{alert}/timeline"),
    ("GET", "/v1/rules"),
    ("GET", "/v1/rule-fields"),
    ("GET", "/v1/rule-templates"),
    ("GET", "/v1/lists"),
    ("POST", "/v1/backtests"),
    ("POST", f"/v1/rules/{DUMMY_ID}/backtest"),
)


async def test_alerting_reads_need_the_gateway_identity(world: World) -> None:
    alerting = world.services["alerting"]
    alert = str(world.alerts[world.theirs])
    for method, template in ALERTING_READS:
        path = template.replace("{alert}", alert)
        response = await alerting.call(None, method, path, json={} if method == "POST" else None)
        assert response.status_code == 401, f"{method} {template}: {response.status_code}"
    forged = await alerting.client.get(
        "/v1/alerts", headers={"x-riskwatch-identity": "not-a-token"}
    )
    assert forged.status_code == 401


async def test_an_rm_lists_counts_and_exports_only_their_customers_alerts(world: World) -> None:
    alerting = world.services["alerting"]
    own, other = str(world.alerts[world.mine]), str(world.alerts[world.theirs])
    # The walk posts records of these customers too (a credit record can raise an early
    # warning a moment later): what the RM sees is their customer's alerts, every one.
    listed = (await alerting.call(RM_MINE, "GET", "/v1/alerts")).json()["items"]
    assert own in [item["id"] for item in listed]
    assert {item["customer_id"] for item in listed} == {str(world.mine)}
    filtered = await alerting.call(
        RM_MINE, "GET", "/v1/alerts", params={"customer_id": str(world.theirs)}
    )
    assert filtered.json()["items"] == []
    everyone = (await alerting.call(ADMIN, "GET", "/v1/alerts")).json()["items"]
    theirs = [item for item in everyone if item["customer_id"] != str(world.mine)]
    assert other in [item["id"] for item in theirs]
    rm_total = (await alerting.call(RM_MINE, "GET", "/v1/alerts/stats")).json()["total"]
    admin_total = (await alerting.call(ADMIN, "GET", "/v1/alerts/stats")).json()["total"]
    assert rm_total >= 1
    assert admin_total > rm_total  # the other RM's customer's alerts are not in the RM's
    # The export is refused to RMs by the table; an analyst gets both.
    exported = await alerting.call(RM_MINE, "GET", "/v1/alerts/export")
    assert exported.status_code == 403
    analyst = await alerting.call(ROLE_CALLERS["analyst"], "GET", "/v1/alerts/export")
    rows = list(csv.DictReader(io.StringIO(analyst.text.lstrip("\ufeff"))))
    assert {own, other} <= {row["id"] for row in rows}


async def test_an_rm_cannot_read_or_act_on_another_rms_alert(world: World) -> None:
    alerting = world.services["alerting"]
    other = world.alerts[world.theirs]
    before = (await alerting.call(ADMIN, "GET", f"/v1/alerts/{other}/timeline")).json()
    attempts = [
        ("GET", f"/v1/alerts/{other}", None),
        ("GET", f"/v1/alerts/{other}/timeline", None),
        ("POST", f"/v1/alerts/{other}/comments", {"comment": "peek"}),
        ("POST", f"/v1/alerts/{other}/acknowledge", {}),
        ("POST", f"/v1/alerts/{other}/contact", {"channel": "call", "note": "x"}),
        ("POST", f"/v1/alerts/{other}/escalate", {}),
    ]
    for method, path, body in attempts:
        response = await alerting.call(RM_MINE, method, path, json=body)
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert response.headers["content-type"].startswith("application/problem+json")
    detail = (await alerting.call(ADMIN, "GET", f"/v1/alerts/{other}")).json()
    assert detail["status"] == "new"
    assert (await alerting.call(ADMIN, "GET", f"/v1/alerts/{other}/timeline")).json() == before
    # Their own RM may.
    commented = await alerting.call(
        RM_OTHER, "POST", f"/v1/alerts/{other}/comments", json={"comment": "mine"}
    )
    assert commented.status_code == 200, commented.text


async def test_an_rm_cannot_read_another_rms_customer_scores(world: World) -> None:
    scoring = world.services["scoring"]
    for suffix in ("risk", "features", "risk/history"):
        theirs = await scoring.call(RM_MINE, "GET", f"/v1/customers/{world.theirs}/{suffix}")
        assert theirs.status_code == 404, f"{suffix}: {theirs.status_code}"
        own = await scoring.call(RM_MINE, "GET", f"/v1/customers/{world.mine}/{suffix}")
        assert own.status_code == 200, f"{suffix}: {own.text}"
        broader = await scoring.call(
            ROLE_CALLERS["viewer"], "GET", f"/v1/customers/{world.theirs}/{suffix}"
        )
        assert broader.status_code == 200, f"{suffix}: {broader.text}"
