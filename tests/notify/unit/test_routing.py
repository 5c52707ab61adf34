import pytest

from riskwatch_notify.domain.models import Channel, RuleType, Severity
from riskwatch_notify.domain.routing import Delivery, Subscription, Team, resolve_deliveries

from .factories import make_alert, make_recipient

ALICE = make_recipient(recipient_id="u-alice", team_ids=frozenset({"fraud"}))
BOB = make_recipient(recipient_id="u-bob", name="Bob", phone=None)
CAROL = make_recipient(recipient_id="u-carol", name="Carol", email="carol@bank.example")
RM = make_recipient(recipient_id="u-rm", name="Ravi", staff_id="rm-7")
TEAMS = {"fraud": Team("fraud", "Fraud ops", member_ids=frozenset({"u-bob"}))}
EVERYONE = [ALICE, BOB, CAROL, RM]


def pairs(deliveries: frozenset[Delivery]) -> set[tuple[str, Channel]]:
    return {(d.recipient.recipient_id, d.channel) for d in deliveries}


def test_team_subscription_reaches_members_listed_either_way() -> None:
    subscription = Subscription(team_id="fraud", channels=frozenset({Channel.EMAIL}))
    deliveries = resolve_deliveries(make_alert(), [subscription], EVERYONE, TEAMS)
    assert pairs(deliveries) == {("u-alice", Channel.EMAIL), ("u-bob", Channel.EMAIL)}


def test_overlapping_subscriptions_yield_each_pair_once() -> None:
    subscriptions = [
        Subscription(team_id="fraud", channels=frozenset({Channel.EMAIL, Channel.SMS})),
        Subscription(recipient_id="u-alice", channels=frozenset({Channel.EMAIL})),
        Subscription(recipient_id="u-alice", channels=frozenset({Channel.EMAIL, Channel.IN_APP})),
    ]
    deliveries = resolve_deliveries(make_alert(), subscriptions, EVERYONE, TEAMS)
    assert pairs(deliveries) == {
        ("u-alice", Channel.EMAIL),
        ("u-alice", Channel.SMS),
        ("u-alice", Channel.IN_APP),
        ("u-bob", Channel.EMAIL),  # Bob has no phone, so no SMS
    }


def test_alert_type_and_severity_filters() -> None:
    credit_only = Subscription(
        recipient_id="u-carol",
        channels=frozenset({Channel.EMAIL}),
        alert_types=frozenset({RuleType.CREDIT_RISK}),
    )
    critical_only = Subscription(
        recipient_id="u-alice", channels=frozenset({Channel.SMS}), min_severity=Severity.CRITICAL
    )
    subscriptions = [credit_only, critical_only]
    high_wire = make_alert(severity=Severity.HIGH)
    assert resolve_deliveries(high_wire, subscriptions, EVERYONE, TEAMS) == frozenset()
    critical_credit = make_alert(severity=Severity.CRITICAL, rule_type=RuleType.CREDIT_RISK)
    assert pairs(resolve_deliveries(critical_credit, subscriptions, EVERYONE, TEAMS)) == {
        ("u-carol", Channel.EMAIL),
        ("u-alice", Channel.SMS),
    }


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.LOW, {Channel.IN_APP}),
        (Severity.HIGH, {Channel.IN_APP, Channel.EMAIL}),
        (Severity.CRITICAL, {Channel.IN_APP, Channel.EMAIL, Channel.SMS}),
    ],
)
def test_relationship_manager_is_included_by_severity(
    severity: Severity, expected: set[Channel]
) -> None:
    deliveries = resolve_deliveries(make_alert(severity=severity), [], EVERYONE, TEAMS, RM)
    assert pairs(deliveries) == {("u-rm", channel) for channel in expected}


def test_relationship_manager_already_subscribed_is_not_doubled() -> None:
    subscription = Subscription(recipient_id="u-rm", channels=frozenset({Channel.EMAIL}))
    deliveries = resolve_deliveries(
        make_alert(severity=Severity.HIGH), [subscription], EVERYONE, TEAMS, RM
    )
    assert sorted(d.channel for d in deliveries) == [Channel.EMAIL, Channel.IN_APP]


def test_unknown_recipients_and_teams_are_ignored() -> None:
    subscriptions = [
        Subscription(recipient_id="u-gone", channels=frozenset({Channel.EMAIL})),
        Subscription(team_id="no-such-team", channels=frozenset({Channel.EMAIL})),
    ]
    assert resolve_deliveries(make_alert(), subscriptions, EVERYONE, TEAMS) == frozenset()


def test_subscription_needs_exactly_one_target() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Subscription(channels=frozenset({Channel.EMAIL}))
    with pytest.raises(ValueError, match="exactly one"):
        Subscription(team_id="t", recipient_id="r", channels=frozenset({Channel.EMAIL}))
