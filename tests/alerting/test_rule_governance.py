"""Issue 23 item 1, maker-checker: a rule change is a proposal that someone other than its
author approves (it goes live) or rejects (with a reason); the live version keeps running
unchanged meanwhile; every step is in the rule's history; relationship managers and analysts
neither propose nor decide; a one-person install may allow self-approval, and says so."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import orjson
import pytest

from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.governance import (
    SelfApprovalRefused,
    approval_of,
    is_shipped_template,
)
from riskwatch_alerting.main import create_app
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_alerting.rules.templates import TEMPLATES
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import BASE_TIME, feed, transaction_scored

ADA = Identity(subject="ada", roles=("admin",))
RITA = Identity(subject="rita", roles=("risk_manager",))
ROB = Identity(subject="rob", roles=("risk_manager",))
RM = Identity(subject="remy", roles=("relationship_manager",))
ANALYST = Identity(subject="anna", roles=("analyst",))
BIG_PAYMENT = {
    "name": "Big payment",
    "rule_type": "transaction_anomaly",
    "severity": "high",
    "trigger_event_types": ["scoring.transaction_scored.v1"],
    "condition": "txn.amount > 5000",
    "cooldown_seconds": 0,
}


class Api:
    def __init__(self, client: httpx.AsyncClient, runtime: ServiceRuntime, url: str) -> None:
        self.client, self.runtime, self.url = client, runtime, url

    async def call(
        self, who: Identity, method: str, path: str, body: Any = None, **params: Any
    ) -> httpx.Response:
        return await self.client.request(
            method, path, json=body, params=params or None, headers=identity_headers(who)
        )

    async def proposals(self, rule_id: str, status: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, str] = {"rule_id": rule_id}
        if status is not None:
            query["status"] = status
        listed = await self.call(ADA, "GET", "/v1/rule-proposals", **query)
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()
        return found

    async def history(self, rule_id: str) -> list[tuple[str, str, int | None]]:
        listed = await self.call(ADA, "GET", f"/v1/rules/{rule_id}/history")
        assert listed.status_code == 200, listed.text
        return [(e["action"], e["actor"], e["version"]) for e in listed.json()]

    async def alerts_for(self, rule_id: str, amount: str) -> list[dict[str, Any]]:
        """One transaction of a new customer through the pipeline; the alerts it raised."""
        customer = uuid.uuid4()
        event = transaction_scored(customer, at=BASE_TIME, amount=amount)
        await feed(self.runtime.session_factory, AlertPipeline(), [event])
        listed = await self.call(ADA, "GET", "/v1/alerts", rule_id=rule_id, limit=500)
        items: list[dict[str, Any]] = listed.json()["items"]
        return [a for a in items if a["customer_id"] == str(customer)]


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Api]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_governance"):
        settings = Settings(
            database_url=url, NATS_URL=infra.nats_url, consumer_prefix="alerting-governance-test"
        )
        async with running_app(create_app(settings)) as (client, runtime):
            yield Api(client, runtime, url)


async def _proposed(api: Api, author: Identity, body: dict[str, Any] = BIG_PAYMENT) -> str:
    created = await api.call(author, "POST", "/v1/rules", body)
    assert created.status_code == 201, created.text
    rule_id: str = created.json()["id"]
    assert created.json()["status"] == "draft"
    return rule_id


async def _live(api: Api) -> str:
    """A rule proposed by rita and approved by rob: active."""
    rule_id = await _proposed(api, RITA)
    [proposal] = await api.proposals(rule_id, "pending")
    approved = await api.call(
        ROB, "POST", f"/v1/rule-proposals/{proposal['id']}/approve", {"comment": "ok"}
    )
    assert approved.status_code == 200, approved.text
    return rule_id


def _problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_author_cannot_approve_their_own_rule(api: Api) -> None:
    rule_id = await _proposed(api, RITA)
    [proposal] = await api.proposals(rule_id, "pending")
    assert (proposal["kind"], proposal["proposed_by"], proposal["version"]) == ("create", "rita", 1)
    assert proposal["self_approval_allowed"] is False

    refused = await api.call(RITA, "POST", f"/v1/rule-proposals/{proposal['id']}/approve")
    _problem(refused, 403)
    assert "rule-self-approval" in refused.json()["type"]
    # An admin who wrote the rule cannot switch it on through the older route either.
    own = await _proposed(api, ADA)
    _problem(await api.call(ADA, "POST", f"/v1/rules/{own}/activate"), 403)
    _problem(await api.call(ADA, "POST", f"/v1/rules/{own}/versions/1/activate"), 403)

    assert (await api.call(ADA, "GET", f"/v1/rules/{rule_id}")).json()["status"] == "draft"
    assert [p["status"] for p in await api.proposals(rule_id)] == ["pending"]
    assert await api.alerts_for(rule_id, "10000") == []


async def test_a_second_person_approves_and_the_rule_goes_live(api: Api) -> None:
    rule_id = await _proposed(api, RITA)
    assert await api.alerts_for(rule_id, "10000") == []
    [proposal] = await api.proposals(rule_id, "pending")

    approved = await api.call(
        ROB, "POST", f"/v1/rule-proposals/{proposal['id']}/approve", {"comment": "four eyes"}
    )
    assert approved.status_code == 200, approved.text
    decided = approved.json()
    assert (decided["status"], decided["decided_by"], decided["approval"]) == (
        "approved",
        "rob",
        "four_eyes",
    )
    assert decided["comment"] == "four eyes"
    rule = (await api.call(ADA, "GET", f"/v1/rules/{rule_id}")).json()
    assert (rule["status"], rule["version"]) == ("active", 2)
    [alert] = await api.alerts_for(rule_id, "10000")
    assert alert["rule_version"] == 2
    assert await api.history(rule_id) == [("proposed", "rita", 1), ("approved", "rob", 1)]
    # Decided once: a second approval is a conflict.
    _problem(await api.call(ADA, "POST", f"/v1/rule-proposals/{proposal['id']}/approve"), 409)


async def test_a_rejected_rule_stays_inactive(api: Api) -> None:
    rule_id = await _proposed(api, RITA)
    [proposal] = await api.proposals(rule_id, "pending")
    rejected = await api.call(
        ADA, "POST", f"/v1/rule-proposals/{proposal['id']}/reject", {"comment": "too broad"}
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["comment"]) == ("rejected", "too broad")
    assert (await api.call(ADA, "GET", f"/v1/rules/{rule_id}")).json()["status"] == "draft"
    assert await api.alerts_for(rule_id, "10000") == []
    assert await api.proposals(rule_id, "pending") == []
    _problem(await api.call(ROB, "POST", f"/v1/rule-proposals/{proposal['id']}/approve"), 409)
    assert await api.history(rule_id) == [("proposed", "rita", 1), ("rejected", "ada", 1)]


async def test_the_active_rule_runs_unchanged_while_a_change_is_pending(api: Api) -> None:
    rule_id = await _live(api)
    changed = await api.call(
        RITA, "PATCH", f"/v1/rules/{rule_id}", {"condition": "txn.amount > 50000"}
    )
    assert changed.json()["pending_version"] == 3
    [pending] = await api.proposals(rule_id, "pending")
    assert (pending["kind"], pending["version"], pending["proposed_by"]) == ("change", 3, "rita")
    listed = await api.call(ANALYST, "GET", "/v1/rule-proposals", status="pending")
    assert pending["id"] in [p["id"] for p in listed.json()]

    # Real traffic: the live version (> 5000) still fires on 10 000; the proposal does not apply.
    [alert] = await api.alerts_for(rule_id, "10000")
    assert alert["rule_version"] == 2
    _problem(await api.call(RITA, "POST", f"/v1/rule-proposals/{pending['id']}/approve"), 403)
    assert len(await api.alerts_for(rule_id, "10000")) == 1

    # Approved by someone else, the proposal goes live.
    approved = await api.call(ADA, "POST", f"/v1/rule-proposals/{pending['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert await api.alerts_for(rule_id, "10000") == []
    [bigger] = await api.alerts_for(rule_id, "60000")
    assert bigger["rule_version"] == 4


async def test_a_rejected_change_leaves_the_live_rule_as_it_was(api: Api) -> None:
    rule_id = await _live(api)
    await api.call(RITA, "PATCH", f"/v1/rules/{rule_id}", {"severity": "low"})
    [pending] = await api.proposals(rule_id, "pending")
    rejected = await api.call(
        ROB, "POST", f"/v1/rule-proposals/{pending['id']}/reject", {"comment": "keep it high"}
    )
    assert rejected.status_code == 200, rejected.text
    rule = (await api.call(ADA, "GET", f"/v1/rules/{rule_id}")).json()
    assert (rule["severity"], rule["pending_version"], rule["version"]) == ("high", None, 2)
    [alert] = await api.alerts_for(rule_id, "10000")
    assert alert["severity"] == "high"


async def test_a_newer_change_supersedes_the_pending_one(api: Api) -> None:
    rule_id = await _live(api)
    await api.call(RITA, "PATCH", f"/v1/rules/{rule_id}", {"severity": "low"})
    await api.call(ROB, "PATCH", f"/v1/rules/{rule_id}", {"name": "Bigger payment"})
    statuses = [(p["status"], p["proposed_by"]) for p in await api.proposals(rule_id)]
    assert statuses == [("approved", "rita"), ("superseded", "rita"), ("pending", "rob")]
    # rob's version holds rita's change too: neither of them may approve it.
    [pending] = await api.proposals(rule_id, "pending")
    for author in (ROB, RITA):
        refused = await api.call(author, "POST", f"/v1/rule-proposals/{pending['id']}/approve")
        _problem(refused, 403)
    ok = await api.call(ADA, "POST", f"/v1/rule-proposals/{pending['id']}/approve")
    assert ok.status_code == 200, ok.text
    live = (await api.call(ADA, "GET", f"/v1/rules/{rule_id}")).json()
    assert (live["name"], live["severity"]) == ("Bigger payment", "low")
    # After a decision, the next change starts afresh: rob may approve rita's alone.
    await api.call(RITA, "PATCH", f"/v1/rules/{rule_id}", {"severity": "high"})
    [pending] = await api.proposals(rule_id, "pending")
    ok = await api.call(ROB, "POST", f"/v1/rule-proposals/{pending['id']}/approve")
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("who", [RM, ANALYST])
async def test_relationship_managers_and_analysts_neither_propose_nor_decide(
    api: Api, who: Identity
) -> None:
    _problem(await api.call(who, "POST", "/v1/rules", {**BIG_PAYMENT, "name": "Nope"}), 403)
    rule_id = await _proposed(api, RITA)
    _problem(await api.call(who, "PATCH", f"/v1/rules/{rule_id}", {"severity": "low"}), 403)
    [proposal] = await api.proposals(rule_id, "pending")
    for verb, body in (("approve", None), ("reject", {"comment": "no"})):
        _problem(
            await api.call(who, "POST", f"/v1/rule-proposals/{proposal['id']}/{verb}", body), 403
        )
    assert [p["status"] for p in await api.proposals(rule_id)] == ["pending"]
    names = [r["name"] for r in (await api.call(ADA, "GET", "/v1/rules")).json()]
    assert "Nope" not in names


@pytest.mark.parametrize(
    ("verb", "body"),
    [
        ("reject", {}),
        ("reject", {"comment": ""}),
        ("reject", {"comment": "bad\x00byte"}),
        ("reject", {"comment": "x" * 2_001}),
        ("approve", {"comment": "bad\x00byte"}),
        ("approve", {"comment": "ok", "status": "approved"}),
    ],
)
async def test_hostile_decisions_are_refused_and_store_nothing(
    api: Api, verb: str, body: dict[str, Any]
) -> None:
    rule_id = await _proposed(api, RITA)
    [proposal] = await api.proposals(rule_id, "pending")
    _problem(await api.call(ADA, "POST", f"/v1/rule-proposals/{proposal['id']}/{verb}", body), 422)
    assert [p["status"] for p in await api.proposals(rule_id)] == ["pending"]
    assert await api.history(rule_id) == [("proposed", "rita", 1)]
    assert (await api.call(ADA, "GET", f"/v1/rules/{rule_id}")).json()["status"] == "draft"


async def test_unknown_or_malformed_proposal_ids(api: Api) -> None:
    _problem(await api.call(ADA, "POST", f"/v1/rule-proposals/{uuid.uuid4()}/approve"), 404)
    _problem(await api.call(ADA, "GET", "/v1/rule-proposals/not-a-uuid"), 422)
    _problem(await api.call(ADA, "GET", "/v1/rule-proposals", status="whatever"), 422)
    _problem(await api.call(ADA, "GET", f"/v1/rules/{uuid.uuid4()}/history"), 404)


async def test_a_shipped_template_is_system_configuration(api: Api) -> None:
    """The starter pack: an unmodified shipped template is approved as reviewed system
    configuration by the admin who loads it, and audited as such."""
    template = next(t for t in TEMPLATES if t.parameters)
    created = await api.call(ADA, "POST", f"/v1/rule-templates/{template.key}/rules", {})
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    activated = await api.call(ADA, "POST", f"/v1/rules/{rule_id}/activate")
    assert activated.status_code == 200, activated.text
    [proposal] = await api.proposals(rule_id)
    assert (proposal["status"], proposal["approval"]) == ("approved", "system_configuration")
    # Tuned, it is the author's own change again: four eyes.
    [key, value] = next(iter(template.parameters.items()))
    tuned = await api.call(
        ADA,
        "POST",
        f"/v1/rule-templates/{template.key}/rules",
        {"name": "Tuned", "parameters": {key: str(value + 1)}},
    )
    assert tuned.status_code == 201, tuned.text
    _problem(await api.call(ADA, "POST", f"/v1/rules/{tuned.json()['id']}/activate"), 403)


async def test_self_approval_allowed_only_when_the_install_says_so(api: Api, infra: Infra) -> None:
    settings = Settings(
        database_url=api.url,
        NATS_URL=infra.nats_url,
        consumer_prefix="alerting-governance-solo",
        allow_self_approval=True,
    )
    async with running_app(create_app(settings)) as (client, runtime):
        solo = Api(client, runtime, api.url)
        rule_id = await _proposed(solo, RITA)
        [proposal] = await solo.proposals(rule_id, "pending")
        assert proposal["self_approval_allowed"] is True
        approved = await solo.call(RITA, "POST", f"/v1/rule-proposals/{proposal['id']}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["approval"] == "self"
        assert approved.json()["self_approval_allowed"] is True


async def _last_event(api: Api, event_type: str, proposal_id: str) -> dict[str, Any]:
    async def published() -> dict[str, Any] | None:
        try:
            msg = await api.runtime.bus.js.get_last_msg("ALERTING", event_type)
        except nats.js.errors.NotFoundError:
            return None
        payload: dict[str, Any] = orjson.loads(msg.data or b"{}")
        return payload if payload.get("proposal_id") == proposal_id else None

    return await wait_until(published, message=f"{event_type} of {proposal_id}")


async def test_proposals_and_decisions_are_announced(api: Api) -> None:
    rule_id = await _proposed(api, RITA)
    [proposal] = await api.proposals(rule_id, "pending")
    proposed = await _last_event(api, "alerting.rule_change_proposed.v1", proposal["id"])
    assert (proposed["rule_id"], proposed["proposed_by"], proposed["kind"]) == (
        rule_id,
        "rita",
        "create",
    )
    await api.call(ROB, "POST", f"/v1/rule-proposals/{proposal['id']}/approve", {"comment": "ok"})
    approved = await _last_event(api, "alerting.rule_change_approved.v1", proposal["id"])
    assert (approved["approved_by"], approved["approval"], approved["version"]) == (
        "rob",
        "four_eyes",
        1,
    )
    await api.call(RITA, "PATCH", f"/v1/rules/{rule_id}", {"severity": "low"})
    [change] = await api.proposals(rule_id, "pending")
    await api.call(ADA, "POST", f"/v1/rule-proposals/{change['id']}/reject", {"comment": "no"})
    rejected = await _last_event(api, "alerting.rule_change_rejected.v1", change["id"])
    assert (rejected["rejected_by"], rejected["comment"], rejected["kind"]) == (
        "ada",
        "no",
        "change",
    )


def test_approval_rules() -> None:
    kinds = {"is_service": False, "shipped_template": False, "allow_self_approval": False}
    assert approval_of(authors=frozenset("a"), approver="b", **kinds) == "four_eyes"
    with pytest.raises(SelfApprovalRefused):
        approval_of(authors=frozenset("a"), approver="a", **kinds)
    with pytest.raises(SelfApprovalRefused):
        approval_of(authors=frozenset("ab"), approver="b", **kinds)
    assert (
        approval_of(authors=frozenset("a"), approver="a", **{**kinds, "is_service": True})
        == "service"
    )
    assert (
        approval_of(authors=frozenset("a"), approver="a", **{**kinds, "shipped_template": True})
        == "system_configuration"
    )
    assert (
        approval_of(authors=frozenset("a"), approver="a", **{**kinds, "allow_self_approval": True})
        == "self"
    )
    snapshot = {"condition": "txn.amount  >  5", "trigger_event_types": ["t"]}
    assert is_shipped_template(
        snapshot, template_condition="txn.amount > 5", template_triggers=["t"]
    )
    assert not is_shipped_template(
        snapshot, template_condition="txn.amount > 6", template_triggers=["t"]
    )
    assert not is_shipped_template(snapshot, template_condition=None, template_triggers=None)
