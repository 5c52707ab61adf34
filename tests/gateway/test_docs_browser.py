"""/docs in a real headless browser (Debian's chromium, driven by Playwright): it renders with
no request beyond loopback, the "Authorize" dialog signs in with the OAuth2 password flow, and
an authorised "Try it out" call succeeds. ReDoc renders offline too.

`make test` installs chromium (apt) when it is missing. Set RISKWATCH_SCREENSHOT_DIR to keep the
screenshot (docs/screenshots/ holds the one in the repository); by default it goes to a
temporary folder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from riskwatch_gateway.main import create_app
from riskwatch_shared.testing import wait_until

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, SERVICES, Gateway, gateway_settings
from .upstreams import serve

CHROMIUM = "/usr/bin/chromium"
INSTALLED = Path(CHROMIUM).exists()
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    assert INSTALLED, f"{CHROMIUM} missing: `make test` installs it (apt chromium)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def dev_gateway(gateway: Gateway) -> AsyncIterator[str]:
    """The gateway in dev mode (as on a developer's machine): /docs and /openapi.json open;
    every /v1 call still needs credentials."""
    urls = {name: gateway.upstreams[name].url for name in SERVICES}
    settings = gateway_settings(gateway.database_url, urls, RISKWATCH_DEV_MODE=True)
    async with serve(create_app(settings), lifespan="on") as url, httpx.AsyncClient() as http:

        async def ready() -> bool:
            return (await http.get(f"{url}/readyz")).status_code == 200

        await wait_until(ready, message="gateway ready: every service's document merged")
        yield url


async def offline_context(browser: Browser, refused: list[str]) -> BrowserContext:
    """A browser context in which every request beyond loopback is refused (and recorded)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})

    async def only_loopback(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_loopback)
    return context


async def sign_in_with_the_authorize_dialog(page: Page) -> None:
    await page.click("button.authorize")
    dialog = page.locator(".dialog-ux .modal-ux")
    oauth2 = dialog.locator(".auth-container", has_text="oauth2Password")
    await oauth2.locator("#oauth_username").fill(ADMIN_EMAIL)
    await oauth2.locator("#oauth_password").fill(ADMIN_PASSWORD)
    await oauth2.locator("button.authorize").click()
    # Signed in: the dialog offers to log out of that scheme, and shows no error.
    await oauth2.locator("button", has_text="Logout").wait_for(timeout=TIMEOUT_MS)
    assert await oauth2.locator(".errors").count() == 0
    await dialog.locator("button.btn-done").first.click()


async def test_docs_render_offline_sign_in_and_try_it_out(
    browser: Browser, dev_gateway: str, tmp_path: Path
) -> None:
    refused: list[str] = []
    context = await offline_context(browser, refused)
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{dev_gateway}/docs")
        await page.locator(".swagger-ui .info .title", has_text="RiskWatch API").wait_for()
        # The merged document: the services' operations are listed beside the gateway's.
        await page.locator("[id$='-customer-items-list']").wait_for()

        await sign_in_with_the_authorize_dialog(page)
        shots = Path(os.environ.get("RISKWATCH_SCREENSHOT_DIR") or tmp_path)
        os.makedirs(shots, exist_ok=True)
        await page.screenshot(path=shots / "docs-signed-in.png")

        operation = page.locator("#operations-auth-gateway-auth-me")
        await operation.locator(".opblock-summary").click()
        await operation.locator("button.try-out__btn").click()
        await operation.locator("button.execute").click()
        status = operation.locator(".live-responses-table .response .response-col_status")
        await status.first.wait_for()
        body = await operation.locator(".live-responses-table .microlight").first.inner_text()
        answered = (await status.first.inner_text()).strip()
        await operation.scroll_into_view_if_needed()
        await page.screenshot(path=shots / "docs-try-it-out.png")

        redoc = await context.new_page()
        await redoc.goto(f"{dev_gateway}/redoc")
        await redoc.locator("h1", has_text="RiskWatch API").first.wait_for(timeout=TIMEOUT_MS)
    finally:
        await context.close()
    assert answered == "200", body
    assert '"admin"' in body  # GET /v1/auth/me with the token the dialog got
    assert refused == [], f"requests beyond loopback: {refused}"
