"""The watch list's events as messages (pure: no I/O): who gets them (the subscriptions that
name the event) and what they say, in the recipient's language, on every channel: email and
in-app in full, SMS short (what happened, the review date and the link: nothing about the
customer or why, which SMS may not carry), webhooks as a versioned, signed JSON envelope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from riskwatch_notify.domain.models import Channel, Recipient
from riskwatch_notify.domain.routing import Subscription, Team, team_members
from riskwatch_notify.domain.sms_text import fit_sms

# The channels a watch-list message goes out on: all a subscription may name.
WATCHLIST_CHANNELS = frozenset({Channel.EMAIL, Channel.IN_APP, Channel.SMS, Channel.WEBHOOK})
# The webhook body's `type` per event kind (a change of `data` gets a new version).
WEBHOOK_TYPES: Mapping[str, str] = {
    kind: f"riskwatch.watchlist.{kind}.v1"
    for kind in ("entered", "reviewed", "exited", "review_due")
}

_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "entered": "Customer {customer} entered the watch list",
        "reviewed": "Watch-list review of customer {customer}",
        "exited": "Customer {customer} left the watch list",
        "review_due": "Watch-list review due for customer {customer}",
        "owner": "Owner",
        "review_due_label": "Review due",
        "reason": "Why",
        "actions": "Required actions",
        "exit": "Exit criteria",
        "note": "Note",
        "by": "By",
        "sms.entered": "RiskWatch: a customer of yours entered the watch list",
        "sms.reviewed": "RiskWatch: a watch-list entry was reviewed",
        "sms.exited": "RiskWatch: a customer left the watch list",
        "sms.review_due": "RiskWatch: a watch-list review is due",
        "sms.review_due_label": "review by",
    },
    "zh-CN": {
        "entered": "客户 {customer} 已列入观察名单",
        "reviewed": "客户 {customer} 的观察名单复核",
        "exited": "客户 {customer} 已移出观察名单",
        "review_due": "客户 {customer} 的观察名单复核到期",
        "owner": "负责人",
        "review_due_label": "复核日期",
        "reason": "原因",
        "actions": "必要措施",
        "exit": "退出条件",
        "note": "说明",
        "by": "操作人",
        "sms.entered": "【RiskWatch】您的一位客户已列入观察名单",
        "sms.reviewed": "【RiskWatch】一条观察名单记录已复核",
        "sms.exited": "【RiskWatch】一位客户已移出观察名单",
        "sms.review_due": "【RiskWatch】观察名单复核到期",
        "sms.review_due_label": "复核日期",
    },
}


@dataclass(frozen=True, slots=True)
class WatchlistMessage:
    """One watch-list event as the planner needs it (from any of the four event types)."""

    event_id: str
    kind: str  # entered | reviewed | exited | review_due
    entry_id: str
    customer_id: str
    owner: str
    lines: tuple[tuple[str, str], ...]  # (label key, text)
    review_due: str | None = None  # ISO date, when the event sets one
    # The event's own fields for the webhook's `data` (JSON types).
    data: Mapping[str, Any] = field(default_factory=dict)


def recipients_for(
    kind: str,
    subscriptions: Iterable[Subscription | tuple[Subscription, bool]],
    recipients: Iterable[Recipient],
    teams: Mapping[str, Team],
    relationship_manager: Recipient | None = None,
) -> list[tuple[Recipient, Channel]]:
    """Every (recipient, channel) a watch-list event of `kind` reaches, each once, in order.

    A subscription given as (subscription, include_relationship_manager) with the flag set
    also reaches the customer's relationship manager (`relationship_manager`, matched on
    staff id by the caller), on the subscription's channels, as for alerts."""
    by_id = {r.recipient_id: r for r in recipients}
    pairs: set[tuple[str, Channel]] = set()
    for item in subscriptions:
        subscription, with_rm = item if isinstance(item, tuple) else (item, False)
        if kind not in subscription.watchlist_events:
            continue
        if subscription.recipient_id is not None:
            targets = (
                [by_id[subscription.recipient_id]] if subscription.recipient_id in by_id else []
            )
        else:
            assert subscription.team_id is not None
            targets = team_members(subscription.team_id, by_id.values(), teams)
        if with_rm and relationship_manager is not None:
            by_id.setdefault(relationship_manager.recipient_id, relationship_manager)
            targets = [*targets, relationship_manager]
        for recipient in targets:
            for channel in subscription.channels & WATCHLIST_CHANNELS:
                if recipient.address_for(channel):
                    pairs.add((recipient.recipient_id, channel))
    return [
        (by_id[rid], channel) for rid, channel in sorted(pairs, key=lambda p: (p[0], p[1].value))
    ]


def _words(recipient: Recipient) -> Mapping[str, str]:
    return _WORDS["zh-CN"] if recipient.locale.lower().startswith("zh") else _WORDS["en"]


def render(message: WatchlistMessage, recipient: Recipient, link: str) -> tuple[str, str]:
    """(subject, plain text) in the recipient's language."""
    words = _words(recipient)
    subject = words[message.kind].format(customer=message.customer_id)
    body = [subject, "", f"{words['owner']}: {message.owner}"]
    body += [f"{words.get(label, label)}: {text}" for label, text in message.lines if text]
    body += ["", link]
    return subject, "\n".join(body)


def render_sms(message: WatchlistMessage, recipient: Recipient, link: str) -> str:
    """A short SMS (two parts at most, the link kept whole): what happened and the review
    date. No customer id, name, reason or amounts: SMS travels in clear through carriers."""
    words = _words(recipient)
    text = words[f"sms.{message.kind}"]
    if message.review_due and message.kind != "exited":
        text += f" ({words['sms.review_due_label']} {message.review_due})"
    return fit_sms(text + ".", suffix=" " + link)


def webhook_payload(
    message: WatchlistMessage, *, link: str, notification_id: UUID, created_at: datetime
) -> dict[str, Any]:
    """The JSON posted to webhook subscribers: `{id, type, created_at, data}` as for alerts,
    `type` `riskwatch.watchlist.<kind>.v1`; `id` is the delivery's (receivers dedup on it)."""
    return {
        "id": str(notification_id),
        "type": WEBHOOK_TYPES[message.kind],
        "created_at": created_at.isoformat(),
        "data": {
            **message.data,
            "event_id": message.event_id,
            "entry_id": message.entry_id,
            "customer_id": message.customer_id,
            "owner": message.owner,
            "url": link,
        },
    }
