"""Operational alerts (detection health, issue 23) as messages (pure: no I/O): who gets them
and what they say.

An operational alert has no customer and no rule type, so customer-alert routing does not
apply. It reaches its owners (the rule's author, matched on a recipient's user subject; the
members of the rule's owner team, matched by the team's name) and whoever is subscribed to
every alert (a subscription without alert types, `alerts` on, whose minimum severity the
alert reaches: the risk department of the starter configuration), on e-mail and in-app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskwatch_notify.domain.models import Channel, Recipient, Severity
from riskwatch_notify.domain.routing import Subscription, Team, team_members

OPERATIONAL_CHANNELS = frozenset({Channel.EMAIL, Channel.IN_APP})

_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "subject": "Detection health: {title}",
        "rule_spike": "A rule fires far above its usual volume",
        "model_drift": "A model's scores drifted",
        "figures": "Figures",
    },
    "zh-CN": {
        "subject": "检测健康告警: {title}",
        "rule_spike": "规则触发量远超其基线",
        "model_drift": "模型评分发生漂移",
        "figures": "指标",
    },
}


@dataclass(frozen=True, slots=True)
class OperationalMessage:
    alert_id: str
    kind: str  # rule_spike | model_drift
    title: str
    report: str
    figures: tuple[tuple[str, float], ...]


def recipients_for(
    severity: Severity,
    subscriptions: Iterable[Subscription],
    recipients: Iterable[Recipient],
    teams: Mapping[str, Team],
    *,
    owner_ids: Iterable[str] = (),
    owner_team_ids: Iterable[str] = (),
) -> list[tuple[Recipient, Channel]]:
    """Every (recipient, channel) the alert reaches, each once, in a stable order."""
    by_id = {r.recipient_id: r for r in recipients}
    pairs: set[tuple[str, Channel]] = set()

    def reach(targets: Iterable[Recipient], channels: Iterable[Channel]) -> None:
        for recipient in targets:
            for channel in channels:
                if channel in OPERATIONAL_CHANNELS and recipient.address_for(channel):
                    pairs.add((recipient.recipient_id, channel))

    owners = [by_id[rid] for rid in owner_ids if rid in by_id]
    owners += [
        r for team_id in owner_team_ids for r in team_members(team_id, by_id.values(), teams)
    ]
    reach(owners, OPERATIONAL_CHANNELS)
    for subscription in subscriptions:
        if not subscription.alerts or subscription.alert_types:
            continue
        if not severity.at_least(subscription.min_severity):
            continue
        if subscription.recipient_id is not None:
            targets = (
                [by_id[subscription.recipient_id]] if subscription.recipient_id in by_id else []
            )
        else:
            assert subscription.team_id is not None
            targets = team_members(subscription.team_id, by_id.values(), teams)
        reach(targets, subscription.channels)
    return [
        (by_id[rid], channel) for rid, channel in sorted(pairs, key=lambda p: (p[0], p[1].value))
    ]


def render(message: OperationalMessage, recipient: Recipient, link: str) -> tuple[str, str]:
    """(subject, plain text) in the recipient's language; the report is alerting's words."""
    words = _WORDS["zh-CN"] if recipient.locale.lower().startswith("zh") else _WORDS["en"]
    subject = words["subject"].format(title=message.title)
    body = [subject, "", words[message.kind], "", message.report, "", f"{words['figures']}:"]
    body += [f"  {name}: {value:g}" for name, value in message.figures]
    body += ["", link]
    return subject, "\n".join(body)
