"""Every page and form of the console, over HTTP against the whole running system: sign-in,
the session cookie, CSRF, the language, the desk with its filters, the case and its actions,
and what a role may not see."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from riskwatch_shared.testing import wait_until
from riskwatch_simulator.client import GatewayError, RiskWatchClient

from .conftest import (
    AlertedCustomer,
    ConsoleBrowser,
    People,
    alerted_customer,
    create_person,
    enrich_customer,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


async def test_sign_in_sets_a_protected_session_cookie(
    browser: ConsoleBrowser, people: People
) -> None:
    page = await browser.get("/desk")
    assert page.status_code == 303
    assert urlsplit(page.headers["location"]).path == "/sign-in"
    cookie = page.headers["set-cookie"]  # a session for the CSRF token of the sign-in form
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    form = await browser.get("/sign-in", next="/desk")
    assert form.status_code == 200
    assert "default-src 'none'" in form.headers["content-security-policy"]
    assert "script-src 'self'" in form.headers["content-security-policy"]
    assert form.headers["x-frame-options"] == "DENY"
    assert form.headers["cache-control"] == "no-store"
    assert 'for="email"' in form.text
    assert 'for="password"' in form.text
    signed = await browser.sign_in(people.analyst)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/desk"
    assert people.analyst.password not in signed.headers["set-cookie"]
    desk = await browser.get("/desk")
    assert desk.status_code == 200
    assert "Alert desk" in desk.text
    assert "Sign out" in desk.text


async def test_a_wrong_password_is_said_and_a_forged_cookie_is_nobody(
    browser: ConsoleBrowser, people: People
) -> None:
    await browser.get("/sign-in")
    refused = await browser.post(
        "/sign-in", {"email": people.analyst.email, "password": "not-the-password-123"}
    )
    assert refused.status_code == 401
    assert "Wrong email or password" in refused.text
    assert 'role="alert"' in refused.text
    browser.http.cookies.set("rw_console", "forged-" + "A" * 120)
    page = await browser.get("/desk")
    assert page.status_code == 303
    assert "/sign-in" in page.headers["location"]


async def test_every_unsafe_request_needs_the_csrf_token(
    browser: ConsoleBrowser, people: People, ana_customer: AlertedCustomer,
    admin: RiskWatchClient,
) -> None:  # fmt: skip
    await browser.get("/sign-in")
    refused = await browser.post(
        "/sign-in", {"email": people.analyst.email, "password": people.analyst.password},
        csrf=False,
    )  # fmt: skip
    assert refused.status_code == 403
    assert (await browser.get("/desk")).status_code == 303  # still signed out
    await browser.sign_in(people.analyst)
    alert_id = ana_customer.alert["id"]
    await browser.get(f"/alerts/{alert_id}")
    comment = "csrf-less comment that must not be stored"
    forged = await browser.post(f"/alerts/{alert_id}/comments", {"comment": comment}, csrf=False)
    assert forged.status_code == 403
    other_site = await browser.post(
        f"/alerts/{alert_id}/comments", {"comment": comment}, origin="https://evil.example"
    )
    assert other_site.status_code == 403
    timeline = await admin.get_json(f"/v1/alerts/{alert_id}/timeline")
    assert comment not in str(timeline)


async def test_sign_in_returns_to_the_page_asked_for_never_to_another_site(
    browser: ConsoleBrowser, people: People
) -> None:
    asked = await browser.get("/desk", severity="high")
    assert parse_qs(urlsplit(asked.headers["location"]).query)["next"] == ["/desk?severity=high"]
    signed = await browser.sign_in(people.analyst, next_path="//evil.example/steal")
    assert signed.headers["location"] == "/"


async def test_the_language_follows_the_browser_and_the_switch(
    console_url: str, people: People
) -> None:
    browser = ConsoleBrowser(console_url, accept_language="zh-CN,zh;q=0.9,en;q=0.5")
    try:
        page = await browser.get("/sign-in")
        assert '<html lang="zh-CN">' in page.text
        assert "登录 RiskWatch" in page.text
        await browser.sign_in(people.analyst)
        desk = await browser.get("/desk")
        assert "预警工作台" in desk.text
        assert "年" in desk.text
        switched = await browser.post("/language", {"locale": "en", "back": "/desk?queue=all"})
        assert switched.status_code == 303
        assert switched.headers["location"] == "/desk?queue=all"
        english = await browser.get("/desk")
        assert '<html lang="en">' in english.text
        assert "Alert desk" in english.text
        assert "预警工作台" not in english.text
        ignored = await browser.post("/language", {"locale": "xx", "back": "https://evil.example"})
        assert ignored.headers["location"] == "/"
        assert "Alert desk" in (await browser.get("/desk")).text
    finally:
        await browser.aclose()


async def test_the_desk_filters_totals_and_sla_badges(
    browser: ConsoleBrowser, people: People, ana_customer: AlertedCustomer
) -> None:
    await browser.sign_in(people.analyst)
    alert = ana_customer.alert
    desk = await browser.get("/desk", customer_id=ana_customer.customer_id)
    assert desk.status_code == 200
    assert f'href="/alerts/{alert["id"]}"' in desk.text
    assert re.search(r'id="desk-total">\s*\d+ alerts', desk.text)
    assert re.search(r'class="badge sla-(ok|amber|red)"', desk.text)
    other = await browser.get(
        "/desk", customer_id=ana_customer.customer_id, severity="low", type="churn"
    )
    assert f'href="/alerts/{alert["id"]}"' not in other.text
    assert "No alerts match these filters." in other.text
    team_queue = await browser.get("/desk", queue="team")
    assert 'id="team-hint"' in team_queue.text  # which team: asked for, not guessed
    assert 'id="team-hint"' not in (await browser.get("/desk", queue="team", team="x")).text
    hostile = await browser.get("/desk", severity="<script>alert(1)</script>")
    assert hostile.status_code == 400
    assert "<script>alert(1)</script>" not in hostile.text
    partial = await browser.http.get(
        "/desk", params={"customer_id": ana_customer.customer_id}, headers={"hx-request": "true"}
    )
    assert partial.text.lstrip().startswith('<section id="desk-table"')


async def test_the_case_page_and_its_actions_with_the_apis_errors_inline(
    browser: ConsoleBrowser, people: People, admin: RiskWatchClient
) -> None:
    customer = await alerted_customer(admin, "rm-ana")
    alert_id = customer.alert["id"]
    await browser.sign_in(people.analyst)
    case = await browser.get(f"/alerts/{alert_id}")
    assert case.status_code == 200
    assert customer.alert["summary"] in case.text.replace("&#39;", "'")
    for section in ("Evidence", "Reasons and advice", "Timeline", 'id="acknowledge"'):
        assert section in case.text
    acknowledged = await browser.post(f"/alerts/{alert_id}/acknowledge", {"comment": "on it"})
    assert acknowledged.status_code == 303
    assert (await admin.get_json(f"/v1/alerts/{alert_id}"))["status"] == "acknowledged"
    contact = await browser.post(
        f"/alerts/{alert_id}/contact", {"channel": "call", "note": "Customer reached by phone"}
    )
    assert contact.status_code == 303
    bad_limit = await browser.post(
        f"/alerts/{alert_id}/measures", {"kind": "reduce_limit", "new_limit": "-5",
                                         "currency": "GBP"},
    )  # fmt: skip
    assert bad_limit.status_code == 422
    assert 'id="measures-problem"' in bad_limit.text
    assert "new_limit" in bad_limit.text
    assert 'value="-5"' in bad_limit.text  # the form keeps what was typed
    bad_outcome = await browser.post(f"/alerts/{alert_id}/resolve", {"outcome": "made_up"})
    assert bad_outcome.status_code == 422
    assert 'id="resolve-problem"' in bad_outcome.text
    resolved = await browser.post(
        f"/alerts/{alert_id}/resolve",
        {"outcome": "mitigated_customer_contacted", "comment": "plan agreed"},
    )
    assert resolved.status_code == 303
    after = await browser.get(f"/alerts/{alert_id}")
    assert "Resolved" in after.text
    assert 'id="reopen"' in after.text
    assert "Customer reached by phone" in after.text  # the timeline shows the contact
    assert (await admin.get_json(f"/v1/alerts/{alert_id}"))["status"] == "resolved"
    missing = await browser.get("/alerts/not-an-id")
    assert missing.status_code == 404


async def test_a_relationship_manager_sees_only_their_customers(
    console_url: str, people: People, ana_customer: AlertedCustomer
) -> None:
    alert_id = ana_customer.alert["id"]
    ana, bob = ConsoleBrowser(console_url), ConsoleBrowser(console_url)
    try:
        await ana.sign_in(people.rm_ana)
        await bob.sign_in(people.rm_bob)
        assert (await ana.get(f"/alerts/{alert_id}")).status_code == 200
        refused = await bob.get(f"/alerts/{alert_id}")
        assert refused.status_code == 404
        assert ana_customer.alert["title"] not in refused.text
        desk = await bob.get("/desk", customer_id=ana_customer.customer_id)
        assert f"/alerts/{alert_id}" not in desk.text
        # Not offered what the role may not do, and refused by the API when forced.
        own_case = await ana.get(f"/alerts/{alert_id}")
        assert 'id="resolve"' not in own_case.text
        forced = await bob.post(f"/alerts/{alert_id}/comments", {"comment": "not mine"})
        assert forced.status_code in (403, 404)
    finally:
        await ana.aclose()
        await bob.aclose()


async def test_a_disabled_person_is_signed_out(
    browser: ConsoleBrowser, admin: RiskWatchClient, people: People
) -> None:
    person = await create_person(admin, "analyst")
    await browser.sign_in(person)
    assert (await browser.get("/desk")).status_code == 200
    await admin.request("PATCH", f"/v1/users/{person.subject}", json={"active": False})
    gone = await browser.get("/desk")
    assert gone.status_code == 303
    assert "/sign-in" in gone.headers["location"]
    again = await browser.sign_in(person)
    assert again.status_code == 401


async def test_the_assets_come_from_the_console_itself(
    browser: ConsoleBrowser, people: People
) -> None:
    await browser.sign_in(people.analyst)
    desk = await browser.get("/desk")
    scripts = re.findall(r'<script src="([^"]+)"', desk.text)
    assert scripts == ["/static/vendor/htmx.min.js", "/static/vendor/sse.min.js",
                       "/static/console.js"]  # fmt: skip
    for path in scripts:
        served = await browser.http.get(path)
        assert served.status_code == 200
        assert "javascript" in served.headers["content-type"]
    assert 'hx-get="/desk"' in desk.text
    assert browser.csrf is not None
    assert f'"X-CSRF-Token": "{browser.csrf}"' in desk.text.replace("&#34;", '"')


async def test_the_next_alert_is_one_request_away(
    browser: ConsoleBrowser, people: People, ana_customer: AlertedCustomer
) -> None:
    await browser.sign_in(people.analyst)
    first = await browser.get("/next")
    assert first.status_code == 303
    assert re.fullmatch(r"/alerts/[0-9a-f-]{36}", first.headers["location"])
    after = first.headers["location"].rsplit("/", 1)[1]
    following = await browser.get("/next", after=after)
    assert following.status_code == 303
    assert following.headers["location"] != f"/alerts/{after}"
    case = await browser.get(f"/alerts/{after}")
    assert f'href="/next?after={after}"' in case.text


def _rows(html: str) -> str:
    return html[html.index('id="transaction-rows"') :]


async def test_the_customer_360_and_another_rms_customer(
    console_url: str, people: People, admin: RiskWatchClient, ana_customer: AlertedCustomer
) -> None:
    path = f"/customers/{ana_customer.customer_id}"
    entry = await enrich_customer(admin, ana_customer.customer_id)
    analyst, bob = ConsoleBrowser(console_url), ConsoleBrowser(console_url)
    viewer = ConsoleBrowser(console_url, accept_language="zh-CN")
    try:
        await analyst.sign_in(people.analyst)
        page = await analyst.get(path)
        assert page.status_code == 200
        for section in ("Profile", "Risk history", "Credit history", "Accounts", "Interactions",
                        "Transactions", "Measures in force", "Financial profile", "Watch list",
                        "Open cases and measures"):  # fmt: skip
            assert section in page.text
        for chart in ("credit-series", "financial-series", "risk-series"):
            assert f'id="{chart}"' in page.text  # the chart's data
        assert f'href="/alerts/{ana_customer.alert["id"]}"' in page.text
        assert "/static/vendor/uPlot.iife.min.js" in page.text
        # The watch list's status, the financial history, the open case, reasons counted.
        assert "On the watch list" in page.text
        assert html.escape(entry["reason"]) in page.text
        assert "£48,000.00" in page.text
        assert "No open case." not in page.text
        assert "1 payment 90+ days late" in page.text
        assert "1 payments" not in page.text
        # The transactions and their filters.
        assert "Payee inbound" in _rows(page.text)
        assert "Payee outbound" in _rows(page.text)
        inbound = await analyst.get(path, direction="inbound")
        assert "Payee inbound" in _rows(inbound.text)
        assert "Payee outbound" not in _rows(inbound.text)
        ranged = await analyst.get(path, min_amount="50", max_amount="100", channel="card")
        assert "Payee outbound" in _rows(ranged.text)
        assert "Payee inbound" not in _rows(ranged.text)
        dated = await analyst.get(path, occurred_from="2026-02-03")
        assert "No transaction matches these filters." in dated.text
        refused = await analyst.get(path, channel="pigeon")
        assert refused.status_code == 400
        assert "This filter is not valid: Channel" in refused.text
        assert "Payee inbound" in _rows(refused.text)  # unfiltered, with the refusal said

        # A viewer reads the same 360 masked, here in Chinese.
        viewer_person = await create_person(admin, "viewer")
        await viewer.sign_in(viewer_person)
        masked = await viewer.get(path)
        assert masked.status_code == 200
        assert "在观察名单上" in masked.text
        assert "1次逾期90天以上" in masked.text
        assert "按您的角色，个人信息已脱敏" in masked.text  # noqa: RUF001
        record = await admin.get_json(f"/v1/customers/{ana_customer.customer_id}")
        assert record["email"] in page.text  # the analyst reads it whole
        assert record["email"] not in masked.text
        assert record["document_number"] not in masked.text

        await bob.sign_in(people.rm_bob)
        refused = await bob.get(path)
        assert refused.status_code == 404
        assert "Console Customer" not in refused.text
    finally:
        await analyst.aclose()
        await bob.aclose()
        await viewer.aclose()


async def test_the_inbox_and_its_live_unread_badge(
    browser: ConsoleBrowser, people: People, admin: RiskWatchClient, analyst_inbox: str,
    rules: None,
) -> None:  # fmt: skip
    await browser.sign_in(people.analyst)
    desk = await browser.get("/desk")
    assert 'sse-connect="/live/inbox"' in desk.text  # on every page
    events: list[str] = []
    async with browser.http.stream("GET", "/live/inbox", timeout=120) as live:
        assert live.headers["content-type"].startswith("text/event-stream")
        lines = live.aiter_lines()
        while "event: unread" not in events:
            events.append(await anext(lines))
        before = await anext(lines)  # the count now
        customer = await alerted_customer(admin, "rm-ana")
        after = before
        while after == before or not after.startswith("data:"):
            after = await asyncio.wait_for(anext(lines), timeout=90)
    count = int(after.removeprefix("data: ") or 0)
    assert count >= 1
    page = await browser.get("/inbox", unread="1")
    assert f'href="/alerts/{customer.alert["id"]}"' in page.text
    marked = await browser.post("/inbox/all/read", {})
    assert marked.status_code == 303
    assert "Mark all read" not in (await browser.get("/inbox")).text


async def test_the_start_page_bulk_assign_and_my_queue(
    browser: ConsoleBrowser, people: People, admin: RiskWatchClient, rules: None
) -> None:
    customer = await alerted_customer(admin, "rm-ana")
    alert_id = customer.alert["id"]
    await browser.sign_in(people.analyst)
    start = await browser.get("/")
    assert start.status_code == 200
    assert "My open alerts" in start.text
    assert re.search(r'id="new-today">\s*[1-9]', start.text)
    desk = await browser.get("/desk", customer_id=customer.customer_id)
    assert f'value="{alert_id}" form="bulk-assign"' in desk.text
    assigned = await browser.post(
        "/desk/assign", {"alert_ids": alert_id, "to_me": "1",
                         "back": f"/desk?customer_id={customer.customer_id}"},
    )  # fmt: skip
    assert assigned.status_code == 303
    assert assigned.headers["location"].endswith("&assigned=1")
    mine = await browser.get("/desk", queue="mine", customer_id=customer.customer_id)
    assert f'href="/alerts/{alert_id}"' in mine.text
    assert "1 alerts assigned" not in mine.text  # only after the form
    unassigned = await browser.get("/desk", queue="unassigned", customer_id=customer.customer_id)
    assert f'href="/alerts/{alert_id}"' not in unassigned.text
    refused = await browser.post("/desk/assign", {"alert_ids": "not-an-id", "to_me": "1"})
    assert refused.status_code == 422


async def _watched_customer(admin: RiskWatchClient, owner: str, review_due: date) -> str:
    """A new customer on the watch list, owned by `owner`, reviewed on `review_due`."""
    customer = await admin.post_json(
        "/v1/customers",
        {"kind": "individual", "name": f"Watched Customer {uuid.uuid4().hex[:6]}",
         "document_type": "passport", "document_number": uuid.uuid4().hex[:12].upper(),
         "email": f"{uuid.uuid4().hex[:8]}@customer.example", "country": "GB",
         "segment": "retail", "kyc_status": "verified", "relationship_manager": "rm-bob"},
    )  # fmt: skip
    body = {"customer_id": customer["id"], "reason": "Start page review", "owner": owner,
            "review_due": review_due.isoformat(), "exit_criteria": "Reviewed"}  # fmt: skip

    async def entered() -> dict[str, Any] | None:
        try:  # alerting learns of the customer from its event: retry until it has
            entry: dict[str, Any] = await admin.post_json("/v1/watchlist", body)
        except GatewayError as unknown:
            if unknown.status != 404:
                raise
            return None
        return entry

    entry = await wait_until(entered, timeout=60, interval=0.25, message="watch-list entry")
    assert entry["owner"] == owner
    return str(customer["id"])


async def test_the_start_page_lists_my_watch_list_reviews_due(
    console_url: str, people: People, admin: RiskWatchClient
) -> None:
    today = datetime.now(UTC).date()
    mine = await _watched_customer(admin, people.analyst.subject, today)
    later = await _watched_customer(admin, people.analyst.subject, today + timedelta(days=30))
    theirs = await _watched_customer(admin, people.rm_bob.subject, today)
    analyst = ConsoleBrowser(console_url)
    chinese = ConsoleBrowser(console_url, accept_language="zh-CN")
    try:
        await analyst.sign_in(people.analyst)
        start = await analyst.get("/")
        assert start.status_code == 200
        assert "My watch-list reviews due" in start.text
        card = start.text.split('id="reviews-h"', 1)[1].split("</section>", 1)[0]
        assert f'href="/customers/{mine}"' in card  # mine, due today: a link to the 360
        assert f'href="/customers/{later}"' not in card  # mine, but not due yet
        assert f'href="/customers/{theirs}"' not in card  # due, but someone else's
        row = card.split(f'href="/customers/{mine}"', 1)[1].split("</tr>", 1)[0]
        assert "Watched Customer" in row
        assert "overdue" not in row  # due today is not overdue yet
        assert re.search(r"\d", row.split("</a>", 1)[1])  # the review date

        await chinese.sign_in(people.analyst)
        zh = await chinese.get("/")
        assert "我到期的观察名单复核" in zh.text
        assert f'href="/customers/{mine}"' in zh.text
    finally:
        await analyst.aclose()
        await chinese.aclose()


async def test_new_alerts_arrive_live_on_the_desk(
    browser: ConsoleBrowser, people: People, admin: RiskWatchClient, rules: None
) -> None:
    await browser.sign_in(people.analyst)
    desk = await browser.get("/desk")
    live = re.search(r'sse-connect="(/live/desk[^"]*)"', desk.text)
    assert live is not None
    lines: list[str] = []
    async with browser.http.stream("GET", live.group(1).replace("&amp;", "&"), timeout=120) as up:
        assert up.headers["content-type"].startswith("text/event-stream")
        reader = up.aiter_lines()
        assert (await anext(reader)).startswith(":")
        customer = await alerted_customer(admin, "rm-ana")
        wanted = f'id="alert-{customer.alert["id"]}"'
        while not any(wanted in line for line in lines):
            lines.append(await asyncio.wait_for(anext(reader), timeout=90))
    assert "event: alert" in lines
