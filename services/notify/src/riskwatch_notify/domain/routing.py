"""Who gets an alert, on which channels: subscriptions, teams and the relationship manager."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskwatch_notify.domain.models import Alert, Channel, Recipient, RuleType, Severity


@dataclass(frozen=True, slots=True)
class Team:
    team_id: str
    name: str
    member_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Subscription:
    """A team's or one recipient's standing order for alerts; exactly one target is set."""

    channels: frozenset[Channel]
    team_id: str | None = None
    recipient_id: str | None = None
    alert_types: frozenset[RuleType] = frozenset()  # empty means every type
    min_severity: Severity = Severity.LOW
    # The watch list's events it delivers too; `alerts` False: the watch list only.
    watchlist_events: frozenset[str] = frozenset()
    alerts: bool = True

    def __post_init__(self) -> None:
        if (self.team_id is None) == (self.recipient_id is None):
            raise ValueError("a subscription targets exactly one of team_id, recipient_id")

    def matches(self, alert: Alert) -> bool:
        if not self.alerts:
            return False
        type_ok = not self.alert_types or alert.rule_type in self.alert_types
        return type_ok and alert.severity.at_least(self.min_severity)


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: Recipient
    channel: Channel


# The relationship manager hears about their own customers; louder as severity rises.
DEFAULT_RM_CHANNELS: Mapping[Severity, frozenset[Channel]] = {
    Severity.LOW: frozenset({Channel.IN_APP}),
    Severity.MEDIUM: frozenset({Channel.IN_APP, Channel.EMAIL}),
    Severity.HIGH: frozenset({Channel.IN_APP, Channel.EMAIL}),
    Severity.CRITICAL: frozenset({Channel.IN_APP, Channel.EMAIL, Channel.SMS}),
}


def team_members(
    team_id: str, recipients: Iterable[Recipient], teams: Mapping[str, Team]
) -> list[Recipient]:
    """Recipients in `team_id`, whether the team lists them or they list the team."""
    listed = teams[team_id].member_ids if team_id in teams else frozenset()
    return [r for r in recipients if r.recipient_id in listed or team_id in r.team_ids]


def _targets(
    subscription: Subscription,
    recipients_by_id: Mapping[str, Recipient],
    teams: Mapping[str, Team],
) -> list[Recipient]:
    if subscription.recipient_id is not None:
        found = recipients_by_id.get(subscription.recipient_id)
        return [found] if found is not None else []
    assert subscription.team_id is not None
    return team_members(subscription.team_id, recipients_by_id.values(), teams)


def resolve_deliveries(
    alert: Alert,
    subscriptions: Iterable[Subscription],
    recipients: Iterable[Recipient],
    teams: Mapping[str, Team],
    rm_recipient: Recipient | None = None,
    *,
    rm_channels: Mapping[Severity, frozenset[Channel]] = DEFAULT_RM_CHANNELS,
) -> frozenset[Delivery]:
    """Every (recipient, channel) pair `alert` must reach, each once.

    Pairs whose recipient has no address on that channel (no phone for SMS) are dropped.
    `rm_recipient` is the customer's relationship manager, looked up by the caller.
    """
    recipients_by_id = {r.recipient_id: r for r in recipients}
    wanted: dict[tuple[str, Channel], Delivery] = {}

    def add(recipient: Recipient, channels: Iterable[Channel]) -> None:
        for channel in channels:
            if recipient.address_for(channel):
                wanted.setdefault((recipient.recipient_id, channel), Delivery(recipient, channel))

    for subscription in subscriptions:
        if subscription.matches(alert):
            for recipient in _targets(subscription, recipients_by_id, teams):
                add(recipient, subscription.channels)
    if rm_recipient is not None:
        add(rm_recipient, rm_channels.get(alert.severity, frozenset()))
    return frozenset(wanted.values())
