"""Who hears of a watch-list event, and in which words (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from riskwatch_notify.domain.models import Channel
from riskwatch_notify.domain.routing import Subscription, Team
from riskwatch_notify.domain.sms_text import sms_segments
from riskwatch_notify.domain.watchlist import (
    WatchlistMessage,
    recipients_for,
    render,
    render_sms,
    webhook_payload,
)

from .factories import make_alert, make_recipient

ANA = make_recipient(recipient_id="r-ana", email="ana@bank.test", phone="+4915100000")
LI = make_recipient(recipient_id="r-li", email="li@bank.test", locale="zh-CN")
BOB = make_recipient(recipient_id="r-bob", email="bob@bank.test")
TEAMS = {"t-risk": Team("t-risk", "Risk", frozenset({"r-ana", "r-li"}))}


def test_only_subscriptions_naming_the_event_on_each_channel_with_an_address() -> None:
    team = Subscription(
        channels=frozenset({Channel.EMAIL, Channel.SMS, Channel.IN_APP}),
        team_id="t-risk",
        watchlist_events=frozenset({"entered", "exited"}),
        alerts=False,
    )
    alerts_only = Subscription(channels=frozenset({Channel.EMAIL}), recipient_id="r-bob")
    pairs = recipients_for("entered", [team, alerts_only], [ANA, LI, BOB], TEAMS)
    # SMS too now (each has a phone); never twice for two subscriptions.
    assert [(r.recipient_id, c) for r, c in pairs] == [
        ("r-ana", Channel.EMAIL),
        ("r-ana", Channel.IN_APP),
        ("r-ana", Channel.SMS),
        ("r-li", Channel.EMAIL),
        ("r-li", Channel.IN_APP),
        ("r-li", Channel.SMS),
    ]
    assert recipients_for("reviewed", [team, alerts_only], [ANA, LI, BOB], TEAMS) == []
    # A subscription to the watch list only hears no alerts; one to alerts still does.
    assert not team.matches(make_alert())
    assert alerts_only.matches(make_alert())


def test_message_in_the_recipients_language() -> None:
    message = WatchlistMessage(
        event_id="e-1",
        kind="review_due",
        entry_id="w-1",
        customer_id="c-1",
        owner="rm-9",
        lines=(("review_due_label", "2026-12-15"), ("reason", "RED Early arrears"), ("note", "")),
    )
    subject, text = render(message, ANA, "https://rw.test/watchlist/w-1")
    assert subject == "Watch-list review due for customer c-1"
    assert text.splitlines()[2:5] == [
        "Owner: rm-9",
        "Review due: 2026-12-15",
        "Why: RED Early arrears",
    ]
    assert "Note" not in text  # empty lines are left out
    assert text.endswith("https://rw.test/watchlist/w-1")
    zh_subject, zh_text = render(message, LI, "https://rw.test/watchlist/w-1")
    assert zh_subject == "客户 c-1 的观察名单复核到期"
    assert "负责人: rm-9" in zh_text


ENTERED = WatchlistMessage(
    event_id="e-2",
    kind="entered",
    entry_id="w-2",
    customer_id="c-secret-2",
    owner="rm-9",
    lines=(("reason", "RED Early arrears: 31 days past due on 12,000.00 EUR"),),
    review_due="2026-12-15",
    data={"reason": "RED Early arrears", "review_due": "2026-12-15", "origin": "warning"},
)


def test_sms_says_what_and_when_but_nothing_about_the_customer() -> None:
    link = "https://rw.test/watchlist/w-2"
    text = render_sms(ENTERED, ANA, link)
    assert text == (
        "RiskWatch: a customer of yours entered the watch list (review by 2026-12-15). " + link
    )
    assert sms_segments(text) == 1
    zh = render_sms(ENTERED, LI, link)
    assert zh.startswith("【RiskWatch】您的一位客户已列入观察名单")
    assert sms_segments(zh) <= 2
    for sent in (text, zh):
        assert "c-secret-2" not in sent
        assert "12,000" not in sent
        assert "arrears" not in sent.lower()


def test_webhook_payload_is_a_versioned_envelope() -> None:
    notification_id = uuid.uuid4()
    created = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    body = webhook_payload(
        ENTERED,
        link="https://rw.test/watchlist/w-2",
        notification_id=notification_id,
        created_at=created,
    )
    assert body["id"] == str(notification_id)
    assert body["type"] == "riskwatch.watchlist.entered.v1"
    assert body["created_at"] == "2026-12-01T09:30:00+00:00"
    assert body["data"]["customer_id"] == "c-secret-2"
    assert body["data"]["origin"] == "warning"
    assert body["data"]["url"] == "https://rw.test/watchlist/w-2"
