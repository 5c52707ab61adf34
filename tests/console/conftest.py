"""The console against the whole system as processes (the launcher `riskwatch run` uses), once
per session: people of each role, a credit-risk alert on a relationship manager's customer."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from riskwatch_shared.testing import wait_until
from riskwatch_shared.testing.oidc_provider import LocalIdp, running_idp
from riskwatch_simulator.api import list_all, page_items, rule_from_template
from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import ADMIN_EMAIL, ADMIN_PASSWORD, RunningSystem, running_system

# Generous: the whole system shares two loaded cores with the test.
DEADLINE = 90.0
PASSWORD = "console-test-password-0123"
TEMPLATES = ("missed_payment_or_delinquency", "credit_level_rose")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Person:
    email: str
    password: str
    subject: str


@dataclass(frozen=True)
class People:
    admin: Person
    analyst: Person
    rm_ana: Person
    rm_bob: Person


@dataclass(frozen=True)
class AlertedCustomer:
    customer_id: str
    alert: dict[str, Any]


class ConsoleBrowser:
    """The console as a browser uses it: cookies kept, the CSRF token read from each page."""

    def __init__(self, base_url: str, *, accept_language: str = "en") -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"accept-language": accept_language}, timeout=30
        )
        self.csrf: str | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **params: str) -> httpx.Response:
        response = await self.http.get(path, params=params or None)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(
        self, path: str, data: dict[str, str], *, csrf: bool = True, **headers: str
    ) -> httpx.Response:
        form = {**data, "csrf_token": self.csrf or ""} if csrf else data
        response = await self.http.post(path, data=form, headers=headers)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def sign_in(self, person: Person, *, next_path: str = "/desk") -> httpx.Response:
        await self.get("/sign-in", next=next_path)
        return await self.post(
            "/sign-in", {"email": person.email, "password": person.password, "next": next_path}
        )


@pytest.fixture(scope="session")
def idp() -> Iterator[LocalIdp]:
    """The bank's SSO: a real OpenID Connect provider over HTTPS on this machine."""
    with running_idp() as provider:
        yield provider


def sso_env(idp: LocalIdp) -> dict[str, str]:
    """The gateway and the console set up for sign-in with the provider."""
    return {
        "GATEWAY_OIDC_ISSUER": idp.issuer,
        "GATEWAY_OIDC_CLIENT_ID": idp.client_id,
        "GATEWAY_OIDC_CA_FILE": idp.ca_file,
        "CONSOLE_OIDC_ISSUER": idp.issuer,
        "CONSOLE_OIDC_CLIENT_ID": idp.client_id,
        "CONSOLE_OIDC_CLIENT_SECRET": idp.client_secret,
        "CONSOLE_OIDC_CA_FILE": idp.ca_file,
        "CONSOLE_OIDC_PROVIDER_NAME": "Bank SSO",
        # The provider is on loopback: allowed on purpose (netguard refuses it otherwise).
        "RISKWATCH_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
    }


@pytest.fixture(scope="session")
def system(idp: LocalIdp) -> Iterator[RunningSystem]:
    with running_system(extra_env=sso_env(idp)) as running:
        yield running


@pytest.fixture(scope="session")
def console_url(system: RunningSystem) -> str:
    return system.url("console")


@pytest.fixture(scope="session")
async def admin(system: RunningSystem) -> AsyncIterator[RiskWatchClient]:
    async with RiskWatchClient(system.gateway) as client:
        await client.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield client


async def create_person(admin: RiskWatchClient, role: str, staff_id: str | None = None) -> Person:
    email = f"{role}.{uuid.uuid4().hex[:6]}@bank.example"
    body: dict[str, Any] = {"email": email, "name": f"{role} {email[-17:-13]}",
                            "password": PASSWORD, "roles": [role]}  # fmt: skip
    if staff_id:
        body["staff_id"] = staff_id
    created = await admin.post_json("/v1/users", body)
    return Person(email, PASSWORD, str(created["id"]))


@pytest.fixture(scope="session")
async def people(admin: RiskWatchClient) -> People:
    me = await admin.get_json("/v1/auth/me")
    return People(
        admin=Person(ADMIN_EMAIL, ADMIN_PASSWORD, me["subject"]),
        analyst=await create_person(admin, "analyst"),
        rm_ana=await create_person(admin, "relationship_manager", "rm-ana"),
        rm_bob=await create_person(admin, "relationship_manager", "rm-bob"),
    )


@pytest.fixture(scope="session")
async def analyst_inbox(admin: RiskWatchClient, people: People) -> str:
    """The analyst is in a team messaged in-app about every alert: their inbox fills."""
    team = await admin.post_json("/v1/teams", {"name": f"Console desk {uuid.uuid4().hex[:6]}"})
    await admin.post_json(
        "/v1/recipients",
        {"name": "Console analyst", "email": people.analyst.email, "team_ids": [team["id"]],
         "user_subject": people.analyst.subject},
    )  # fmt: skip
    await admin.post_json(
        "/v1/subscriptions", {"team_id": team["id"], "channels": ["in_app"], "min_severity": "low"}
    )
    return str(team["id"])


@pytest.fixture(scope="session")
async def rules(admin: RiskWatchClient) -> None:
    templates = {t["key"]: t for t in page_items(await admin.get_json("/v1/rule-templates"))}
    existing = {rule["name"]: rule for rule in await list_all(admin, "/v1/rules")}
    for key in TEMPLATES:
        body = rule_from_template(templates[key])
        rule = existing.get(body["name"]) or await admin.post_json("/v1/rules", body)
        if rule["status"] != "active":
            await admin.post_json(f"/v1/rules/{rule['id']}/activate", {})


async def alerted_customer(admin: RiskWatchClient, relationship_manager: str) -> AlertedCustomer:
    """A new customer of `relationship_manager` whose missed payments raise a credit alert."""
    customer = await admin.post_json(
        "/v1/customers",
        {"kind": "individual", "name": f"Console Customer {uuid.uuid4().hex[:6]}",
         "document_type": "passport", "document_number": uuid.uuid4().hex[:12].upper(),
         "email": f"{uuid.uuid4().hex[:8]}@customer.example", "country": "GB",
         "segment": "retail", "kyc_status": "verified",
         "relationship_manager": relationship_manager},
    )  # fmt: skip
    await admin.post_json(
        f"/v1/customers/{customer['id']}/credit-records",
        {"source": "bureau", "credit_score": 455, "missed_payments": 3, "delinquencies_30": 2,
         "delinquencies_60": 1, "delinquencies_90": 1, "outstanding_debt": "14800.00",
         "credit_limit": "15000.00", "recent_inquiries": 5, "currency": "GBP",
         "as_of": "2026-01-05"},
    )  # fmt: skip

    async def raised() -> dict[str, Any] | None:
        alerts = page_items(await admin.get_json("/v1/alerts", customer_id=customer["id"]))
        return alerts[0] if alerts else None

    alert = await wait_until(raised, timeout=DEADLINE, interval=0.25, message="credit alert")
    assert alert is not None
    return AlertedCustomer(customer["id"], alert)


async def enrich_customer(admin: RiskWatchClient, customer_id: str) -> dict[str, Any]:
    """A year of financial profiles, two payments and a watch-list entry for the 360 (the
    entry: ours, or the one a rule or warning made first)."""
    for as_of, income, loan in (("2025-01-31", "41000.00", "26000.00"),
                                ("2025-07-31", "44500.00", "23000.00"),
                                ("2026-01-31", "48000.00", "20000.00")):  # fmt: skip
        await admin.post_json(
            f"/v1/customers/{customer_id}/financial-profile",
            {"annual_income": income, "currency": "GBP", "assets": {"savings": "12000.00"},
             "liabilities": {"loan": loan}, "as_of": as_of},
        )  # fmt: skip
    for direction, amount, channel in (("inbound", "2500.00", "transfer"),
                                       ("outbound", "80.00", "card")):  # fmt: skip
        await admin.post_json(
            "/v1/transactions",
            {"external_id": f"console-{uuid.uuid4().hex[:10]}", "customer_id": customer_id,
             "direction": direction, "amount": amount, "currency": "GBP", "channel": channel,
             "counterparty_name": f"Payee {direction}", "country": "GB",
             "occurred_at": "2026-02-02T10:00:00+00:00"},
        )  # fmt: skip
    entry: dict[str, Any] = await admin.post_json(
        "/v1/watchlist",
        {"customer_id": customer_id, "reason": "Arrears on two products", "owner": "rm-ana",
         "review_due": "2099-01-01", "required_actions": ["Call the customer"],
         "exit_criteria": "Three months without arrears"},
    )  # fmt: skip
    return entry


@pytest.fixture(scope="session")
async def ana_customer(admin: RiskWatchClient, rules: None) -> AlertedCustomer:
    return await alerted_customer(admin, "rm-ana")


@pytest.fixture
async def browser(console_url: str) -> AsyncIterator[ConsoleBrowser]:
    client = ConsoleBrowser(console_url)
    yield client
    await client.aclose()
