"""The event path's fast paths give what the plain reference code gives.

orjson JSON text = `json.dumps(to_json(...))`; `compact` = the per-field reference filter;
`LazyAggregates.get` = `Mapping.get`; window keys computed once = keys computed each time.
"""

import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from riskwatch_alerting.domain.evaluation import ActiveRule, Evaluator, RuleSet, group_keys_of
from riskwatch_alerting.domain.evaluation_input import (
    EvaluationInput,
    compact,
    compact_namespace,
    json_bytes,
    to_json,
)
from riskwatch_alerting.pipeline import _lock_names
from riskwatch_alerting.rules import AggregateSpec
from riskwatch_alerting.rules.compiler import number_or_none
from riskwatch_alerting.rules.fields import FIELD_CATALOGUE, FieldType
from riskwatch_alerting.rules.windows import GroupKey, LazyAggregates, WindowStore, group_keys
from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.scoring import TransactionScored

_AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_NAMESPACES = ("txn", "customer", "risk", "score", "event")


def _reference_compact(namespaces: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`compact` as first written: catalogue fields only, None dropped, floats as Decimal."""
    kept: dict[str, dict[str, Any]] = {}
    for namespace in _NAMESPACES:
        known = {
            path.split(".", 1)[1]: spec.type
            for path, spec in FIELD_CATALOGUE.items()
            if path.split(".", 1)[0] == namespace
        }
        kept[namespace] = {
            name: (
                number_or_none(value)
                if known[name] is FieldType.NUMBER and isinstance(value, float)
                else value
            )
            for name, value in namespaces.get(namespace, {}).items()
            if name in known and value is not None
        }
    return kept


_field_names = st.sampled_from(
    sorted({path.split(".", 1)[1] for path in FIELD_CATALOGUE} | {"not_a_field", "x"})
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.text(max_size=8),
)
_namespaces = st.dictionaries(
    st.sampled_from(_NAMESPACES), st.dictionaries(_field_names, _values, max_size=12)
)


def _same(left: Any, right: Any) -> bool:
    """Equal, with NaN equal to NaN (the reference keeps NaN where it is no number field)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    return type(left) is type(right) and bool(left == right)


@settings(max_examples=300)
@given(_namespaces)
def test_compact_matches_the_reference_filter(namespaces: dict[str, dict[str, Any]]) -> None:
    assert _same(compact(namespaces), _reference_compact(namespaces))
    for namespace, values in namespaces.items():
        assert _same(
            compact_namespace(namespace, values), _reference_compact(namespaces)[namespace]
        )


_json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),  # past 64 bits orjson refuses: the fallback encodes it
        st.floats(allow_nan=False, allow_infinity=False),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.uuids(),
        st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), UTC])),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(_json_values)
def test_json_bytes_is_the_standard_encoding_of_to_json(value: Any) -> None:
    assert json.loads(json_bytes(value)) == json.loads(json.dumps(to_json(value)))


def test_json_bytes_encodes_sets_decimals_times_and_uuids_like_to_json() -> None:
    value = {
        "amount": Decimal("9400.50"),
        "at": datetime(2026, 11, 2, 9, 0, 0, 123, tzinfo=UTC),
        "id": uuid.UUID(int=7),
        "countries": frozenset({"DE"}),
        "nested": {"ratio": Decimal("0.1"), "none": None},
    }
    assert json.loads(json_bytes(value)) == to_json(value)


def test_lazy_aggregates_get_is_mapping_get() -> None:
    count = AggregateSpec(func="count", field=None, window_seconds=3_600, by="customer")
    total = AggregateSpec(func="sum", field="amount", window_seconds=3_600, by="account")
    store = WindowStore([count, total])
    txn = {"customer_id": "c1", "amount": Decimal("10")}
    store.observe(txn, _AT)
    lazy = store.lazy_values_for(txn, _AT)
    assert lazy.get(count) == Mapping.get(lazy, count) == 1
    assert lazy.get(total) is Mapping.get(lazy, total) is None  # no account: missing
    assert lazy.get(total, "default") == Mapping.get(lazy, total, "default") == "default"
    assert dict(lazy) == {count: 1}


def _item(txn: dict[str, Any], customer_id: uuid.UUID | None, transaction: bool) -> EvaluationInput:
    return EvaluationInput(
        event_id=uuid.uuid4(),
        event_type="scoring.transaction_scored.v1",
        occurred_at=_AT,
        customer_id=customer_id,
        transaction_id=uuid.uuid4() if transaction else None,
        namespaces={"txn": txn, "customer": {}, "risk": {}, "score": {}, "event": {}},
    )


def test_group_keys_are_computed_once_and_as_before() -> None:
    customer = uuid.uuid4()
    bys = frozenset({"customer", "account", "device"})
    for txn, customer_id in (
        ({"customer_id": "c1", "account_id": "a1", "device_id": "d1"}, customer),
        ({"account_id": "a1"}, customer),  # account_changed: the event's customer is used
        ({"account_id": "a1", "customer_id": None}, customer),  # named but missing
        ({}, None),
    ):
        item = _item(txn, customer_id, transaction=False)
        lookup = dict(txn)
        if "customer_id" not in lookup and customer_id is not None:
            lookup["customer_id"] = str(customer_id)
        expected = [key for key in group_keys(lookup) if key.by in bys]
        assert group_keys_of(item, bys) == expected
        assert group_keys_of(item, bys) == expected  # from the cache
        assert item.cached_group_keys is not None


def test_evaluator_with_cached_keys_matches_a_fresh_store() -> None:
    rule = ActiveRule.build(
        id=uuid.uuid4(),
        version=1,
        name="burst",
        rule_type="transaction_anomaly",
        severity="high",
        trigger_event_types=["scoring.transaction_scored.v1"],
        condition='count(txn, within="1h", by="device") >= 3 and txn.amount > 5',
        dedup_key="customer_id",
        cooldown_seconds=0,
    )
    rule_set = RuleSet([rule], {})
    evaluator = Evaluator(rule_set, WindowStore(rule_set.specs))
    reference = WindowStore(rule_set.specs)
    fired = []
    for minute in range(6):
        txn = {"customer_id": f"c{minute % 2}", "device_id": "d1", "amount": Decimal(10)}
        item = _item(txn, uuid.uuid4(), transaction=True)
        at = _AT + timedelta(minutes=minute)
        item.occurred_at = at
        fired.append(bool(evaluator.process(item)))
        reference.observe(txn, at)
        assert evaluator.windows.values_for(txn, at) == reference.values_for(txn, at)
    assert fired == [False, False, True, True, True, True]
    key = GroupKey("device", "d1")
    assert evaluator.windows.key_state(key) == reference.key_state(key)
    assert isinstance(evaluator.windows.lazy_values_for(txn, at), LazyAggregates)


def test_locks_cover_the_customer_and_only_the_window_groups_rules_use() -> None:
    customer = uuid.uuid4()
    transaction = TransactionData(
        transaction_id=uuid.uuid4(),
        external_id="ext-1",
        customer_id=customer,
        account_id=uuid.UUID(int=1),
        direction="outbound",
        amount=Decimal("10"),
        currency="EUR",
        channel="card",
        counterparty_account="DE1",
        device_id="dev-1",
        occurred_at=_AT,
        received_at=_AT,
    )
    event = TransactionScored(
        customer_id=customer,
        occurred_at=_AT,
        transaction=transaction,
        anomaly_score=0.1,
        anomaly_level="low",
        recommended_action="approve",
        model_version="test",
    )
    assert _lock_names([event], frozenset({"customer"})) == [f"customer:{customer}"]
    assert _lock_names([event], frozenset({"customer", "account", "counterparty", "device"})) == [
        f"customer:{customer}",
        f"account:{uuid.UUID(int=1)}",
        "counterparty:DE1",
        "device:dev-1",
    ]
