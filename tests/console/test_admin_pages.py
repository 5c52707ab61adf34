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
from riskwatch_simulator.client import RiskWatchClient

from .conftest import ConsoleBrowser, People

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
