"""The rules studio and the managed lists in a real browser (Debian's chromium, driven by
Playwright): writing a rule with a mistake (the error appears at its line, as you type),
backtesting it with its progress shown live, proposing it and approving it as a second
person; the lists' CSV upload with its report. No request leaves this machine and the CSP
refuses nothing the pages do (CodeMirror included).

Each screen is photographed: into RISKWATCH_SCREENSHOT_DIR when set (docs/console/ holds the
ones in the repository), else into a temporary folder."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect

from riskwatch_shared.testing import wait_until
from riskwatch_simulator.client import RiskWatchClient

from .conftest import People, Person, create_person
from .test_console_browser import CHROMIUM, INSTALLED, LOOPBACK, TIMEOUT_MS, Watched, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
JOB_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def studio_shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("RISKWATCH_SCREENSHOT_DIR")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("studio-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
async def studio_chromium() -> AsyncIterator[Browser]:
    assert INSTALLED, f"{CHROMIUM} missing: `make test` installs it"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def _watched(chromium: Browser) -> Watched:
    context = await chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    guard = Watched(context)

    async def only_loopback(route: Route) -> None:
        if (urlsplit(route.request.url).hostname or "") in LOOPBACK:
            await route.continue_()
        else:
            guard.refused.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_loopback)
    return guard


@pytest.fixture
async def maker(studio_chromium: Browser) -> AsyncIterator[Watched]:
    guard = await _watched(studio_chromium)
    yield guard
    await guard.context.close()
    assert guard.refused == []
    assert guard.csp_errors == []


@pytest.fixture
async def checker(studio_chromium: Browser) -> AsyncIterator[Watched]:
    guard = await _watched(studio_chromium)
    yield guard
    await guard.context.close()
    assert guard.refused == []
    assert guard.csp_errors == []


@pytest.fixture(scope="module")
async def rule_writer(admin: RiskWatchClient) -> Person:
    return await create_person(admin, "risk_manager")


HITS = (("2026-02-02", "15000.00", "AE"), ("2026-02-09", "22000.00", "RU"),
        ("2026-02-16", "12500.00", "AE"), ("2026-02-16", "18000.00", "PT"))  # fmt: skip


async def seed_history(admin: RiskWatchClient) -> None:
    """A customer's large transfers abroad in February (three to other countries than PT),
    stored by alerting before the backtest replays them."""
    customer = await admin.post_json(
        "/v1/customers",
        {"kind": "individual", "name": f"Studio Customer {uuid.uuid4().hex[:6]}",
         "document_type": "passport", "document_number": uuid.uuid4().hex[:12].upper(),
         "country": "PT", "segment": "retail", "kyc_status": "verified"},
    )  # fmt: skip
    marker = uuid.uuid4().hex[:8]
    for day, amount, country in HITS:
        await admin.post_json(
            "/v1/transactions",
            {"external_id": f"studio-{marker}-{day}-{country}", "customer_id": customer["id"],
             "direction": "outbound", "amount": amount, "currency": "EUR", "channel": "transfer",
             "counterparty_name": f"Payee {country}", "counterparty_country": country,
             "country": "PT", "occurred_at": f"{day}T10:00:00+00:00"},
        )  # fmt: skip
    probe = {"condition": f'txn.customer_id == "{customer["id"]}" and txn.amount > 10000',
             "trigger_event_types": ["scoring.transaction_scored.v1"],
             "start": "2026-01-15T00:00:00+00:00", "end": "2026-04-01T00:00:00+00:00",
             "cooldown_seconds": 0}  # fmt: skip

    async def stored() -> bool | None:
        result = await admin.post_json("/v1/backtests", probe)
        return True if result["matches"] >= len(HITS) else None

    await wait_until(stored, timeout=90, interval=1.0, message="history stored")


async def sign_in_to(page: Page, console_url: str, person: Person, path: str) -> None:
    await page.goto(f"{console_url}{path}")
    assert urlsplit(page.url).path == "/sign-in"
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(person.password)
    await page.locator("section.sign-in button[type=submit]").click()
    await page.wait_for_url(re.compile(re.escape(path)))


async def test_write_a_rule_with_a_mistake_backtest_it_and_approve_it_as_a_second_person(
    maker: Watched, checker: Watched, console_url: str, people: People, rule_writer: Person,
    admin: RiskWatchClient, studio_shots: Path,
) -> None:  # fmt: skip
    page = await maker.page()
    await sign_in_to(page, console_url, rule_writer, "/rules")
    await page.locator("#new-rule").click()
    await page.wait_for_url(re.compile("/rules/new"))
    await page.wait_for_selector(".CodeMirror[data-editor=ready]")
    name = f"Large transfer abroad {uuid.uuid4().hex[:4]}"
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Type").select_option("transaction_anomaly")
    await page.get_by_label("Severity").select_option("high")
    # Typing into the editor: completion from the field catalogue pops up.
    await page.locator(".CodeMirror").click()
    await page.keyboard.type("txn.amount > 10000")
    await page.keyboard.press("Escape")
    await page.keyboard.press("Enter")
    await page.keyboard.type("  and txn.counterpart")
    await page.wait_for_selector(".CodeMirror-hints li")
    hints = await page.locator(".CodeMirror-hints li").all_inner_texts()
    assert any("txn.counterparty_country" in hint for hint in hints)
    await shoot(page, studio_shots / "studio-editor-completion.png", full_page=False)
    await page.keyboard.press("Escape")
    await page.keyboard.type('y_cuntry != "PT"')  # the mistake: a field that does not exist
    await page.keyboard.press("Escape")
    # The API's check as you type: the error is marked at its line and said in words.
    error = page.locator("#condition-error")
    await expect(error).to_contain_text("txn.counterparty_cuntry", timeout=TIMEOUT_MS)
    assert await error.get_attribute("data-line") == "2"
    assert "Line 2, column 7:" in await error.inner_text()
    marked = page.locator(".CodeMirror-code > div").nth(1).locator(".CodeMirror-lint-mark-error")
    await expect(marked).to_contain_text("txn.counterparty_cuntry", timeout=TIMEOUT_MS)
    assert await page.locator(".CodeMirror-lint-marker-error").count() == 1  # in the gutter
    await page.get_by_label("Title").fill("{amount} to {counterparty} at {happened_at}")
    preview = page.locator("#preview-table")
    await expect(preview).to_contain_text("2026年3月2日 09:14", timeout=TIMEOUT_MS)
    shown = await preview.inner_text()
    assert "12,500.00 EUR to Acme Trading Ltd at 2026-03-02 09:14 UTC" in shown
    await shoot(page, studio_shots / "studio-editor-error.png")
    # Fixed: the check clears, and saving proposes the rule for a second person.
    editor_line = page.locator(".CodeMirror-code > div").nth(1)
    await editor_line.click()
    await page.keyboard.press("End")
    for _ in range(len('y_cuntry != "PT"')):
        await page.keyboard.press("Backspace")
    await page.keyboard.type('y_country != "PT"')
    await page.keyboard.press("Escape")
    await page.locator("#condition-ok").wait_for(state="visible")
    assert await error.is_hidden()
    await page.locator("#rule-save").click()
    await page.wait_for_url(re.compile(r"/rules/[0-9a-f-]{36}\?saved=1"))
    rule_id = urlsplit(page.url).path.rsplit("/", 1)[1]
    rule = await admin.get_json(f"/v1/rules/{rule_id}")
    assert rule["condition"] == ('txn.amount > 10000\n  and txn.counterparty_country != "PT"')
    assert rule["status"] == "draft"
    assert "Your own proposal" in await page.locator("#proposals").inner_text()
    # The backtest runs as a job: its page follows the progress live, then shows the result.
    await seed_history(admin)
    await page.locator("#backtest-start").fill("2026-01-01")
    await page.locator("#backtest-run").click()
    await page.wait_for_url(re.compile("/backtests/"))
    await page.locator("#backtest-progress").wait_for()
    live = await page.locator("#backtest-live").count()
    await shoot(page, studio_shots / "studio-backtest-progress.png", full_page=False)
    await page.wait_for_selector("#backtest-result", timeout=JOB_TIMEOUT_MS)
    assert await page.locator("#backtest-status").inner_text() == "Finished"
    assert await page.locator("#backtest-progress").get_attribute("value") == "100"
    assert live == 1  # the job was still running when its page opened: followed live
    assert int(await page.locator("#backtest-alerts").inner_text()) >= 3
    await page.wait_for_selector("div.chart[data-drawn] canvas")  # alerts per day, drawn
    assert await page.locator("#backtest-precision").count() == 1
    await shoot(page, studio_shots / "studio-backtest-result.png")
    # A second person (an admin) approves it from the studio; the rule goes live.
    proposal = (await admin.get_json("/v1/rule-proposals", rule_id=rule_id, status="pending"))[0]
    second = await checker.page()
    await sign_in_to(second, console_url, people.admin, "/rules")
    row = second.locator(f"#proposal-{proposal['id']}")
    await row.wait_for()
    await shoot(second, studio_shots / "studio-proposals.png")
    await row.get_by_placeholder("Comment (optional)").fill("Checked the backtest.")
    await row.locator("button.approve").click()
    await second.wait_for_selector("#decided")
    assert "Approved" in await second.locator("#decided").inner_text()
    assert (await admin.get_json(f"/v1/rules/{rule_id}"))["status"] == "active"
    await second.goto(f"{console_url}/rules/{rule_id}")
    assert await second.locator("#rule-status").inner_text() == "Active"
    await shoot(second, studio_shots / "studio-rule.png")
    await second.goto(f"{console_url}/rules")
    assert await second.locator(f"#rule-{rule_id}").count() == 1
    await shoot(second, studio_shots / "studio-rules.png")


async def test_template_gallery_diff_and_a_list_upload_report(
    maker: Watched, console_url: str, rule_writer: Person, studio_shots: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    page = await maker.page()
    await sign_in_to(page, console_url, rule_writer, "/rules/templates")
    await shoot(page, studio_shots / "studio-templates.png", full_page=False)
    card = page.locator("#template-large_amount_vs_average")
    await card.get_by_label("Name").fill(f"Tuned large payment {uuid.uuid4().hex[:4]}")
    await card.locator("input[name='param.min_amount']").fill("2500")
    await card.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/rules/[0-9a-f-]{36}\?saved=1"))
    await page.wait_for_selector(".CodeMirror[data-editor=ready]")
    await page.get_by_label("Severity").select_option("critical")
    await page.get_by_label("Cool-down (seconds)").fill("7200")
    await page.get_by_label("Title").fill("Large payment of {amount} to {counterparty}")
    await page.locator("#rule-save").click()
    await page.wait_for_url(re.compile(r"\?saved=1"))
    await page.locator("#versions a", has_text="Diff").first.click()
    await page.wait_for_url(re.compile("/diff"))
    assert await page.locator(".line-added").count() == 3  # severity, cool-down, title
    await shoot(page, studio_shots / "studio-diff.png", full_page=False)
    # A list and its CSV upload: the report says what became of every line.
    await page.goto(f"{console_url}/lists")
    await page.get_by_label("Name (lower case, digits, _)").fill(
        f"high_risk_{uuid.uuid4().hex[:6]}"
    )
    await page.get_by_label("Kind").select_option("countries")
    await page.get_by_label("Description").fill("Countries with a high money-laundering risk")
    await page.locator("form[action='/lists'] button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/lists/[0-9a-f-]{36}"))
    await page.get_by_label("Value", exact=True).fill("IR")
    await page.get_by_label("Note", exact=True).fill("FATF call for action")
    await page.locator("form.stack button", has_text="Add").click()
    await page.wait_for_selector("#list-notice")
    upload = tmp_path / "countries.csv"
    upload.write_text("value,note\nIR,FATF\nkp,FATF call for action\nMM\nKP,again\nXYZ,typo\n")
    await page.get_by_label("CSV file").set_input_files(str(upload))
    await page.locator("form[enctype] button[type=submit]").click()
    await page.wait_for_selector("#upload-report")
    statuses = await page.locator("#report-rows tr[data-status]").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    assert statuses == ["already_present", "added", "added", "duplicate", "invalid"]
    await shoot(page, studio_shots / "studio-list-upload.png")
    await page.goto(f"{console_url}/lists")
    await shoot(page, studio_shots / "studio-lists.png", full_page=False)


async def test_the_studio_in_chinese(
    studio_chromium: Browser, console_url: str, rule_writer: Person, studio_shots: Path
) -> None:
    context = await studio_chromium.new_context(
        viewport={"width": 1400, "height": 1000}, locale="zh-CN"
    )
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{console_url}/rules/new")
        await page.get_by_label("邮箱").fill(rule_writer.email)
        await page.get_by_label("密码").fill(rule_writer.password)
        await page.locator("section.sign-in button[type=submit]").click()
        await page.wait_for_url(re.compile("/rules/new"))
        await page.wait_for_selector(".CodeMirror[data-editor=ready]")
        await page.locator(".CodeMirror").click()
        await page.keyboard.type("txn.amount > ")
        await page.keyboard.press("Escape")
        error = page.locator("#condition-error")
        await expect(error).to_contain_text("第 1 行", timeout=TIMEOUT_MS)
        assert await page.locator("h1").inner_text() == "新规则"
        await shoot(page, studio_shots / "studio-editor-zh.png", full_page=False)
    finally:
        await context.close()
