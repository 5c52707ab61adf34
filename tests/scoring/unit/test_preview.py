"""`preview_transaction` returns exactly what `apply_transaction` would, and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from riskwatch_scoring.domain.accumulators import SlidingWindow
from riskwatch_scoring.domain.features import CustomerState

from .factories import T0, make_txn

steps = st.lists(
    st.tuples(
        st.integers(min_value=-3_000, max_value=200_000),  # minutes from T0 (some out of order)
        st.integers(min_value=1, max_value=500_000),  # amount in cents
        st.sampled_from(["A", "B", "C", "D"]),
        st.sampled_from(["DE", "FR", "US"]),
        st.sampled_from(["inbound", "outbound"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_preview_equals_apply_and_leaves_the_state_alone(history: list[tuple]) -> None:  # type: ignore[type-arg]
    customer = CustomerState("c")
    for minutes, cents, counterparty, country, direction in history:
        txn = make_txn(
            T0 + timedelta(minutes=minutes),
            f"{cents / 100:.2f}",
            counterparty=counterparty,
            counterparty_country=country,
            direction=direction,
        )
        before = customer.to_state()
        preview = customer.preview_transaction(txn)
        assert customer.to_state() == before
        applied = customer.apply_transaction(txn)
        assert applied == preview


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=999)),
        min_size=1,
        max_size=50,
    )
)
def test_window_maximum_stays_right_when_read_between_adds(
    events: list[tuple[int, int]],
) -> None:
    window = SlidingWindow(10, 5)
    seen: list[tuple[int, int]] = []
    for second, amount in events:
        window.add(second, Decimal(amount), inbound=False)
        seen.append((second, amount))
        head = max(s for s, _ in seen) // 10
        inside = [a for s, a in seen if s // 10 > head - 5]
        assert window.totals_as_of().maximum == max(inside, default=0)
