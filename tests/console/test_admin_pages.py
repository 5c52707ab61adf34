"""The administration pages over HTTP against the whole running system: users and roles, API
keys (the secret shown once, rotate, revoke), the audit log's filters and CSV export; what
another role, a forged form and hostile input get."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from riskwatch_console.admin import audit_csv_rows, spreadsheet_safe
from riskwatch_shared.testing import wait_until
from riskwatch_simulator.client import RiskWatchClient

from .conftest import ConsoleBrowser, People, create_person

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
SECRET = re.compile(r'id="secret-value" class="secret" readonly value="(rw_[^"]+)"')


@pytest.fixture
async def admin_browser(console_url: str, people: People) -> AsyncIterator[ConsoleBrowser]:
    client = ConsoleBrowser(console_url)
    await client.sign_in(people.admin, next_path="/admin/users")
    await client.get("/admin/users")  # the signed-in session's CSRF token
    yield client
    await client.aclose()


async def test_other_roles_get_no_link_and_a_403_and_change_nothing(
    browser: ConsoleBrowser, people: People, admin: RiskWatchClient
) -> None:
    await browser.sign_in(people.analyst)
    desk = await browser.get("/desk")
    assert 'href="/admin"' not in desk.text
    for path in ("/admin/users", "/admin/api-keys", "/admin/audit", "/admin/audit.csv",
                 f"/admin/users/{people.analyst.subject}"):  # fmt: skip
        refused = await browser.get(path)
        assert refused.status_code == 403, path
        assert "Your role may not open this page" in refused.text
    name = f"analyst-made-{uuid.uuid4().hex[:6]}"
    posted = await browser.post("/admin/api-keys", {"name": name, "roles": "admin"})
    assert posted.status_code == 403
    made = await browser.post("/admin/users", {"email": f"{name}@bank.example", "roles": "admin"})
    assert made.status_code == 403
    keys = await admin.get_json("/v1/api-keys", limit=500)
    assert name not in {k["name"] for k in keys["items"]}


async def test_an_api_key_secret_is_shown_once_then_rotated_and_revoked(
    admin_browser: ConsoleBrowser, system: Any, admin: RiskWatchClient
) -> None:
    name = f"Core banking {uuid.uuid4().hex[:6]}"
    forged = await admin_browser.post("/admin/api-keys", {"name": name}, csrf=False)
    assert forged.status_code == 403
    created = await admin_browser.post(
        "/admin/api-keys", {"name": name, "roles": "viewer", "scopes": "customers:read"}
    )
    assert created.status_code == 303
    shown = await admin_browser.get("/admin/api-keys")
    secret = SECRET.search(shown.text)
    assert secret is not None
    key = secret.group(1)
    key_id = key.split("_")[1]
    assert f'id="key-{key_id}"' in shown.text
    again = await admin_browser.get("/admin/api-keys")
    assert key not in again.text
    assert "secret-value" not in again.text
    assert key not in str(admin_browser.http.cookies)
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as machine:
        assert (await admin.get_json(f"/v1/api-keys/{key_id}"))["scopes"] == ["customers:read"]
        reads = await machine.get("/v1/customers", params={"limit": 1}, headers={"x-api-key": key})
        assert reads.status_code == 200
        rotated = await admin_browser.post(f"/admin/api-keys/{key_id}/rotate", {})
        assert rotated.status_code == 303
        page = await admin_browser.get("/admin/api-keys")
        new_key = SECRET.search(page.text)
        assert new_key is not None
        assert new_key.group(1) != key
        assert "New secret of" in page.text
        works = await machine.get(
            "/v1/customers", params={"limit": 1}, headers={"x-api-key": new_key.group(1)}
        )
        assert works.status_code == 200
        revoked = await admin_browser.post(f"/admin/api-keys/{key_id}/revoke", {})
        assert revoked.status_code == 303
        listed = await admin_browser.get("/admin/api-keys")
        row = listed.text.split(f'id="key-{key_id}"')[1].split("</tr>")[0]
        assert "revoked" in row
        assert "/rotate" not in row
        refused = await machine.get(
            "/v1/customers", params={"limit": 1}, headers={"x-api-key": new_key.group(1)}
        )
        assert refused.status_code == 401
    hostile = await admin_browser.post("/admin/api-keys", {"name": "x", "scopes": "no-colon"})
    assert hostile.status_code == 422
    assert 'id="key-problem"' in hostile.text
    assert "secret-value" not in hostile.text
    names = {k["name"] for k in (await admin.get_json("/v1/api-keys", limit=500))["items"]}
    assert "x" not in names
    missing = await admin_browser.post("/admin/api-keys/0123456789abcdef/revoke", {})
    assert missing.status_code == 404


async def test_a_user_is_created_with_a_password_shown_once_and_their_roles_changed(
    admin_browser: ConsoleBrowser, system: Any, admin: RiskWatchClient
) -> None:
    email = f"new.analyst.{uuid.uuid4().hex[:6]}@bank.example"
    created = await admin_browser.post(
        "/admin/users", {"email": email, "name": "New Analyst", "roles": "analyst"}
    )
    assert created.status_code == 303
    page = await admin_browser.get("/admin/users")
    password = re.search(r'id="generated-password">([^<]+)<', page.text)
    assert password is not None
    assert password.group(1) not in (await admin_browser.get("/admin/users")).text
    async with RiskWatchClient(system.gateway) as person:
        await person.sign_in(email, html.unescape(password.group(1)))
    users = await admin.get_json("/v1/users", limit=500)
    (made,) = [u for u in users["items"] if u["email"] == email]
    edit = await admin_browser.get(f"/admin/users/{made['id']}")
    assert edit.status_code == 200
    assert email in edit.text
    saved = await admin_browser.post(
        f"/admin/users/{made['id']}",
        {"name": "New Risk Manager", "roles": "risk_manager", "active": "false", "staff_id": ""},
    )
    assert saved.status_code == 303
    after = await admin.get_json(f"/v1/users/{made['id']}")
    assert after["roles"] == ["risk_manager"]
    assert after["active"] is False
    no_role = await admin_browser.post(
        f"/admin/users/{made['id']}", {"name": "x", "active": "true"}
    )
    assert no_role.status_code == 422
    assert 'id="user-problem"' in no_role.text
    assert (await admin.get_json(f"/v1/users/{made['id']}"))["name"] == "New Risk Manager"
    taken = await admin_browser.post("/admin/users", {"email": email, "roles": "viewer"})
    assert taken.status_code == 409
    assert email in taken.text
    assert (await admin_browser.get("/admin/users/not-a-user")).status_code == 404


async def test_the_audit_log_filters_pages_and_exports_safe_csv(
    admin_browser: ConsoleBrowser, people: People
) -> None:
    name = f'=HYPERLINK("https://evil.example") {uuid.uuid4().hex[:6]}'
    await admin_browser.get("/admin/api-keys")
    await admin_browser.post("/admin/api-keys", {"name": name, "roles": "ingest"})
    await admin_browser.get("/admin/api-keys")  # the secret, once
    filtered = await admin_browser.get("/admin/audit", action="api_key.created",
                                       subject=people.admin.subject)  # fmt: skip
    assert filtered.status_code == 200
    table = filtered.text.split('id="audit"')[1]
    assert "api_key.created" in table
    assert "sign_in.succeeded" not in table
    assert name[-6:] in table  # the key's name, in the entry's detail
    exported = await admin_browser.get("/admin/audit.csv", action="api_key.*",
                                       subject=people.admin.subject)  # fmt: skip
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["id", "occurred_at", "action"]
    assert {row[2] for row in rows[1:]} <= {"api_key.created", "api_key.rotated", "api_key.revoked"}
    (ours,) = [row for row in rows[1:] if name[-6:] in row[-1]]
    assert json.loads(ours[-1])["name"] == name
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    bad = await admin_browser.get("/admin/audit", since="2026-13-40")
    assert bad.status_code == 400
    assert 'id="audit-error"' in bad.text
    backwards = await admin_browser.get("/admin/audit", since="2026-02-02", until="2026-02-01")
    assert backwards.status_code == 400
    hostile = await admin_browser.get("/admin/audit", action="api_key.%")
    assert hostile.status_code == 422
    paged = await admin_browser.get("/admin/audit")
    older = re.search(r'href="(/admin/audit\?before=\d+)" rel="next"', paged.text)
    if older:  # more than a page of entries (the session's sign-ins alone make several)
        assert (await admin_browser.get(html.unescape(older.group(1)))).status_code == 200


async def test_the_administration_pages_speak_chinese(console_url: str, people: People) -> None:
    client = ConsoleBrowser(console_url, accept_language="zh-CN")
    try:
        await client.sign_in(people.admin, next_path="/admin/users")
        for path, words in (("/admin/users", "用户与角色"), ("/admin/api-keys", "新建 API 密钥"),
                            ("/admin/audit", "审计日志")):  # fmt: skip
            page = await client.get(path)
            assert page.status_code == 200, path
            assert words in page.text, path
    finally:
        await client.aclose()


def test_csv_cells_never_start_a_spreadsheet_formula() -> None:
    for hostile in ("=1+2", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x"):
        assert spreadsheet_safe(hostile) == "'" + hostile
    assert spreadsheet_safe("sign_in.failed") == "sign_in.failed"
    assert spreadsheet_safe(None) == ""
    line = audit_csv_rows([{"id": 7, "action": "sign_in.failed", "subject": "=evil()",
                            "detail": {"note": "a,b"}}])  # fmt: skip
    assert next(csv.reader(io.StringIO(line))) == [
        "7", "", "sign_in.failed", "'=evil()", "", "", "", "", "", '{"note": "a,b"}'
    ]  # fmt: skip


# --- notifications -------------------------------------------------------------------------


async def _delivery(admin: RiskWatchClient, delivery_id: str, *statuses: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        found: dict[str, Any] = await admin.get_json(f"/v1/deliveries/{delivery_id}")
        return found if found["status"] in statuses else None

    delivery = await wait_until(reached, timeout=60, interval=0.25, message=str(statuses))
    assert delivery is not None
    return delivery


async def test_a_manager_sets_up_who_hears_and_tests_and_redrives_a_channel(
    admin_browser: ConsoleBrowser, admin: RiskWatchClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    team = await admin_browser.post("/notifications/teams", {"name": f"Fraud desk {tag}"})
    assert team.status_code == 303
    (made_team,) = [
        t for t in await admin.get_json("/v1/teams") if t["name"] == f"Fraud desk {tag}"
    ]
    added = await admin_browser.post(
        "/notifications/recipients",
        {"name": f"Li Wei {tag}", "email": f"li.{tag}@bank.example", "phone": "+8613800138000",
         "time_zone": "Asia/Shanghai", "locale": "zh", "quiet_start": "22:00",
         "quiet_end": "07:00", "team_ids": made_team["id"]},
    )  # fmt: skip
    assert added.status_code == 303
    page = await admin_browser.get("/notifications/people")
    (person,) = [r for r in await admin.get_json("/v1/recipients", limit=500)
                 if r["name"] == f"Li Wei {tag}"]  # fmt: skip
    assert person["quiet_start"] == "22:00:00"
    assert person["team_ids"] == [made_team["id"]]
    row = page.text.split(f'id="recipient-{person["id"]}"')[1].split("</tr>")[0]
    assert "22:00\N{EN DASH}07:00" in row
    assert f"Fraud desk {tag}" in row
    tested = await admin_browser.post(f"/notifications/recipients/{person['id']}/test",
                                      {"channel": "email"})  # fmt: skip
    assert tested.status_code == 303
    notice = await admin_browser.get(tested.headers["location"])
    assert 'id="test-queued"' in notice.text
    log = await admin.get_json("/v1/deliveries", recipient_id=person["id"])
    (email,) = log["items"]
    assert (await _delivery(admin, email["id"], "sent"))["kind"] == "test"
    # No SMS provider on this install: the test SMS fails for good, and is re-driven.
    await admin_browser.post(f"/notifications/recipients/{person['id']}/test", {"channel": "sms"})
    log = await admin.get_json("/v1/deliveries", recipient_id=person["id"])
    (sms,) = [d for d in log["items"] if d["channel"] == "sms"]
    await _delivery(admin, sms["id"], "dead")
    dead = await admin_browser.get("/notifications/deliveries", status="dead")
    assert f'action="/notifications/deliveries/{sms["id"]}/redrive"' in dead.text
    redriven = await admin_browser.post(f"/notifications/deliveries/{sms['id']}/redrive", {})
    assert redriven.status_code == 303
    again = await _delivery(admin, sms["id"], "dead")
    assert len(again["attempt_log"]) >= 2
    no_phone = await admin_browser.post(
        f"/notifications/recipients/{made_team['id']}/test", {"channel": "sms"}
    )
    assert no_phone.status_code == 404
    hostile = await admin_browser.post(
        "/notifications/recipients",
        {"name": f"Metadata {tag}", "webhook_url": "https://169.254.169.254/latest/meta-data/"},
    )
    assert hostile.status_code == 422
    assert 'id="notify-problem"' in hostile.text
    names = {r["name"] for r in await admin.get_json("/v1/recipients", limit=500)}
    assert f"Metadata {tag}" not in names
    subscribed = await admin_browser.post(
        "/notifications/subscriptions",
        {"target": f"team:{made_team['id']}", "channels": "email", "min_severity": "high"},
    )
    assert subscribed.status_code == 303
    (sub,) = [s for s in await admin.get_json("/v1/subscriptions", limit=500)
              if s["team_id"] == made_team["id"]]  # fmt: skip
    listed = await admin_browser.get("/notifications/subscriptions")
    assert f'id="subscription-{sub["id"]}"' in listed.text
    await admin_browser.post(f"/notifications/subscriptions/{sub['id']}/delete", {})
    remaining = await admin.get_json("/v1/subscriptions", limit=500)
    assert sub["id"] not in {s["id"] for s in remaining}


async def test_an_escalation_policy_is_proposed_and_approved_by_a_second_person(
    admin_browser: ConsoleBrowser, admin: RiskWatchClient, console_url: str
) -> None:
    team = await admin.post_json("/v1/teams", {"name": f"Escalation {uuid.uuid4().hex[:6]}"})
    proposed = await admin_browser.post(
        "/notifications/escalation/critical",
        {"after_minutes_0": "15", "channels_0": "email", "team_ids_0": team["id"], "repeat": "1"},
    )
    assert proposed.status_code == 303
    page = await admin_browser.get("/notifications/escalation")
    pending = await admin.get_json("/v1/escalation-policy-proposals", status="pending",
                                   severity="critical")  # fmt: skip
    proposal = pending[-1]
    block = page.text.split(f'id="proposal-{proposal["id"]}"')[1].split("</article>")[0]
    assert "Your own proposal" in block
    assert "/approve" not in block
    bad = await admin_browser.post("/notifications/escalation/critical", {"after_minutes_0": "x"})
    assert bad.status_code == 400
    manager = await create_person(admin, "risk_manager")
    checker = ConsoleBrowser(console_url)
    try:
        await checker.sign_in(manager, next_path="/notifications/escalation")
        await checker.get("/notifications/escalation")
        approved = await checker.post(
            f"/notifications/escalation/proposals/{proposal['id']}/approve", {"comment": "ok"}
        )
        assert approved.status_code == 303
    finally:
        await checker.aclose()
    live = await admin.get_json("/v1/escalation-policies/critical")
    assert live["levels"][0]["after_seconds"] == 900
    assert live["levels"][0]["team_ids"] == [team["id"]]


async def test_a_reader_sees_the_routing_but_cannot_change_it_or_see_deliveries(
    browser: ConsoleBrowser, people: People, admin: RiskWatchClient
) -> None:
    await browser.sign_in(people.analyst)
    page = await browser.get("/notifications/people")
    assert page.status_code == 200
    assert 'action="/notifications/recipients"' not in page.text
    assert "/notifications/deliveries" not in page.text
    assert (await browser.get("/notifications/deliveries")).status_code == 403
    name = f"analyst-team-{uuid.uuid4().hex[:6]}"
    refused = await browser.post("/notifications/teams", {"name": name})
    assert refused.status_code == 403
    assert name not in {t["name"] for t in await admin.get_json("/v1/teams")}


# --- models --------------------------------------------------------------------------------


def _signal_csv(rows: int = 90) -> bytes:
    lines = ["amount,segment,bad"]
    for i in range(rows):
        defaulted = i % 3 == 0
        amount = 900 + i if defaulted else 100 + (i * 7) % 900
        lines.append(f"{amount},{'sme' if i % 2 else 'retail'},{int(defaulted)}")
    return ("\n".join(lines) + "\n").encode()


async def test_a_manager_trains_from_a_csv_and_reads_the_report_with_its_curves(
    admin_browser: ConsoleBrowser, admin: RiskWatchClient
) -> None:
    before = {m["id"] for m in (await admin.get_json("/v1/models"))["items"]}
    registry_page = await admin_browser.get("/models")
    assert registry_page.status_code == 200
    assert 'id="train-credit"' in registry_page.text
    form = {"csrf_token": admin_browser.csrf or "", "algorithm": "linear", "folds": "3",
            "target": "bad", "categorical": "segment"}  # fmt: skip
    trained = await admin_browser.http.post(
        "/models/train/credit", data=form, files={"csv": ("loans.csv", _signal_csv(), "text/csv")}
    )
    assert trained.status_code == 303, trained.text
    report = await admin_browser.get(trained.headers["location"])
    assert report.status_code == 200
    assert 'id="roc-chart"' in report.text
    assert 'id="calibration-chart"' in report.text
    assert 'id="roc-table"' in report.text
    (new,) = [m for m in (await admin.get_json("/v1/models"))["items"] if m["id"] not in before]
    assert new["status"] == "candidate"
    assert new["metrics"]["roc"][-1]["tpr"] == 1.0
    # Its columns are not customer features: proposing it is refused, and said so.
    shadow = await admin_browser.post(f"/models/{new['id']}/shadow", {})
    assert shadow.status_code == 409
    assert 'id="model-problem"' in shadow.text
    pending = await admin.get_json("/v1/model-proposals", status="pending")
    assert all(p["model_id"] != new["id"] for p in pending)
    garbage = await admin_browser.http.post(
        "/models/train/credit",
        data={"csrf_token": admin_browser.csrf or "", "target": "bad"},
        files={"csv": ("x.csv", b"\xff\xfe\x00not utf-8", "text/csv")},
    )
    assert garbage.status_code == 422
    assert 'id="models-problem"' in garbage.text
    after = {m["id"] for m in (await admin.get_json("/v1/models"))["items"]}
    assert after == before | {new["id"]}
    await admin_browser.post(f"/models/{new['id']}/retire", {})
    assert (await admin.get_json(f"/v1/models/{new['id']}"))["status"] == "retired"


async def test_a_reader_sees_the_registry_but_cannot_train(
    browser: ConsoleBrowser, people: People, admin: RiskWatchClient
) -> None:
    await browser.sign_in(people.analyst)
    page = await browser.get("/models")
    assert page.status_code == 200
    assert 'id="train-credit"' not in page.text
    count = len((await admin.get_json("/v1/models"))["items"])
    refused = await browser.http.post(
        "/models/train/credit",
        data={"csrf_token": browser.csrf or "", "target": "bad"},
        files={"csv": ("loans.csv", _signal_csv(), "text/csv")},
    )
    assert refused.status_code == 403
    assert len((await admin.get_json("/v1/models"))["items"]) == count
    assert (await browser.get(f"/models/{uuid.uuid4()}")).status_code == 404


async def test_the_configuration_exports_as_one_canonical_bundle(
    admin_browser: ConsoleBrowser, browser: ConsoleBrowser, people: People
) -> None:
    page = await admin_browser.get("/admin/config")
    assert page.status_code == 200
    assert 'id="config-export"' in page.text
    exported = await admin_browser.get("/admin/config/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    bundle = json.loads(exported.text)
    assert bundle["format"] == "riskwatch-config/v1"
    assert {"alerting", "notify", "scoring"} <= bundle.keys()
    assert exported.text == json.dumps(bundle, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    await browser.sign_in(people.analyst)
    assert (await browser.get("/admin/config/export")).status_code == 403
    await browser.get("/desk")
    refused = await browser.http.post(
        "/admin/config/dry-run", data={"csrf_token": browser.csrf or ""},
        files={"bundle": ("b.json", exported.content, "application/json")},
    )  # fmt: skip
    assert refused.status_code == 403


async def _upload(client: ConsoleBrowser, path: str, raw: bytes, **fields: str) -> Any:
    return await client.http.post(
        path, data={"csrf_token": client.csrf or "", **fields},
        files={"bundle": ("bundle.json", raw, "application/json")},
    )  # fmt: skip


async def test_a_bundle_is_imported_after_a_dry_run_diff_of_exactly_what_is_applied(
    admin_browser: ConsoleBrowser, admin: RiskWatchClient
) -> None:
    team = await admin.post_json("/v1/teams", {"name": f"Imported {uuid.uuid4().hex[:6]}"})
    exported = (await admin_browser.get("/admin/config/export")).content
    same = await _upload(admin_browser, "/admin/config/dry-run", exported)
    assert same.status_code == 200, same.text
    for service in ("alerting", "notify", "scoring"):
        table = same.text.split(f'id="diff-{service}"')[1].split("</table>")[0]
        assert "Nothing to create or change." in table, service
    bundle = json.loads(exported)
    (mine,) = [t for t in bundle["notify"]["teams"] if t["id"] == team["id"]]
    mine["description"] = "Reviews the imported alerts"
    changed = json.dumps(bundle, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    preview = await _upload(admin_browser, "/admin/config/dry-run", changed.encode())
    assert preview.status_code == 200
    notify_table = preview.text.split('id="diff-notify"')[1].split("</table>")[0]
    assert "description" in notify_table
    assert "Reviews the imported alerts" in notify_table
    assert (await admin.get_json(f"/v1/teams/{team['id']}"))["description"] == ""
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', preview.text)
    assert digest is not None
    tampered = changed.replace("Reviews the imported alerts", "Something else")
    swapped = await admin_browser.http.post(
        "/admin/config/apply",
        data={"csrf_token": admin_browser.csrf or "", "digest": digest.group(1),
              "bundle_text": tampered},
    )  # fmt: skip
    assert swapped.status_code == 400
    assert (await admin.get_json(f"/v1/teams/{team['id']}"))["description"] == ""
    applied = await admin_browser.http.post(
        "/admin/config/apply",
        data={"csrf_token": admin_browser.csrf or "", "digest": digest.group(1),
              "bundle_text": changed.replace("\n", "\r\n")},
    )  # fmt: skip
    assert applied.status_code == 200, applied.text
    assert 'id="config-applied"' in applied.text
    after = await admin.get_json(f"/v1/teams/{team['id']}")
    assert after["description"] == "Reviews the imported alerts"
    hostile = await _upload(admin_browser, "/admin/config/dry-run", b"{not json")
    assert hostile.status_code == 422
    assert 'id="config-problem"' in hostile.text
