"""Who hears of a watch-list event, and in which words (pure)."""

from __future__ import annotations

from riskwatch_notify.domain.models import Channel
from riskwatch_notify.domain.routing import Subscription, Team
from riskwatch_notify.domain.watchlist import WatchlistMessage, recipients_for, render

from .factories import make_alert, make_recipient

ANA = make_recipient(recipient_id="r-ana", email="ana@bank.test", phone="+4915100000")
LI = make_recipient(recipient_id="r-li", email="li@bank.test", locale="zh-CN")
BOB = make_recipient(recipient_id="r-bob", email="bob@bank.test")
TEAMS = {"t-risk": Team("t-risk", "Risk", frozenset({"r-ana", "r-li"}))}


def test_only_subscriptions_naming_the_event_on_email_and_in_app() -> None:
    team = Subscription(
        channels=frozenset({Channel.EMAIL, Channel.SMS, Channel.IN_APP}),
        team_id="t-risk",
        watchlist_events=frozenset({"entered", "exited"}),
        alerts=False,
    )
    alerts_only = Subscription(channels=frozenset({Channel.EMAIL}), recipient_id="r-bob")
    pairs = recipients_for("entered", [team, alerts_only], [ANA, LI, BOB], TEAMS)
    assert [(r.recipient_id, c) for r, c in pairs] == [
        ("r-ana", Channel.EMAIL),
        ("r-ana", Channel.IN_APP),
        ("r-li", Channel.EMAIL),
        ("r-li", Channel.IN_APP),
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
