"""The rules studio and the managed lists over HTTP against the whole running system: the
rules list, the editor's check at line and column, saving (a proposal), a second person's
approval (never the author's), the message preview in both languages, versions with a diff,
the template gallery, a backtest; the lists' search, add, remove and the CSV upload's report
per row; what each role may see and do; CSRF and hostile input."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest

from riskwatch_shared.testing import wait_until
from riskwatch_simulator.client import RiskWatchClient

from .conftest import ConsoleBrowser, People, Person, create_person

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BROKEN_CONDITION = "txn.amount > 5000\n  and txn.amout > 1"


@pytest.fixture(scope="module")
async def risk_manager(admin: RiskWatchClient) -> Person:
    return await create_person(admin, "risk_manager")


@pytest.fixture
async def manager_browser(console_url: str, risk_manager: Person) -> AsyncIterator[ConsoleBrowser]:
    client = ConsoleBrowser(console_url)
    await client.sign_in(risk_manager, next_path="/rules")
    await client.get("/rules")  # the signed-in session's CSRF token
    yield client
    await client.aclose()


def _rule_form(name: str, condition: str, **extra: str) -> dict[str, str]:
    return {"name": name, "rule_type": "transaction_anomaly", "severity": "high",
            "trigger_event_types": "scoring.transaction_scored.v1", "condition": condition,
            "dedup_key": "customer_id", "cooldown_seconds": "3600", **extra}  # fmt: skip


async def test_the_editor_checks_as_you_type_and_saving_proposes_the_rule(
    manager_browser: ConsoleBrowser, console_url: str, people: People, admin: RiskWatchClient,
    risk_manager: Person,
) -> None:  # fmt: skip
    browser = manager_browser
    studio = await browser.get("/rules")
    assert studio.status_code == 200
    assert 'href="/rules/new"' in studio.text
    assert 'id="proposals"' in studio.text
    editor = await browser.get("/rules/new")
    assert editor.status_code == 200
    assert "/static/vendor/codemirror.js" in editor.text
    assert '"path": "txn.amount"' in editor.text  # the catalogue the completion offers
    # The check as you type: the API's error, at its line and column.
    checked = await browser.http.post(
        "/rules/validate", json={"condition": BROKEN_CONDITION},
        headers={"x-csrf-token": browser.csrf or ""},
    )  # fmt: skip
    assert checked.status_code == 200
    error = checked.json()["errors"][0]
    assert (error["line"], error["column"]) == (2, 7)
    assert "txn.amout" in error["message"]
    fine = await browser.http.post(
        "/rules/validate", json={"condition": "txn.amount > 5000"},
        headers={"x-csrf-token": browser.csrf or ""},
    )  # fmt: skip
    assert fine.json()["valid"] is True
    forged = await browser.http.post("/rules/validate", json={"condition": "txn.amount > 1"})
    assert forged.status_code == 403  # no CSRF token
    # Saving a broken rule: refused, the error at its line, the form kept, nothing stored.
    name = f"Studio rule {uuid.uuid4().hex[:6]}"
    refused = await browser.post("/rules", _rule_form(name, BROKEN_CONDITION))
    assert refused.status_code == 422
    assert 'data-error-line="2"' in refused.text
    assert "Line 2, column 7:" in refused.text
    assert "txn.amout" in refused.text
    assert name in refused.text
    assert name not in str(await admin.get_json("/v1/rules"))
    saved = await browser.post("/rules", _rule_form(name, "txn.amount > 5000"))
    assert saved.status_code == 303
    rule_path = saved.headers["location"].split("?")[0]
    rule_id = rule_path.rsplit("/", 1)[1]
    page = await browser.get(saved.headers["location"])
    assert "Saved and proposed" in page.text
    assert "Your own proposal: a second person decides it." in page.text
    proposal = (await admin.get_json("/v1/rule-proposals", rule_id=rule_id, status="pending"))[0]
    # The author cannot approve it, even by posting the form: the API says no.
    own = await browser.post(f"/proposals/{proposal['id']}/approve", {"back": rule_path})
    assert own.status_code == 403
    assert (await admin.get_json(f"/v1/rules/{rule_id}"))["status"] == "draft"
    # A second person (the admin) approves it from the studio: the rule is live.
    second = ConsoleBrowser(console_url)
    try:
        await second.sign_in(people.admin, next_path="/rules")
        listed = await second.get("/rules")
        assert f'id="proposal-{proposal["id"]}"' in listed.text
        approved = await second.post(
            f"/proposals/{proposal['id']}/approve", {"comment": "four eyes", "back": "/rules"}
        )
        assert approved.status_code == 303
        assert "Approved" in (await second.get(approved.headers["location"])).text
    finally:
        await second.aclose()
    assert (await admin.get_json(f"/v1/rules/{rule_id}"))["status"] == "active"


async def test_a_change_is_a_version_with_its_diff_and_a_rejection_needs_a_reason(
    manager_browser: ConsoleBrowser, console_url: str, people: People, admin: RiskWatchClient
) -> None:
    browser = manager_browser
    name = f"Studio diff {uuid.uuid4().hex[:6]}"
    saved = await browser.post("/rules", _rule_form(name, "txn.amount > 5000"))
    rule_path = saved.headers["location"].split("?")[0]
    rule_id = rule_path.rsplit("/", 1)[1]
    await browser.get(rule_path)
    changed = await browser.post(
        rule_path,
        _rule_form(name, 'txn.amount > 7000\nand txn.channel == "transfer"',
                   title_template="Payment of {amount} by {customer}"),
    )  # fmt: skip
    assert changed.status_code == 303
    versions = await admin.get_json(f"/v1/rules/{rule_id}/versions")
    assert versions[-1]["version"] == 2
    assert set(versions[-1]["changed_fields"]) >= {"condition", "title_template"}
    diff = await browser.get(f"/rules/{rule_id}/diff", to="2")
    assert diff.status_code == 200
    assert '<span class="line-removed">' in diff.text
    assert "txn.amount &gt; 5000" in diff.text
    assert re.search(r'class="line-added">.*txn.amount &gt; 7000', diff.text)
    assert (await browser.get(f"/rules/{rule_id}/diff", to="99")).status_code == 404
    assert (await browser.get(f"/rules/{rule_id}/diff", to="x")).status_code == 404
    # A rejection needs its reason; with one, the proposal is rejected.
    proposal = (await admin.get_json("/v1/rule-proposals", rule_id=rule_id, status="pending"))[0]
    second = ConsoleBrowser(console_url)
    try:
        await second.sign_in(people.admin, next_path=rule_path)
        await second.get(rule_path)
        bare = await second.post(f"/proposals/{proposal['id']}/reject", {"back": rule_path})
        assert bare.status_code == 422
        rejected = await second.post(
            f"/proposals/{proposal['id']}/reject", {"comment": "Too broad", "back": rule_path}
        )
        assert rejected.status_code == 303
    finally:
        await second.aclose()
    decided = await admin.get_json(f"/v1/rule-proposals/{proposal['id']}")
    assert (decided["status"], decided["comment"]) == ("rejected", "Too broad")


async def test_the_message_preview_in_both_languages(manager_browser: ConsoleBrowser) -> None:
    preview = await manager_browser.get(
        "/rules/preview", title_template="Payment of {amount} by {customer}",
        summary_template="{customer}: credit level {credit_level}",
    )  # fmt: skip
    assert preview.status_code == 200
    assert "Payment of 12,500.00 EUR by Jane Doe" in preview.text
    assert "Jane Doe: credit level 高" in preview.text  # the level in Chinese words
    assert "Jane Doe: credit level high" in preview.text
    wrong = await manager_browser.get("/rules/preview", title_template="Hi {nope}")
    assert 'id="preview-error"' in wrong.text
    assert "unknown parameter {nope}" in wrong.text
    hostile = await manager_browser.get("/rules/preview", title_template="<script>x</script>")
    assert "<script>x</script>" not in hostile.text


async def test_the_template_gallery_and_a_backtest(
    manager_browser: ConsoleBrowser, admin: RiskWatchClient
) -> None:
    browser = manager_browser
    gallery = await browser.get("/rules/templates")
    assert gallery.status_code == 200
    assert 'id="template-large_amount_vs_average"' in gallery.text
    bad = await browser.post(
        "/rules/templates/large_amount_vs_average",
        {"name": "Tuned", "param.min_amount": "lots"},
    )
    assert bad.status_code == 422
    assert 'id="template-problem"' in bad.text
    name = f"Tuned large payment {uuid.uuid4().hex[:6]}"
    created = await browser.post(
        "/rules/templates/large_amount_vs_average",
        {"name": name, "severity": "critical", "param.min_amount": "2500"},
    )
    assert created.status_code == 303
    rule_id = created.headers["location"].split("?")[0].rsplit("/", 1)[1]
    rule = await admin.get_json(f"/v1/rules/{rule_id}")
    assert (rule["name"], rule["severity"]) == (name, "critical")
    assert "txn.amount >= 2500" in rule["condition"]
    await browser.get(f"/rules/{rule_id}")
    started = await browser.post(
        f"/rules/{rule_id}/backtest", {"start": "2026-01-01", "end": "2026-01-20"}
    )
    assert started.status_code == 303
    job_path = started.headers["location"]
    assert job_path.startswith("/backtests/")

    async def finished() -> str | None:
        page = await browser.get(job_path)
        found = re.search(r'id="backtest-progress-box" data-status="([a-z_]+)"', page.text)
        status = found.group(1) if found else None
        return page.text if status not in (None, "queued", "running") else None

    done = await wait_until(finished, timeout=120, interval=0.5, message="backtest job")
    assert done is not None
    assert 'data-status="succeeded"' in done
    assert 'id="backtest-result"' in done
    assert 'id="backtest-alerts"' in done
    assert "Alerts per day" in done
    too_long = await browser.post(
        f"/rules/{rule_id}/backtest", {"start": "2024-01-01", "end": "2026-01-20"}
    )
    assert too_long.status_code == 422
    assert "366 days" in too_long.text
    assert (await browser.get("/backtests/not-a-job")).status_code == 404


async def test_what_each_role_may_see_and_do_in_the_studio(
    console_url: str, people: People, admin: RiskWatchClient
) -> None:
    analyst = ConsoleBrowser(console_url)
    rm = ConsoleBrowser(console_url, accept_language="zh-CN")
    try:
        await analyst.sign_in(people.analyst)
        page = await analyst.get("/rules")
        assert page.status_code == 200  # analysts read the rules...
        assert 'href="/rules/new"' not in page.text  # ...but do not write them
        assert 'href="/rules"' in page.text
        new = await analyst.get("/rules/new")
        assert new.status_code == 403
        refused = await analyst.post("/rules", _rule_form("Analyst's rule", "txn.amount > 1"))
        assert refused.status_code == 403
        assert "Analyst's rule" not in str(await admin.get_json("/v1/rules"))
        lists = await analyst.get("/lists")
        assert lists.status_code == 200
        assert 'action="/lists"' not in lists.text
        await rm.sign_in(people.rm_ana)
        rm_page = await rm.get("/rules")
        assert rm_page.status_code == 403  # a relationship manager has no rules studio
        assert "您的角色无此权限" in rm_page.text
        assert 'href="/rules"' not in rm_page.text  # and no link to it
        assert (await rm.get("/lists")).status_code == 403
    finally:
        await analyst.aclose()
        await rm.aclose()


async def test_the_studio_in_chinese(console_url: str, risk_manager: Person) -> None:
    browser = ConsoleBrowser(console_url, accept_language="zh-CN")
    try:
        await browser.sign_in(risk_manager, next_path="/rules")
        page = await browser.get("/rules")
        assert "规则工作室" in page.text
        assert "等待审批" in page.text
        editor = await browser.get("/rules/new")
        assert "保存并提交" in editor.text
    finally:
        await browser.aclose()


# --- managed lists ------------------------------------------------------------------------------

CSV_UPLOAD = (
    "value,note\n"
    "GB,known\n"          # line 2: already in the list
    "pt,lower case\n"     # line 3: a code, upper-cased
    "AE\n"                # line 4
    "PT,again\n"          # line 5: a duplicate of line 3
    "FRA,three letters\n"  # line 6: invalid
    "\n"
    "R\u202eU,bidi\n"     # line 8: invalid (a bidi override)
)  # fmt: skip


async def test_lists_browse_search_add_remove_and_upload_with_a_report_per_row(
    manager_browser: ConsoleBrowser, admin: RiskWatchClient
) -> None:
    browser = manager_browser
    name = f"studio_countries_{uuid.uuid4().hex[:6]}"
    index = await browser.get("/lists")
    assert index.status_code == 200
    created = await browser.post("/lists", {"name": name, "kind": "countries",
                                            "description": "High-risk countries"})  # fmt: skip
    assert created.status_code == 303
    list_path = created.headers["location"]
    list_id = list_path.rsplit("/", 1)[1]
    duplicate = await browser.post("/lists", {"name": name, "kind": "countries"})
    assert duplicate.status_code == 409
    assert 'id="list-problem"' in duplicate.text
    await browser.get(list_path)
    added = await browser.post(f"{list_path}/entries", {"value": "GB", "note": "known"})
    assert added.status_code == 303
    page = await browser.get(added.headers["location"])
    assert 'id="list-notice"' in page.text
    assert 'data-value="GB"' in page.text
    upload = await browser.http.post(
        f"{list_path}/upload",
        data={"csrf_token": browser.csrf or ""},
        files={"file": ("countries.csv", CSV_UPLOAD.encode(), "text/csv")},
    )
    assert upload.status_code == 200
    statuses = dict(re.findall(r'data-line="(\d+)" data-status="([a-z_]+)"', upload.text))
    assert statuses == {"2": "already_present", "3": "added", "4": "added", "5": "duplicate",
                        "6": "invalid", "8": "invalid"}  # fmt: skip
    assert "Duplicate of line 3" in upload.text
    assert "Not a two-letter country code" in upload.text
    entries = await admin.get_json(f"/v1/lists/{list_id}/entries")
    assert [entry["value"] for entry in entries["items"]] == ["AE", "GB", "PT"]
    found = await browser.get(list_path, q="lower")
    assert 'data-value="PT"' in found.text
    assert 'data-value="GB"' not in found.text
    removed = await browser.post(f"{list_path}/remove", {"values": "AE"})
    assert removed.status_code == 303
    entries = await admin.get_json(f"/v1/lists/{list_id}/entries")
    assert [entry["value"] for entry in entries["items"]] == ["GB", "PT"]


async def test_a_list_upload_that_is_not_a_csv_loads_nothing(
    manager_browser: ConsoleBrowser, admin: RiskWatchClient
) -> None:
    browser = manager_browser
    name = f"studio_devices_{uuid.uuid4().hex[:6]}"
    created = await browser.post("/lists", {"name": name, "kind": "devices"})
    list_path = created.headers["location"]
    list_id = list_path.rsplit("/", 1)[1]
    await browser.get(list_path)
    binary = await browser.http.post(
        f"{list_path}/upload",
        data={"csrf_token": browser.csrf or ""},
        files={"file": ("devices.csv", b"\xff\xfe\x00d\x00e\x00v", "text/csv")},
    )
    assert binary.status_code == 400
    assert "not UTF-8" in binary.text
    forged = await browser.http.post(
        f"{list_path}/upload", files={"file": ("devices.csv", b"dev-1\n", "text/csv")}
    )
    assert forged.status_code == 403  # no CSRF token
    hostile = await browser.get(list_path, q="a\x00b")
    assert hostile.status_code == 400
    assert (await admin.get_json(f"/v1/lists/{list_id}"))["entry_count"] == 0
    assert (await browser.get("/lists/not-a-uuid")).status_code == 404


async def test_a_list_an_active_rule_names_changes_only_with_a_second_persons_approval(
    manager_browser: ConsoleBrowser, console_url: str, people: People, admin: RiskWatchClient
) -> None:
    browser = manager_browser
    name = f"studio_watched_{uuid.uuid4().hex[:6]}"
    created = await browser.post("/lists", {"name": name, "kind": "countries"})
    list_path = created.headers["location"]
    list_id = list_path.rsplit("/", 1)[1]
    saved = await browser.post(
        "/rules", _rule_form(f"Listed {name}", f'txn.counterparty_country in list("{name}")')
    )
    rule_id = saved.headers["location"].split("?")[0].rsplit("/", 1)[1]
    rule_proposal = (await admin.get_json("/v1/rule-proposals", rule_id=rule_id))[0]
    await admin.post_json(f"/v1/rule-proposals/{rule_proposal['id']}/approve", {})
    await browser.get(list_path)
    upload = await browser.http.post(
        f"{list_path}/upload",
        data={"csrf_token": browser.csrf or ""},
        files={"file": ("countries.csv", b"RU\nKP,sanctions\n", "text/csv")},
    )
    assert upload.status_code == 200
    statuses = dict(re.findall(r'data-line="(\d+)" data-status="([a-z_]+)"', upload.text))
    assert statuses == {"1": "proposed", "2": "proposed"}
    assert 'id="list-proposals"' in upload.text
    assert (await admin.get_json(f"/v1/lists/{list_id}"))["entry_count"] == 0
    proposal = (await admin.get_json("/v1/list-proposals", list_id=list_id, status="pending"))[0]
    second = ConsoleBrowser(console_url)
    try:
        await second.sign_in(people.admin, next_path=list_path)
        page = await second.get(list_path)
        assert f'id="list-proposal-{proposal["id"]}"' in page.text
        approved = await second.post(
            f"/list-proposals/{proposal['id']}/approve", {"back": list_path}
        )
        assert approved.status_code == 303
        assert (
            "Approved: the change is applied."
            in (await second.get(approved.headers["location"])).text
        )
    finally:
        await second.aclose()
    entries = await admin.get_json(f"/v1/lists/{list_id}/entries")
    assert [entry["value"] for entry in entries["items"]] == ["KP", "RU"]
