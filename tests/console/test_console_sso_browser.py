"""Sign-in with the bank's SSO in a real browser (Debian's chromium, driven by Playwright): the
console's sign-in page, off to the provider's page (a real OpenID Connect provider over HTTPS
on this machine), back to the desk signed in; no request leaves this machine."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, async_playwright

from riskwatch_shared.testing.oidc_provider import LocalIdp
from riskwatch_simulator.client import RiskWatchClient

from .conftest import create_person

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
CHROMIUM = "/usr/bin/chromium"
INSTALLED = Path(CHROMIUM).exists()
LOOPBACK = frozenset({"127.0.0.1", "localhost"})
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    assert INSTALLED, f"{CHROMIUM} missing: `make test` installs it (apt chromium)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def test_an_analyst_signs_in_through_the_banks_sso(
    chromium: Browser, console_url: str, idp: LocalIdp, admin: RiskWatchClient
) -> None:
    person = await create_person(admin, "analyst")
    # The provider's certificate comes from its own test CA, which the browser does not know.
    context = await chromium.new_context(locale="en-GB", ignore_https_errors=True)
    refused: list[str] = []

    async def only_loopback(route: Route) -> None:
        if (urlsplit(route.request.url).hostname or "") in LOOPBACK:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_loopback)
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{console_url}/desk")
        assert urlsplit(page.url).path == "/sign-in"
        await page.get_by_role("link", name="Sign in with Bank SSO").click()
        await page.wait_for_url(re.compile(re.escape(idp.issuer) + "/authorize"))
        await page.get_by_label("Email").fill(person.email)
        await page.get_by_role("button", name="Continue").click()
        await page.wait_for_url(re.compile(re.escape(console_url) + "/desk"))
        assert await page.get_by_role("heading", name="Alert desk").count() >= 1
        # Signed in as that person (the name the API knows them by); sign-out works.
        user = await admin.get_json(f"/v1/users/{person.subject}")
        assert (await page.locator(".who").inner_text()).strip() == user["name"]
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(re.compile("/sign-in"))
    finally:
        await context.close()
    assert refused == []
