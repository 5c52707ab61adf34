"""Approvals and operational alerts in a real browser (Debian's chromium, driven by
Playwright): a managed list's change waits for a second person (its author sees that it
waits), who approves it with a comment; an operational alert's page with its figures. No
request leaves this machine and the CSP refuses nothing. Screens are photographed into
RISKWATCH_SCREENSHOT_DIR when set (docs/console/ holds the repository's), else a temporary
folder."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, async_playwright, expect

from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

from .conftest import People, Person, create_person
from .test_approvals_pages import console_browser, drift_alert, watched_list_proposal
from .test_console_browser import CHROMIUM, INSTALLED, LOOPBACK, Watched, shoot
from .test_studio_browser import sign_in_to

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("RISKWATCH_SCREENSHOT_DIR")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("approvals-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
async def author(admin: RiskWatchClient) -> Person:
    return await create_person(admin, "risk_manager")


@pytest.fixture
async def chromium_pages() -> AsyncIterator[tuple[Watched, Watched]]:
    """Two people's browsers (the author's and the approver's), loopback only."""
    assert INSTALLED, f"{CHROMIUM} missing: `make test` installs it"
    async with async_playwright() as playwright:
        browser: Browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        guards = []
        for _ in range(2):
            context = await browser.new_context(
                viewport={"width": 1400, "height": 900}, locale="en-GB"
            )
            guard = Watched(context)

            async def only_loopback(route: Route, guard: Watched = guard) -> None:
                if (urlsplit(route.request.url).hostname or "") in LOOPBACK:
                    await route.continue_()
                else:
                    guard.refused.append(route.request.url)
                    await route.abort("internetdisconnected")

            await context.route("**/*", only_loopback)
            guards.append(guard)
        try:
            yield guards[0], guards[1]
        finally:
            await browser.close()
        for guard in guards:
            assert guard.refused == []
            assert guard.csp_errors == []


async def test_approving_a_list_change_as_a_second_person(
    chromium_pages: tuple[Watched, Watched], console_url: str, system: RunningSystem,
    people: People, author: Person, admin: RiskWatchClient, shots: Path,
) -> None:  # fmt: skip
    maker, checker = chromium_pages
    setup = await console_browser(console_url, author)
    try:
        list_id, proposal_id = await watched_list_proposal(setup, admin)
    finally:
        await setup.aclose()
    alert = await drift_alert(system, admin)

    mine = await maker.page()
    await sign_in_to(mine, console_url, author, "/approvals")
    row = mine.locator(f"#approval-{proposal_id}")
    await expect(row).to_contain_text("waiting for a second person")
    assert await row.locator("button.approve").count() == 0
    await shoot(mine, shots / "approvals-author.png")

    page = await checker.page()
    await sign_in_to(page, console_url, people.admin, "/approvals")
    row = page.locator(f"#approval-{proposal_id}")
    await expect(row).to_contain_text("Add 1: KP")
    await row.get_by_placeholder("Comment (optional)").fill("Sanctioned: checked.")
    await shoot(page, shots / "approvals.png")
    await row.locator("button.approve").click()
    await expect(page.locator("#approvals-notice")).to_contain_text("Approved")
    assert await page.locator(f"#approval-{proposal_id}").count() == 0
    entries = await admin.get_json(f"/v1/lists/{list_id}/entries")
    assert [entry["value"] for entry in entries["items"]] == ["KP"]

    await page.goto(f"{console_url}/operational-alerts")
    await page.locator(f"#operational-alert-{alert['id']} a").click()
    await page.wait_for_url(re.compile(f"/operational-alerts/{alert['id']}"))
    await expect(page.locator("#op-figures")).to_contain_text("0.41")
    await shoot(page, shots / "operational-alert.png")
    await page.goto(f"{console_url}/operational-alerts")
    await shoot(page, shots / "operational-alerts.png")
