"""Approvals and operational alerts over HTTP against the whole running system: a managed
list's change waits in /approvals until a second person approves it (its author sees that it
waits, and the API's self-approval refusal in words); a rejection needs a reason; roles that
may not decide get no buttons, roles that may not read get a 403 page and no link; a model's
drift becomes an operational alert whose page shows its figures and is acknowledged by a
manager; CSRF and hostile paths."""

from __future__ import annotations

import re
import uuid
from typing import Any

import nats
import pytest

from riskwatch_shared.events.scoring import ModelDriftDetected
from riskwatch_shared.testing import wait_until
from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

from .conftest import ConsoleBrowser, People, Person, create_person

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
async def author(admin: RiskWatchClient) -> Person:
    return await create_person(admin, "risk_manager")


async def console_browser(console_url: str, person: Person, language: str = "en") -> ConsoleBrowser:
    browser = ConsoleBrowser(console_url, accept_language=language)
    await browser.sign_in(person, next_path="/approvals")
    await browser.get("/approvals")
    return browser


async def watched_list_proposal(browser: ConsoleBrowser, admin: RiskWatchClient) -> tuple[str, str]:
    """A list an active rule names, and a pending proposal adding `KP` to it (by `browser`)."""
    name = f"approvals_watched_{uuid.uuid4().hex[:6]}"
    created = await browser.post("/lists", {"name": name, "kind": "countries"})
    list_id = created.headers["location"].rsplit("/", 1)[1]
    saved = await browser.post(
        "/rules",
        {"name": f"Listed {name}", "rule_type": "transaction_anomaly", "severity": "high",
         "trigger_event_types": "scoring.transaction_scored.v1",
         "condition": f'txn.counterparty_country in list("{name}")',
         "dedup_key": "customer_id", "cooldown_seconds": "3600"},
    )  # fmt: skip
    rule_id = saved.headers["location"].split("?")[0].rsplit("/", 1)[1]
    [rule_proposal] = await admin.get_json("/v1/rule-proposals", rule_id=rule_id)
    await admin.post_json(f"/v1/rule-proposals/{rule_proposal['id']}/approve", {})
    added = await browser.post(f"/lists/{list_id}/entries", {"value": "KP", "note": "sanctions"})
    assert added.headers["location"].endswith("?proposed=1")
    [proposal] = await admin.get_json("/v1/list-proposals", list_id=list_id, status="pending")
    return list_id, str(proposal["id"])


async def test_a_list_change_waits_for_a_second_person_who_approves_it(
    console_url: str, author: Person, people: People, admin: RiskWatchClient
) -> None:
    mine = await console_browser(console_url, author)
    second = await console_browser(console_url, people.admin)
    try:
        list_id, proposal_id = await watched_list_proposal(mine, admin)
        page = await mine.get("/approvals")
        assert page.status_code == 200
        row = page.text.split(f'id="approval-{proposal_id}"', 1)[1].split("</tr>", 1)[0]
        assert "Add 1: KP" in row
        assert "Your own proposal: waiting for a second person." in row
        assert f"/approvals/lists/{proposal_id}/approve" not in row
        assert 'href="/approvals"' in page.text  # the nav link

        # The author forging the form: the API's refusal, in words, and nothing changes.
        refused = await mine.post(f"/approvals/lists/{proposal_id}/approve", {"comment": "me"})
        assert refused.status_code == 403
        assert "You proposed this change: a second person approves it." in refused.text
        assert "cannot approve it" in refused.text
        assert (await admin.get_json(f"/v1/lists/{list_id}"))["entry_count"] == 0

        # Without the form's CSRF token nothing is decided.
        forged = await second.post(f"/approvals/lists/{proposal_id}/approve", {}, csrf=False)
        assert forged.status_code == 403
        assert "This form has expired" in forged.text

        # A rejection needs a reason (the API says so; the proposal stays pending).
        no_reason = await second.post(f"/approvals/lists/{proposal_id}/reject", {"comment": ""})
        assert no_reason.status_code == 422
        assert 'id="approvals-problem"' in no_reason.text
        pending = await admin.get_json("/v1/list-proposals", list_id=list_id, status="pending")
        assert [p["id"] for p in pending] == [proposal_id]

        shown = await second.get("/approvals")
        assert f'action="/approvals/lists/{proposal_id}/approve"' in shown.text
        approved = await second.post(
            f"/approvals/lists/{proposal_id}/approve", {"comment": "four eyes"}
        )
        assert approved.status_code == 303
        after = await second.get(approved.headers["location"])
        assert "Approved: the change is in force." in after.text
        assert f'id="approval-{proposal_id}"' not in after.text
    finally:
        await mine.aclose()
        await second.aclose()
    entries = await admin.get_json(f"/v1/lists/{list_id}/entries")
    assert [entry["value"] for entry in entries["items"]] == ["KP"]
    history = await admin.get_json(f"/v1/lists/{list_id}/history")
    approval = next(entry for entry in history if entry["action"] == "approved")
    assert approval["actor"] == people.admin.subject
    assert "four eyes" in approval["comment"]


async def test_who_may_see_and_decide_approvals(
    console_url: str, people: People, admin: RiskWatchClient
) -> None:
    analyst = await console_browser(console_url, people.analyst)
    rm = await console_browser(console_url, people.rm_ana)
    try:
        page = await analyst.get("/approvals")
        assert page.status_code == 200
        assert "/approve" not in page.text
        assert 'href="/operational-alerts"' in page.text
        forced = await analyst.post(f"/approvals/lists/{uuid.uuid4()}/approve", {})
        assert forced.status_code in (403, 404)
        # A relationship manager reads no proposals: a 403 page, and no links.
        refused = await rm.get("/approvals")
        assert refused.status_code == 403
        assert 'href="/approvals"' not in refused.text
        assert 'href="/operational-alerts"' not in refused.text
        assert (await rm.get("/operational-alerts")).status_code == 403
        # Hostile paths: not a kind decided here, not an id.
        assert (await analyst.post("/approvals/rules/x/approve", {})).status_code == 404
        assert (
            await analyst.post(f"/approvals/users/{uuid.uuid4()}/approve", {})
        ).status_code == 404
        assert (await analyst.get("/operational-alerts/not-an-id")).status_code == 404
        assert (await analyst.get(f"/operational-alerts/{uuid.uuid4()}")).status_code == 404
    finally:
        await analyst.aclose()
        await rm.aclose()


async def drift_alert(system: RunningSystem, admin: RiskWatchClient) -> dict[str, Any]:
    """A drifting model, as scoring's drift check reports it: alerting raises the alert."""
    model_id = uuid.uuid4()
    event = ModelDriftDetected(
        model_id=model_id, model_kind="churn", psi=0.41, threshold=0.25,
        model_version="churn-console", owners=[],
    )  # fmt: skip
    connection = await nats.connect(system.stack.env["NATS_URL"])
    try:
        await connection.jetstream().publish(event.type, event.to_json_bytes())
    finally:
        await connection.close()

    async def raised() -> dict[str, Any] | None:
        found = await admin.get_json("/v1/operational-alerts", kind="model_drift")
        return next((a for a in found if a["subject_id"] == str(model_id)), None)

    alert = await wait_until(raised, timeout=60, interval=0.25, message="drift alert")
    assert alert is not None
    return alert


async def test_an_operational_alert_shows_what_jumped_and_a_manager_acknowledges_it(
    console_url: str, system: RunningSystem, author: Person, people: People,
    admin: RiskWatchClient,
) -> None:  # fmt: skip
    alert = await drift_alert(system, admin)
    alert_path = f"/operational-alerts/{alert['id']}"
    analyst = await console_browser(console_url, people.analyst)
    manager = await console_browser(console_url, author)
    chinese = await console_browser(console_url, people.analyst, language="zh-CN")
    try:
        listed = await analyst.get("/operational-alerts", status="open")
        assert f'href="{alert_path}"' in listed.text
        page = await analyst.get(alert_path)
        assert page.status_code == 200
        figures = dict(
            re.findall(r'data-figure="(\w+)"><td>[^<]*</td><td class="num">([^<]+)<', page.text)
        )
        assert figures == {"psi": "0.41", "threshold": "0.25"}
        assert f'href="/models/{alert["subject_id"]}"' in page.text
        assert "/acknowledge" not in page.text  # an analyst may not acknowledge
        zh = await chinese.get(alert_path)
        assert "运营警报" in zh.text
        assert "过去 24 小时" not in zh.text  # a drift's figures, not a spike's
        assert "漂移阈值" in zh.text

        await manager.get(alert_path)
        done = await manager.post(f"{alert_path}/acknowledge", {"comment": "retraining"})
        assert done.status_code == 303
        shown = await manager.get(done.headers["location"])
        assert "Acknowledged." in shown.text
        assert 'id="op-acknowledged"' in shown.text
        assert "retraining" in shown.text
    finally:
        for browser in (analyst, manager, chinese):
            await browser.aclose()
    stored = await admin.get_json(f"/v1/operational-alerts/{alert['id']}")
    assert (stored["status"], stored["acknowledged_by"]) == ("acknowledged", author.subject)


async def test_an_escalation_policy_proposal_reads_as_now_and_proposed_and_is_rejected(
    console_url: str, system: RunningSystem, author: Person, people: People,
    admin: RiskWatchClient,
) -> None:  # fmt: skip
    team = await admin.post_json("/v1/teams", {"name": f"Approvals {uuid.uuid4().hex[:6]}"})
    policy = {"levels": [{"after_seconds": 900, "channels": ["email"], "team_ids": [team["id"]]}]}
    async with RiskWatchClient(system.gateway) as proposer:
        await proposer.sign_in(author.email, author.password)
        response = await proposer.request("PUT", "/v1/escalation-policies/low", json=policy)
    assert response.status_code == 202
    proposal_id = response.json()["id"]
    second = await console_browser(console_url, people.admin)
    try:
        page = await second.get("/approvals")
        row = page.text.split(f'id="approval-{proposal_id}"', 1)[1].split("</tr>", 1)[0]
        assert "Escalation policy" in row
        assert "Proposed: +15 min: email → 1 teams or recipients; Repeat: 0" in row
        rejected = await second.post(
            f"/approvals/escalation-policies/{proposal_id}/reject", {"comment": "Too slow."}
        )
        assert rejected.status_code == 303
        assert "Rejected: nothing changes." in (await second.get(rejected.headers["location"])).text
    finally:
        await second.aclose()
    decided = await admin.get_json(f"/v1/escalation-policy-proposals/{proposal_id}")
    assert (decided["status"], decided["comment"]) == ("rejected", "Too slow.")
