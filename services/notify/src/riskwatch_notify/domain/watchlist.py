"""The watch list's events as messages (pure: no I/O): who gets them (the subscriptions that
name the event) and what they say, in the recipient's language, on email and in-app."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskwatch_notify.domain.models import Channel, Recipient
from riskwatch_notify.domain.routing import Subscription, Team, team_members

# The channels a watch-list message goes out on (a subscription's others are skipped).
WATCHLIST_CHANNELS = frozenset({Channel.EMAIL, Channel.IN_APP})

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
