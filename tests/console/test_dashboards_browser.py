"""The dashboards in a real browser (Debian's chromium, Playwright; issue 24's must-show): a
chart renders with the right numbers, read back from the drawn chart (its legend under the
cursor on a known day) and from its "Numbers" table one click away; the CSV link downloads the
same numbers; every board photographed (docs/console/ when RISKWATCH_SCREENSHOT_DIR says so).
No request leaves the machine, the CSP refuses nothing (the `watched` context)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest
from playwright.async_api import Page

from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

from .conftest import AlertedCustomer, People
from .dash_seed import History, seed_history
from .test_console_browser import Watched, chromium, shoot, shots, sign_in, watched

__all__ = ["chromium", "shots", "watched"]  # the fixtures, shared with the console's tests
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
async def history(system: RunningSystem, admin: RiskWatchClient) -> History:
    return await seed_history(system, admin)


async def legend_at(page: Page, chart: str, index: int) -> list[str]:
    """The chart's legend values with the cursor over its `index`-th x value."""
    box = page.locator(f'div.dash-chart[data-chart="{chart}"]')
    await box.locator("canvas").wait_for()
    await box.scroll_into_view_if_needed()
    where = await box.evaluate(
        """(el, i) => { const u = el.uplot; const r = u.over.getBoundingClientRect();
             return [r.left + u.valToPos(u.data[0][i], 'x'), r.top + r.height / 2]; }""",
        index,
    )
    await page.mouse.move(where[0], where[1])
    values = box.locator(".u-legend .u-series .u-value")
    return [text.strip() for text in await values.all_inner_texts()]


async def test_the_alert_volume_chart_shows_the_known_numbers(
    watched: Watched, console_url: str, people: People, history: History, shots: Path
) -> None:
    page = await watched.page()
    await sign_in(page, console_url, people.analyst)
    since, until = history.since.isoformat(), history.until.isoformat()
    await page.goto(f"{console_url}/dashboards/alerts?since={since}&until={until}")
    chart = "chart-volume-by-type"
    # The drawn chart: day 1 has 3 anomalies and no credit alert, day 3 the reverse (2).
    first_day = await legend_at(page, chart, 0)
    assert first_day[0] == since
    assert first_day[1:] == [str(history.anomalies[0]), str(history.credit[0]), "3"]
    third_day = await legend_at(page, chart, 2)
    assert third_day[0] == until
    assert third_day[1:] == [str(history.anomalies[2]), str(history.credit[2]), "2"]
    # The same numbers one click away, as a table.
    figure = page.locator("#figure-volume-by-type")
    table = figure.locator("table.numbers")
    assert not await table.is_visible()
    await figure.locator("details.numbers summary").click()
    assert await table.is_visible()
    rows = [
        await row.locator("th, td").all_inner_texts()
        for row in await table.locator("tbody tr").all()
    ]
    assert rows[0] == [since, "3", "0", "3"]
    assert rows[2] == [until, "0", "2", "2"]
    await shoot(page, shots / "dash-alerts.png")
    # The CSV link downloads those numbers.
    async with page.expect_download() as download_info:
        await figure.locator("a.csv").click()
    download = await download_info.value
    saved = await download.path()
    content = await asyncio.to_thread(Path(saved).read_text, encoding="utf-8-sig")
    exported = list(csv.reader(io.StringIO(content)))
    assert exported[1] == [since, "3", "0", "3"]
    assert exported[3] == [until, "0", "2", "2"]
    # The SLA chart: two breaches on day 1, drawn as a bar on the right axis.
    sla = await legend_at(page, "chart-acknowledge-and-sla", 0)
    assert sla[1:] == ["15 min", "15 min", str(history.sla_breaches[0])]


async def test_every_board_is_photographed_in_both_languages(
    watched: Watched, console_url: str, people: People, history: History,
    ana_customer: AlertedCustomer, shots: Path,
) -> None:  # fmt: skip
    page = await watched.page()
    await sign_in(page, console_url, people.admin)
    for board in ("watchlist", "customers", "models"):
        await page.goto(f"{console_url}/dashboards/{board}")
        assert await page.locator("h1").inner_text() == "Dashboards"
        for details in await page.locator("details.numbers").all():
            await details.locator("summary").click()
        await shoot(page, shots / f"dash-{board}.png")
    await page.goto(f"{console_url}/dashboards/alerts")
    await page.locator("select#locale-switch").select_option("zh_CN")
    await page.locator("form.language button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/dashboards/alerts"))
    assert await page.locator("h1").inner_text() == "仪表板"
    await page.locator("div.dash-chart canvas").first.wait_for()
    await shoot(page, shots / "dash-alerts-zh.png")
