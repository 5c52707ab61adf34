"""The dashboards over HTTP against the whole running system (issue 24, screen 3): each board's
tables hold the known history's numbers, the CSV export holds the same, an RM's figures are
their own customers', a role the API refuses gets a 403 page, a bad date a 400, zh-CN."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

from .conftest import ConsoleBrowser, People
from .dash_seed import History, seed_history

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
TAG = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
async def history(system: RunningSystem, admin: RiskWatchClient) -> History:
    return await seed_history(system, admin)


def table_of(page: str, figure: str) -> list[list[str]]:
    """The rows (header first) of one figure's "Numbers" table, as the reader sees the cells."""
    start = page.index(f'data-figure="{figure}"')
    body = page[start : page.index("</table>", start)]
    return [
        [html.unescape(TAG.sub("", cell)).strip() for cell in CELL.findall(row)]
        for row in ROW.findall(body)
    ]


def period(history: History) -> dict[str, str]:
    return {"since": history.since.isoformat(), "until": history.until.isoformat()}


async def test_the_alert_dashboards_show_the_known_numbers_and_export_them(
    browser: ConsoleBrowser, people: People, history: History
) -> None:
    await browser.sign_in(people.analyst)
    start = await browser.get("/dashboards")
    assert start.status_code == 303
    assert start.headers["location"] == "/dashboards/alerts"
    page = await browser.get("/dashboards/alerts", **period(history))
    assert page.status_code == 200, page.text[:500]
    assert 'href="/dashboards"' in page.text  # the nav link
    by_type = table_of(page.text, "volume-by-type")
    assert by_type[0] == ["Day (UTC)", "Transaction anomaly", "Credit risk", "Total"]
    days = [d.isoformat() for d in (history.since, history.until)]
    assert [row[0] for row in by_type[1:]] == [days[0], by_type[2][0], days[1]]
    assert [[int(c) for c in row[1:]] for row in by_type[1:]] == [
        [a, c, a + c] for a, c in zip(history.anomalies, history.credit, strict=True)
    ]
    severity = table_of(page.text, "volume-by-severity")
    assert severity[0] == ["Day (UTC)", "Low", "Medium", "High", "Critical", "Total"]
    assert severity[1][1:] == ["1", "0", "2", "0", "3"]
    response = table_of(page.text, "acknowledge-and-sla")
    assert [row[-1] for row in response[1:]] == [str(n) for n in history.sla_breaches]
    assert response[1][3] == "15"  # every alert acknowledged after 15 minutes
    rates = {row[0]: row[1:] for row in table_of(page.text, "false-positives")[1:]}
    assert rates["Dashboard history rule"] == ["4", "2", "50%"]
    assert 'data-chart="chart-volume-by-type"' in page.text

    exported = await browser.get("/dashboards/alerts/volume-by-type.csv", **period(history))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert rows == [by_type[0], *[[r[0], *r[1:]] for r in by_type[1:]]]
    missing = await browser.get("/dashboards/alerts/no-such-chart.csv")
    assert missing.status_code == 404


async def test_a_relationship_manager_sees_their_own_and_a_bad_date_is_said(
    browser: ConsoleBrowser, people: People, history: History
) -> None:
    await browser.sign_in(people.rm_ana)
    page = await browser.get("/dashboards/alerts", **period(history))
    assert page.status_code == 200
    by_type = table_of(page.text, "volume-by-type")
    assert sum(int(row[-1]) for row in by_type[1:]) == history.rm_alerts
    bad = await browser.get("/dashboards/alerts", since="2026-02-31")
    assert bad.status_code == 400
    assert "This date is not valid" in bad.text
    reversed_period = await browser.get(
        "/dashboards/alerts", since=history.until.isoformat(), until=history.since.isoformat()
    )
    assert reversed_period.status_code == 422
    assert "since must be on or before until" in reversed_period.text
    unknown = await browser.get("/dashboards/nothing-here")
    assert unknown.status_code == 404


async def test_the_watch_list_board_in_chinese_and_signed_out_visitors(
    console_url: str, people: People, history: History
) -> None:
    chinese = ConsoleBrowser(console_url, accept_language="zh-CN")
    try:
        signed_out = await chinese.get("/dashboards/watchlist")
        assert signed_out.status_code == 303
        assert "/sign-in" in signed_out.headers["location"]
        exported = await chinese.get("/dashboards/alerts/volume-by-type.csv")
        assert exported.status_code == 303
        await chinese.sign_in(people.admin)
        page = await chinese.get("/dashboards/watchlist")
        assert page.status_code == 200
        assert "关注名单规模与变动" in page.text
        table = table_of(page.text, "watchlist")
        assert table[0][0].startswith("日期")
        assert len(table) == 31  # the last 30 days, every one
    finally:
        await chinese.aclose()


async def test_customers_by_risk_and_model_drift_match_the_api(
    browser: ConsoleBrowser, people: People, admin: RiskWatchClient, ana_customer: object
) -> None:
    await browser.sign_in(people.analyst)
    distribution = await admin.get_json("/v1/customers/risk-distribution", kind="credit")
    page = await browser.get("/dashboards/customers", kind="credit")
    assert page.status_code == 200, page.text[:500]
    levels = table_of(page.text, "levels")
    kinds = levels[0][1:]
    assert "Credit" in kinds
    credit_column = 1 + kinds.index("Credit")
    shown = sum(int(row[credit_column].replace(",", "")) for row in levels[1:])
    assert shown == sum(c["customers"] for c in distribution["levels"] if c["kind"] == "credit")
    assert shown >= 1  # the alerted customer, at least, has a credit level
    segments = table_of(page.text, "segments")
    assert sum(int(row[-1].replace(",", "")) for row in segments[1:]) == shown
    assert 'data-figure="risers"' in page.text

    models = (await admin.get_json("/v1/models"))["items"]
    serving = [m for m in models if m["status"] in ("champion", "challenger")]
    drift_page = await browser.get("/dashboards/models")
    assert drift_page.status_code == 200
    drift = table_of(drift_page.text, "drift")
    assert len(drift) == 1 + len(serving)
    first = await admin.get_json(f"/v1/models/{serving[0]['id']}/drift")
    assert drift[1][3] == str(first["recent_scores"])


async def test_a_relationship_manager_has_no_model_drift_board(
    browser: ConsoleBrowser, people: People
) -> None:
    await browser.sign_in(people.rm_bob)
    page = await browser.get("/dashboards/customers")
    assert page.status_code == 200
    assert 'href="/dashboards/models' not in page.text
    refused = await browser.get("/dashboards/models")
    assert refused.status_code == 403
    assert "Your role may not see this dashboard." in refused.text
    assert (await browser.get("/dashboards/models/drift.csv")).status_code == 403
