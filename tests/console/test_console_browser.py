"""The console in a real browser (Debian's chromium, driven by Playwright; never a downloaded
browser): sign-in; queue -> case -> contact -> measure -> resolve; a new alert appearing live
on the desk; the zh-CN / en switch; a relationship manager unable to open another's customer.
No request leaves this machine and the CSP refuses nothing the pages do.

Each screen is photographed: into RISKWATCH_SCREENSHOT_DIR when set (docs/screenshots/ holds
the ones in the repository), else into a temporary folder. `make test` installs chromium."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from riskwatch_simulator.client import RiskWatchClient

from .conftest import AlertedCustomer, People, Person, alerted_customer, enrich_customer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
CHROMIUM = "/usr/bin/chromium"
INSTALLED = Path(CHROMIUM).exists()
LOOPBACK = frozenset({"127.0.0.1", "localhost"})
TIMEOUT_MS = 30_000
LIVE_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("RISKWATCH_SCREENSHOT_DIR")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("console-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


class Watched:
    """A browser context that refuses (and records) any request beyond this machine, and
    records what the page's console says about the CSP."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.refused: list[str] = []
        self.csp_errors: list[str] = []

    async def page(self) -> Page:
        page = await self.context.new_page()
        page.set_default_timeout(TIMEOUT_MS)

        def on_console(message: object) -> None:
            text = str(getattr(message, "text", ""))
            if "Content Security Policy" in text:
                self.csp_errors.append(text)

        page.on("console", on_console)
        return page


@pytest.fixture
async def watched(chromium: Browser) -> AsyncIterator[Watched]:
    context = await chromium.new_context(viewport={"width": 1360, "height": 900}, locale="en-GB")
    guard = Watched(context)

    async def only_loopback(route: Route) -> None:
        if (urlsplit(route.request.url).hostname or "") in LOOPBACK:
            await route.continue_()
        else:
            guard.refused.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_loopback)
    yield guard
    await context.close()
    assert guard.refused == []
    assert guard.csp_errors == []


async def shoot(page: Page, path: Path, *, full_page: bool = True) -> None:
    """A screenshot that leaves the caret alone: Playwright hides it with an injected inline
    style, which the console's CSP refuses (and the watch would report)."""
    await page.screenshot(path=str(path), full_page=full_page, caret="initial")


async def sign_in(page: Page, console_url: str, person: Person) -> None:
    await page.goto(f"{console_url}/desk")
    assert urlsplit(page.url).path == "/sign-in"
    await page.get_by_label(re.compile("Email|邮箱")).fill(person.email)
    await page.get_by_label(re.compile("Password|密码")).fill(person.password)
    await page.locator("section.sign-in button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/desk"))


async def test_sign_in_then_queue_case_contact_measure_resolve(
    watched: Watched, console_url: str, people: People, admin: RiskWatchClient, rules: None,
    shots: Path,
) -> None:  # fmt: skip
    customer = await alerted_customer(admin, "rm-ana")
    page = await watched.page()
    await page.goto(f"{console_url}/sign-in")
    await shoot(page, shots / "console-sign-in.png", full_page=False)
    wrong = Person(people.analyst.email, "not-the-password-123", people.analyst.subject)
    await page.get_by_label("Email").fill(wrong.email)
    await page.get_by_label("Password").fill(wrong.password)
    await page.locator("section.sign-in button[type=submit]").click()
    await page.wait_for_selector("#sign-in-error")
    await sign_in(page, console_url, people.analyst)
    await page.goto(f"{console_url}/")
    await shoot(page, shots / "console-start.png")
    await page.goto(f"{console_url}/desk")
    await page.wait_for_selector(f"#alert-{customer.alert['id']}")
    await shoot(page, shots / "console-desk.png")
    # The filters work through htmx: the table is replaced, the address follows.
    await page.get_by_label("Customer id").fill(customer.customer_id)
    await page.locator("form.filters button[type=submit]").click()
    await page.wait_for_url(re.compile(customer.customer_id))
    await page.locator(f"#alert-{customer.alert['id']} a.alert-link").click()
    await page.wait_for_url(re.compile(f"/alerts/{customer.alert['id']}"))
    await page.locator("#acknowledge button[type=submit]").click()
    await page.wait_for_url(re.compile("#acknowledge"))
    contact = page.locator("#contact")
    await contact.get_by_label("Channel").select_option("call")
    await contact.get_by_label("Note").fill("Called the customer: payment plan offered.")
    await contact.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile("#contact"))
    measure = page.locator("#measures")
    await measure.get_by_label("Measure").select_option("reduce_limit")
    await measure.get_by_label("New limit").fill("-1")
    await measure.get_by_label("Currency").fill("GBP")
    await measure.locator("button[type=submit]").click()
    await page.wait_for_selector("#measures-problem")  # the API's refusal, inline
    await page.locator("#measures-problem").scroll_into_view_if_needed()
    await shoot(page, shots / "console-case-error.png", full_page=False)
    measure = page.locator("#measures")
    await measure.get_by_label("Measure").select_option("require_payment_review")
    await measure.get_by_label("Reason").fill("Missed payments: review outgoing payments.")
    await measure.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile("#measures"))
    resolve = page.locator("#resolve")
    await resolve.get_by_label("Outcome").select_option("mitigated_customer_contacted")
    await resolve.get_by_label("Comment").fill("Payment plan agreed.")
    await resolve.locator("button[type=submit]").click()
    await page.wait_for_selector("#reopen")
    timeline = await page.locator("ol.timeline").inner_text()
    assert "Called the customer: payment plan offered." in timeline
    await page.goto(f"{console_url}/alerts/{customer.alert['id']}")
    await shoot(page, shots / "console-case.png")
    await enrich_customer(admin, customer.customer_id)
    await page.goto(f"{console_url}/customers/{customer.customer_id}")
    await page.wait_for_selector("div.chart[data-drawn] canvas")  # uPlot drew the chart
    assert await page.locator("div.chart[data-drawn]").count() == 3
    await shoot(page, shots / "console-customer.png")
    await page.goto(f"{console_url}/inbox")
    await shoot(page, shots / "console-inbox.png")
    status = (await admin.get_json(f"/v1/alerts/{customer.alert['id']}"))["status"]
    assert status == "resolved"


async def test_a_new_alert_appears_live_on_the_desk(
    watched: Watched, console_url: str, people: People, admin: RiskWatchClient, rules: None,
    shots: Path,
) -> None:  # fmt: skip
    page = await watched.page()
    await sign_in(page, console_url, people.analyst)
    await page.wait_for_selector("#desk-rows[data-live=open]")  # the relay is connected
    customer = await alerted_customer(admin, "rm-ana")
    row = page.locator(f"#alert-{customer.alert['id']}")
    await row.wait_for(timeout=LIVE_TIMEOUT_MS)  # pushed, not reloaded
    assert urlsplit(page.url).path == "/desk"
    assert "new since the page loaded" in await page.locator("#desk-new").inner_text()
    assert await page.locator("#desk-new").is_visible()
    await page.keyboard.press("j")  # keyboard: the first row takes the focus
    focused = await page.evaluate("document.activeElement.getAttribute('data-alert-id')")
    assert focused is not None
    await shoot(page, shots / "console-desk-live.png")


async def test_the_zh_cn_and_en_switch(
    chromium: Browser, console_url: str, people: People, ana_customer: AlertedCustomer,
    admin: RiskWatchClient, shots: Path,
) -> None:  # fmt: skip
    context = await chromium.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{console_url}/sign-in")
        assert await page.locator("html").get_attribute("lang") == "zh-CN"
        assert "登录 RiskWatch" in await page.locator("h1").inner_text()
        await sign_in(page, console_url, people.analyst)
        assert "预警工作台" in await page.locator("h1").inner_text()
        await page.goto(f"{console_url}/alerts/{ana_customer.alert['id']}")
        assert "时间线" in await page.content()
        await shoot(page, shots / "console-case-zh.png")
        await enrich_customer(admin, ana_customer.customer_id)
        await page.goto(f"{console_url}/customers/{ana_customer.customer_id}")
        await page.wait_for_selector("div.chart[data-drawn] canvas")
        assert "在观察名单上" in await page.content()
        await shoot(page, shots / "console-customer-zh.png")
        await page.goto(f"{console_url}/desk")
        await shoot(page, shots / "console-desk-zh.png", full_page=False)
        await page.get_by_label("语言").select_option("en")
        await page.locator("form.language button").click()
        await page.wait_for_function("document.documentElement.lang === 'en'")
        assert "Alert desk" in await page.locator("h1").inner_text()
        await page.reload()  # the choice is kept for this person
        assert "Alert desk" in await page.locator("h1").inner_text()
    finally:
        await context.close()


async def test_a_relationship_manager_cannot_open_another_rms_customer(
    watched: Watched, console_url: str, people: People, ana_customer: AlertedCustomer,
    shots: Path,
) -> None:  # fmt: skip
    page = await watched.page()
    await sign_in(page, console_url, people.rm_bob)
    response = await page.goto(f"{console_url}/customers/{ana_customer.customer_id}")
    assert response is not None
    assert response.status == 404
    assert "There is no such customer, or you may not see it." in await page.content()
    await shoot(page, shots / "console-rm-refused.png", full_page=False)
    response = await page.goto(f"{console_url}/alerts/{ana_customer.alert['id']}")
    assert response is not None
    assert response.status == 404


# An axe-like check: every control of every form has a label (label[for], a wrapping label,
# aria-label or aria-labelledby), every button and link has a name, no id is used twice.
UNLABELLED = """() => {
  const named = (el) => {
    if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return true;
    if (el.closest("label")) return true;
    return !!(el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]'));
  };
  const controls = document.querySelectorAll(
    "input:not([type=hidden]), select, textarea");
  const bad = Array.from(controls).filter((el) => !named(el)).map((el) => el.outerHTML);
  const silent = Array.from(document.querySelectorAll("button, a[href]")).filter(
    (el) => !(el.textContent.trim() || el.getAttribute("aria-label"))).map((el) => el.outerHTML);
  const ids = Array.from(document.querySelectorAll("[id]")).map((el) => el.id);
  const twice = ids.filter((id, index) => ids.indexOf(id) !== index);
  return bad.concat(silent, twice.map((id) => "id used twice: " + id));
}"""
# The form controls a keyboard must reach (visible, enabled, not taken out of the tab order).
KEY = 'el.id || [el.name, el.form && el.form.action, el.textContent.trim()].join(":")'
CONTROLS = f"""() => Array.from(document.querySelectorAll(
  "form input:not([type=hidden]), form select, form textarea, form button"))
  .filter((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length)
  .map((el) => {KEY})"""
FOCUSED = f"() => {{ const el = document.activeElement; return el ? ({KEY}) : null; }}"


async def _reached_by_tab(page: Page) -> tuple[set[str], set[str]]:
    """The form controls of the page, and those Tab reached from the top of the page."""
    controls = set(await page.evaluate(CONTROLS))
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    reached: set[str] = set()
    for _ in range(len(controls) * 2 + 40):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused:
            reached.add(focused)
        if controls <= reached:
            break
    return controls, reached


async def test_every_form_is_labelled_and_reached_by_keyboard(
    watched: Watched, console_url: str, people: People, ana_customer: AlertedCustomer
) -> None:
    page = await watched.page()
    await page.goto(f"{console_url}/sign-in")
    pages = {"/sign-in": await page.evaluate(UNLABELLED)}
    controls, reached = await _reached_by_tab(page)
    assert len(controls) >= 3
    assert controls <= reached
    await sign_in(page, console_url, people.analyst)
    for path in ("/", "/desk", f"/alerts/{ana_customer.alert['id']}",
                 f"/customers/{ana_customer.customer_id}", "/inbox"):  # fmt: skip
        await page.goto(f"{console_url}{path}")
        pages[path] = await page.evaluate(UNLABELLED)
        controls, reached = await _reached_by_tab(page)
        assert controls, path
        assert controls - reached == set(), path
    assert {path: found for path, found in pages.items() if found} == {}
    # The 360's transaction filters work from the keyboard alone: focus, choose, Enter.
    await page.goto(f"{console_url}/customers/{ana_customer.customer_id}")
    await page.focus("#tx-direction")
    await page.keyboard.press("ArrowDown")  # "Any" -> the first direction
    await page.focus("#tx-min")
    await page.keyboard.type("0")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"direction=inbound"))
