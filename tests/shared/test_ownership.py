"""The kit's access rules: the policy check every service applies behind the gateway, and who
a relationship manager may see (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

import riskwatch_gateway.policy
import riskwatch_shared.policy
from riskwatch_shared.app import authorize
from riskwatch_shared.errors import Forbidden, NotFound
from riskwatch_shared.events.alerting import AlertRaised, WatchlistReviewDue
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated, CustomerUpdated
from riskwatch_shared.ownership import (
    NOBODY,
    may_see,
    owner_rows,
    owner_scope,
    require_visible,
)
from riskwatch_shared.security import SYSTEM_IDENTITY, Identity

RM = Identity(subject="u-rm", roles=("relationship_manager",), staff_id="rm-1")
RM_ANALYST = Identity(subject="u-2", roles=("relationship_manager", "analyst"), staff_id="rm-2")
VIEWER = Identity(subject="u-3", roles=("viewer",))
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_the_gateway_and_the_services_share_one_policy_definition() -> None:
    assert riskwatch_gateway.policy.DEFAULT_POLICY is riskwatch_shared.policy.DEFAULT_POLICY
    assert riskwatch_gateway.policy.decide is riskwatch_shared.policy.decide


def test_authorize_follows_the_table_and_denies_by_default() -> None:
    authorize(VIEWER, "GET", "/v1/alerts")
    with pytest.raises(Forbidden):
        authorize(VIEWER, "POST", f"/v1/alerts/{uuid.uuid4()}/acknowledge")
    with pytest.raises(Forbidden):
        authorize(VIEWER, "GET", "/v1/nowhere-in-the-table")
    with pytest.raises(Forbidden):
        authorize(Identity(subject="nobody"), "GET", "/v1/alerts")
    scoped = Identity(subject="k", kind="api_key", roles=("admin",), scopes=("alerts:read",))
    authorize(scoped, "GET", "/v1/alerts")
    with pytest.raises(Forbidden):
        authorize(scoped, "GET", "/v1/customers")
    # The service's own identity (no gateway in front: development only) is not confined.
    authorize(SYSTEM_IDENTITY, "DELETE", "/v1/nowhere-in-the-table")


def test_only_an_rm_with_nothing_broader_is_confined() -> None:
    assert owner_scope(RM) == "rm-1"
    assert owner_scope(Identity(subject="u-9", roles=("relationship_manager",))) == "u-9"
    assert owner_scope(RM_ANALYST) is None
    assert owner_scope(VIEWER) is None
    assert may_see(RM, "rm-1")
    assert not may_see(RM, "rm-2")
    assert not may_see(RM, None)  # an unassigned customer is nobody's
    assert may_see(VIEWER, None)
    assert NOBODY not in ("", None)
    require_visible(RM, "rm-1", "such customer")
    with pytest.raises(NotFound):
        require_visible(RM, "rm-2", "such customer")


def _created(customer_id: uuid.UUID, rm: str | None, at: datetime) -> CustomerCreated:
    snapshot = CustomerSnapshot(
        kind="individual", name="Bo", status="active", relationship_manager=rm
    )
    return CustomerCreated(customer_id=customer_id, customer=snapshot, occurred_at=at)


def test_owner_rows_keep_the_newest_snapshot_of_each_customer() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    moved = CustomerUpdated(
        customer_id=a,
        customer=CustomerSnapshot(
            kind="individual", name="Bo", status="active", relationship_manager="rm-2"
        ),
        occurred_at=T0 + timedelta(minutes=5),
    )
    raised = AlertRaised(
        alert_id=uuid.uuid4(),
        customer_id=b,
        relationship_manager="rm-3",
        rule_id=uuid.uuid4(),
        rule_version=1,
        rule_name="r",
        rule_type="custom",
        severity="high",
        title="t",
        summary="s",
        raised_at=T0,
        occurred_at=T0,
    )
    no_customer = msgspec.structs.replace(raised, customer_id=None, alert_id=uuid.uuid4())
    late_replay = _created(a, "rm-1", T0)  # older than `moved`, delivered after it
    rows = owner_rows([_created(a, "rm-1", T0), moved, late_replay, raised, no_customer])
    by_customer = {row["customer_id"]: row for row in rows}
    assert set(by_customer) == {a, b}
    assert by_customer[a]["relationship_manager"] == "rm-2"
    assert by_customer[a]["as_of"] == T0 + timedelta(minutes=5)
    assert by_customer[b]["relationship_manager"] == "rm-3"


def test_watch_list_events_name_the_owner_but_never_unassign() -> None:
    known, unknown = uuid.uuid4(), uuid.uuid4()

    def due(customer_id: uuid.UUID, rm: str | None) -> WatchlistReviewDue:
        return WatchlistReviewDue(
            entry_id=uuid.uuid4(),
            customer_id=customer_id,
            relationship_manager=rm,
            owner="ana",
            review_due=T0.date(),
            reason="RED",
            occurred_at=T0,
        )

    rows = owner_rows([due(known, "rm-7"), due(unknown, None)])
    assert [(row["customer_id"], row["relationship_manager"]) for row in rows] == [(known, "rm-7")]
