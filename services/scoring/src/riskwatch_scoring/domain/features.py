"""Per-customer behavioural state, updated one event at a time, and the features read from it.

`CustomerState.apply_transaction` updates every accumulator in O(buckets) and returns the
incoming transaction's own features (first-seen flags, deviation from the customer's
history, velocity), computed against the state *before* the transaction is added.
`CustomerState.features(as_of)` returns the customer-level features as a flat dict with
the stable names in `CUSTOMER_FEATURE_NAMES`; alert rules and models read those names.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from riskwatch_scoring.domain.accumulators import (
    LastSeenMap,
    RunningStats,
    SlidingWindow,
    WindowSpan,
)
from riskwatch_scoring.domain.inputs import CreditRecord, FinancialProfile, Interaction, Transaction

FeatureValue = float | int | str | bool | None
FeatureMap = dict[str, FeatureValue]

STATE_VERSION = 1
SECONDS_PER_DAY = 86_400
# (bucket width in seconds, bucket count) per window; see accumulators.py for the precision.
WINDOW_SPECS: dict[str, tuple[int, int]] = {
    "1h": (60, 60),
    "24h": (3_600, 24),
    "7d": (3_600, 168),
    "30d": (SECONDS_PER_DAY, 30),
    "90d": (SECONDS_PER_DAY, 90),
}
# Windows of one bucket width share the longest one's buckets (24h is the newest 24 of the
# 7d window's hourly buckets, 30d the newest 30 of the 90d's days): a transaction updates
# three bucket maps, not five. Each is still persisted under its own name, as before.
Window = SlidingWindow | WindowSpan


def _window_layout() -> tuple[
    dict[str, tuple[int, int, tuple[int, ...]]], dict[str, tuple[str, int]]
]:
    """{stored window: (bucket width, bucket count, its spans' bucket counts)} and
    {shorter window: (the stored window it is a span of, its bucket count)}."""
    stored: dict[str, tuple[int, int, tuple[int, ...]]] = {}
    spans: dict[str, tuple[str, int]] = {}
    for name, (width, count) in WINDOW_SPECS.items():
        same_width = {other: c for other, (w, c) in WINDOW_SPECS.items() if w == width}
        longest = max(same_width, key=same_width.__getitem__)
        if longest == name:
            stored[name] = (width, count, tuple(c for c in same_width.values() if c < count))
        else:
            spans[name] = (longest, count)
    return stored, spans


_STORED_WINDOWS, _SPAN_OF = _window_layout()
DORMANT_AFTER_DAYS = 90
RECENT_IDS_KEPT = 128
COUNTERPARTIES_KEPT = 512
COUNTRIES_KEPT = 64
DEVICES_KEPT = 64
ACCOUNTS_KEPT = 64
UNUSUAL_HOUR_MIN_HISTORY = 20
UNUSUAL_HOUR_MAX_SHARE = 0.03

_FINANCIAL_FEATURE_NAMES = (
    "debt_to_income",
    "annual_income",
    "income_change_pct",
    "total_assets",
    "total_liabilities",
    "liabilities_change_pct",
    "net_worth",
)
# The credit early-warning catalogue's record features (alerting's `warning.catalogue`).
_EARLY_WARNING_RECORD_FEATURES = (
    "days_past_due",
    "monthly_instalment",
    "instalment_to_income",
    "instalment_to_income_change",
    "utilisation_change",
    "external_delinquency_days",
)
_WINDOW_FEATURES = ("txn_count", "amount_sum", "amount_max", "inflow_sum", "outflow_sum")
# Per window, its five feature names in `CUSTOMER_FEATURE_NAMES` order.
_WINDOW_FEATURE_NAMES: dict[str, tuple[str, ...]] = {
    window: tuple(f"{feature}_{window}" for feature in _WINDOW_FEATURES) for window in WINDOW_SPECS
}
CUSTOMER_FEATURE_NAMES: tuple[str, ...] = (
    *(f"{feature}_{window}" for window in WINDOW_SPECS for feature in _WINDOW_FEATURES),
    "currency",
    "lifetime_txn_count",
    "amount_mean",
    "amount_std",
    "avg_amount_30d",
    "avg_amount_90d",
    "outflow_ratio_30d",
    "activity_trend_90d",
    "balance_trend_90d",
    "inflow_trend_90d",
    "distinct_counterparties_30d",
    "distinct_countries_30d",
    "distinct_devices_30d",
    "days_since_last_activity",
    "days_since_last_interaction",
    "active_accounts_90d",
    "dormant_accounts",
    "complaints_90d",
    "interactions_90d",
    "inflow_count_30d",
    "inflow_count_90d",
    "returned_payments_90d",
    "debt_to_income",
    "utilisation",
    "delinquencies_30",
    "delinquencies_60",
    "delinquencies_90",
    "missed_payments",
    "defaults",
    "recent_inquiries",
    "outstanding_debt",
    "credit_limit",
    "bureau_score",
    "bureau_score_change",
    "annual_income",
    "income_change_pct",
    "total_assets",
    "total_liabilities",
    "liabilities_change_pct",
    "net_worth",
    *_EARLY_WARNING_RECORD_FEATURES,
)


class CurrencyMismatch(ValueError):
    """A transaction in another currency arrived without its amount in the base currency."""


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _days(seconds: int) -> float:
    return seconds / SECONDS_PER_DAY


def _share_change(recent: float, prior: float) -> float:
    """(recent - prior) / (|recent| + |prior|): in [-1, 1], 0 when both are zero."""
    scale = abs(recent) + abs(prior)
    return 0.0 if scale == 0 else (recent - prior) / scale


def _pct_change(latest: Decimal, previous: Decimal) -> float | None:
    if previous == 0:
        return None
    return float((latest - previous) / abs(previous) * 100)


class TransactionFeatures(NamedTuple):
    """The incoming transaction seen against the customer's history before it (a named
    tuple: immutable, and built once per transaction at a fraction of a frozen dataclass's
    cost)."""

    transaction_id: str
    amount: float
    direction: str
    channel: str
    country: str
    counterparty_country: str
    is_cross_border: bool
    is_new_country: bool
    is_new_device: bool
    is_new_counterparty: bool
    history_count: int
    # Days from the customer's first transaction to this one (None for the first): with
    # history_count, how much own history a comparison with it rests on.
    history_days: float | None
    amount_to_avg_30d: float | None
    amount_zscore: float | None
    hour: int
    hour_share: float | None
    unusual_hour: bool
    velocity_1h: int
    velocity_24h: int
    amount_sum_1h: float
    amount_sum_24h: float
    days_since_previous_txn: float | None
    is_out_of_order: bool

    def as_dict(self) -> FeatureMap:
        return dict(zip(self._fields, self, strict=True))


@dataclass(frozen=True, slots=True)
class CustomerFeatures:
    """Customer-level features as of one moment, by the names in `CUSTOMER_FEATURE_NAMES`."""

    as_of: datetime
    values: FeatureMap

    def __getitem__(self, name: str) -> FeatureValue:
        return self.values[name]

    def as_dict(self) -> FeatureMap:
        return dict(self.values)


def _windows(stored: dict[str, SlidingWindow]) -> dict[str, Window]:
    """Every window by name in `WINDOW_SPECS` order, the shorter ones as spans of `stored`."""
    windows: dict[str, Window] = {}
    for name in WINDOW_SPECS:
        if name in stored:
            windows[name] = stored[name]
        else:
            longest, bucket_count = _SPAN_OF[name]
            windows[name] = stored[longest].span(bucket_count)
    return windows


class CustomerState:
    """Everything scoring remembers about one customer, bounded in size."""

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.base_currency: str | None = None
        # The windows events are added to; `windows` reads all of them by name.
        self._stored_windows = [
            SlidingWindow(width, count, spans) for width, count, spans in _STORED_WINDOWS.values()
        ]
        self.windows = _windows(dict(zip(_STORED_WINDOWS, self._stored_windows, strict=True)))
        self.amount_stats = RunningStats()
        self.hour_histogram = [0] * 24
        self.counterparties = LastSeenMap(COUNTERPARTIES_KEPT)
        self.countries = LastSeenMap(COUNTRIES_KEPT)
        self.devices = LastSeenMap(DEVICES_KEPT)
        self.accounts = LastSeenMap(ACCOUNTS_KEPT)
        self.last_txn_epoch: int | None = None
        self.first_txn_epoch: int | None = None
        self.recent_ids: deque[str] = deque(maxlen=RECENT_IDS_KEPT)
        # `recent_ids` as a set for the per-transaction membership test (ids are unique in
        # the deque: an id already there is never appended again).
        self._recent_id_set: set[str] = set()
        self.interactions = SlidingWindow(SECONDS_PER_DAY, 90)
        self.complaints = SlidingWindow(SECONDS_PER_DAY, 90)
        # Incoming payments counted (fewer inflows) and outgoing ones returned, per day.
        self.inflows = SlidingWindow(SECONDS_PER_DAY, 90, (30,))
        self.returned = SlidingWindow(SECONDS_PER_DAY, 90)
        self.last_interaction_epoch: int | None = None
        self.credit_records: dict[str, list[CreditRecord]] = {}
        self.financial_profiles: list[FinancialProfile] = []
        # Credit and financial features, and the records' persisted form, change only with a
        # record: kept until the next one.
        self._record_features: FeatureMap | None = None
        self._records_state: tuple[dict[str, Any], list[Any]] | None = None

    # -- transactions -------------------------------------------------------------------

    def apply_transaction(
        self, txn: Transaction, *, amount_in_base: Decimal | None = None
    ) -> TransactionFeatures | None:
        """Add a transaction; returns its features, or None if this id was applied recently.

        A transaction in a currency other than the customer's base currency (the currency
        of the first transaction seen) needs `amount_in_base`, converted by the caller.
        """
        transaction_id = str(txn.transaction_id)
        if transaction_id in self._recent_id_set:
            return None
        if self.base_currency is None:
            self.base_currency = txn.currency
        amount = self._amount_in_base(txn, amount_in_base)
        epoch = _epoch(txn.occurred_at)
        features = self._transaction_features(txn, amount, epoch, transaction_id)
        self._record(txn, amount, epoch, features.hour, transaction_id)
        return features

    def preview_transaction(
        self, txn: Transaction, *, amount_in_base: Decimal | None = None
    ) -> TransactionFeatures:
        """The features `apply_transaction` would return, without changing the state."""
        amount = self._amount_in_base(txn, amount_in_base)
        epoch = _epoch(txn.occurred_at)
        return self._transaction_features(txn, amount, epoch, str(txn.transaction_id))

    def _transaction_features(
        self, txn: Transaction, amount: Decimal, epoch: int, transaction_id: str
    ) -> TransactionFeatures:
        """The transaction against the history before it, plus itself in the velocity counts."""
        last_txn_epoch = self.last_txn_epoch
        is_out_of_order = last_txn_epoch is not None and epoch < last_txn_epoch
        windows = self.windows
        count_30d, inbound_30d, outbound_30d, _ = windows["30d"].totals_tuple(epoch)
        avg_30d = (inbound_30d + outbound_30d) / count_30d if count_30d else None
        amount_float = float(amount)
        # The UTC hour straight from the epoch, without a timezone conversion: exact once the
        # epoch is positive (POSIX time has no leap seconds; `int()` truncates towards zero,
        # so at or before the epoch the conversion decides).
        hour = (epoch // 3_600) % 24 if epoch > 0 else txn.occurred_at.astimezone(UTC).hour
        hour_share = self._hour_share(hour)
        history_count = self.amount_stats.count
        first_txn_epoch = self.first_txn_epoch
        days_since_previous = (
            None if last_txn_epoch is None else _days(max(0, epoch - last_txn_epoch))
        )
        window_1h, window_24h = windows["1h"], windows["24h"]
        count_1h, inbound_1h, outbound_1h, _ = window_1h.totals_tuple(epoch)
        sum_1h = inbound_1h + outbound_1h
        if window_1h.covers(epoch):
            count_1h, sum_1h = count_1h + 1, sum_1h + amount
        count_24h, inbound_24h, outbound_24h, _ = window_24h.totals_tuple(epoch)
        sum_24h = inbound_24h + outbound_24h
        if window_24h.covers(epoch):
            count_24h, sum_24h = count_24h + 1, sum_24h + amount
        return TransactionFeatures(
            transaction_id=transaction_id,
            amount=amount_float,
            direction=txn.direction,
            channel=txn.channel,
            country=txn.country,
            counterparty_country=txn.counterparty_country,
            is_cross_border=txn.counterparty_country != txn.country,
            is_new_country=txn.counterparty_country not in self.countries,
            is_new_device=txn.device_id is not None and txn.device_id not in self.devices,
            is_new_counterparty=txn.counterparty_account not in self.counterparties,
            history_count=history_count,
            history_days=(
                None if first_txn_epoch is None else _days(max(0, epoch - first_txn_epoch))
            ),
            amount_to_avg_30d=None if not avg_30d else float(amount / avg_30d),
            amount_zscore=self.amount_stats.zscore(amount_float),
            hour=hour,
            hour_share=hour_share,
            unusual_hour=(
                history_count >= UNUSUAL_HOUR_MIN_HISTORY
                and hour_share is not None
                and hour_share < UNUSUAL_HOUR_MAX_SHARE
            ),
            velocity_1h=count_1h,
            velocity_24h=count_24h,
            amount_sum_1h=float(sum_1h),
            amount_sum_24h=float(sum_24h),
            days_since_previous_txn=days_since_previous,
            is_out_of_order=is_out_of_order,
        )

    def _amount_in_base(self, txn: Transaction, amount_in_base: Decimal | None) -> Decimal:
        if self.base_currency is None or txn.currency == self.base_currency:
            return txn.amount
        if amount_in_base is None:
            raise CurrencyMismatch(
                f"transaction {txn.transaction_id} is in {txn.currency}, the customer's "
                f"base currency is {self.base_currency}: pass amount_in_base"
            )
        return amount_in_base

    def _hour_share(self, hour: int) -> float | None:
        """Share of past transactions within one hour either side of `hour` (UTC)."""
        total = self.amount_stats.count
        if total == 0:
            return None
        histogram = self.hour_histogram
        around = histogram[(hour - 1) % 24] + histogram[hour] + histogram[(hour + 1) % 24]
        return around / total

    def _record(
        self, txn: Transaction, amount: Decimal, epoch: int, hour: int, transaction_id: str
    ) -> None:
        inbound = txn.direction == "inbound"
        for window in self._stored_windows:
            window.add(epoch, amount, inbound=inbound)
        if inbound:
            self.inflows.add(epoch, amount, inbound=True)
        elif txn.is_returned_payment:
            self.returned.add(epoch, amount, inbound=False)
        self.amount_stats.add(float(amount))
        self.hour_histogram[hour] += 1
        self.counterparties.touch(txn.counterparty_account, epoch)
        self.countries.touch(txn.counterparty_country, epoch)
        self.countries.touch(txn.country, epoch)
        if txn.device_id is not None:
            self.devices.touch(txn.device_id, epoch)
        self.accounts.touch(txn.account_id, epoch)
        if self.last_txn_epoch is None or epoch > self.last_txn_epoch:
            self.last_txn_epoch = epoch
        if self.first_txn_epoch is None or epoch < self.first_txn_epoch:
            self.first_txn_epoch = epoch
        recent_ids = self.recent_ids
        if len(recent_ids) == RECENT_IDS_KEPT:
            self._recent_id_set.discard(recent_ids[0])  # about to fall out of the deque
        recent_ids.append(transaction_id)
        self._recent_id_set.add(transaction_id)

    # -- other inputs -------------------------------------------------------------------

    def apply_interaction(self, interaction: Interaction) -> None:
        epoch = _epoch(interaction.occurred_at)
        inbound = interaction.direction == "inbound"
        self.interactions.add(epoch, Decimal(0), inbound=inbound)
        if interaction.channel == "complaint":
            self.complaints.add(epoch, Decimal(0), inbound=inbound)
        if self.last_interaction_epoch is None or epoch > self.last_interaction_epoch:
            self.last_interaction_epoch = epoch

    def apply_credit_record(self, record: CreditRecord) -> None:
        """Keep the two most recent records per source (a late, older record slots in behind)."""
        records = [*self.credit_records.get(record.source, []), record]
        records.sort(key=lambda kept: kept.as_of, reverse=True)
        self.credit_records[record.source] = records[:2]
        self._record_features = self._records_state = None

    def apply_financial_profile(self, profile: FinancialProfile) -> None:
        profiles = [*self.financial_profiles, profile]
        profiles.sort(key=lambda kept: kept.as_of, reverse=True)
        self.financial_profiles = profiles[:2]
        self._record_features = self._records_state = None

    # -- customer features --------------------------------------------------------------

    def features(self, as_of: datetime | None = None) -> CustomerFeatures:
        """Customer-level features as of `as_of` (default: the newest transaction seen)."""
        if as_of is None:
            newest = max(self.last_txn_epoch or 0, self.last_interaction_epoch or 0)
            as_of = datetime.fromtimestamp(newest, tz=UTC)
        return CustomerFeatures(as_of=as_of, values=self.feature_map(_epoch(as_of)))

    def feature_map(self, epoch: int) -> FeatureMap:
        """`features(as_of).as_dict()` as of an epoch second: a new dict the caller owns."""
        # Built in `CUSTOMER_FEATURE_NAMES` order (a unit test holds it to that).
        values = self._window_features(epoch)
        values.update(self._network_features(epoch))
        if self._record_features is None:
            self._record_features = {
                "debt_to_income": None,
                **self._credit_features(),
                **self._financial_features(),
                **self._early_warning_features(),
            }
        values.update(self._record_features)
        return values

    def _early_warning_features(self) -> FeatureMap:
        """Arrears, debt service and their moves, from the newest records (see `inputs`)."""
        internal = self.credit_records.get("internal", [])
        bureau = self.credit_records.get("bureau", [])
        dated = [r for r in internal if r.days_past_due is not None]
        latest = self._latest_credit_record()
        utilisation_change = None
        if latest is not None:
            pair = self.credit_records[latest.source]
            if len(pair) > 1:
                now, before = pair[0].effective_utilisation, pair[1].effective_utilisation
                if now is not None and before is not None:
                    utilisation_change = float(now - before)
        instalment, instalment_change = self._instalment_pair()
        monthly_income = (
            self.financial_profiles[0].annual_income / 12 if self.financial_profiles else None
        )
        to_income = change = None
        if monthly_income is not None and monthly_income > 0 and instalment is not None:
            to_income = float(instalment / monthly_income)
            if instalment_change is not None:
                previous_income = (
                    self.financial_profiles[1].annual_income / 12
                    if len(self.financial_profiles) > 1
                    else monthly_income
                )
                previous = instalment - instalment_change
                if previous_income > 0:
                    change = to_income - float(previous / previous_income)
        return {
            "days_past_due": dated[0].days_past_due if dated else None,
            "monthly_instalment": None if instalment is None else float(instalment),
            "instalment_to_income": to_income,
            "instalment_to_income_change": change,
            "utilisation_change": utilisation_change,
            "external_delinquency_days": bureau[0].worst_delinquency_days if bureau else None,
        }

    def _instalment_pair(self) -> tuple[Decimal | None, Decimal | None]:
        """The newest monthly instalment (the bureau's covers every lender) and its change
        from that source's previous record."""
        for source in ("bureau", "internal"):
            given = [
                r.monthly_instalment
                for r in self.credit_records.get(source, [])
                if r.monthly_instalment is not None
            ]
            if given:
                return given[0], given[0] - given[1] if len(given) > 1 else None
        return None, None

    def _window_features(self, epoch: int) -> FeatureMap:
        values: FeatureMap = {}
        totals = {}
        for name, window in self.windows.items():
            count, inbound, outbound, maximum = totals[name] = window.totals_tuple(epoch)
            count_name, sum_name, max_name, inflow_name, outflow_name = _WINDOW_FEATURE_NAMES[name]
            values[count_name] = count
            values[sum_name] = float(inbound + outbound)
            values[max_name] = float(maximum)
            values[inflow_name] = float(inbound)
            values[outflow_name] = float(outbound)
        stats = self.amount_stats
        values["currency"] = self.base_currency
        values["lifetime_txn_count"] = stats.count
        values["amount_mean"] = stats.mean if stats.count else None
        values["amount_std"] = stats.std if stats.count > 1 else None
        count_30d, inbound_30d, outbound_30d, _ = totals["30d"]
        count_90d, inbound_90d, outbound_90d, _ = totals["90d"]
        total_30d = inbound_30d + outbound_30d
        values["avg_amount_30d"] = float(total_30d / count_30d) if count_30d else None
        values["avg_amount_90d"] = (
            float((inbound_90d + outbound_90d) / count_90d) if count_90d else None
        )
        values["outflow_ratio_30d"] = float(outbound_30d / total_30d) if total_30d else None
        # Last 30 days against the 60 before, per day, so the two spans compare fairly.
        prior_count = (count_90d - count_30d) / 60
        values["activity_trend_90d"] = _share_change(count_30d / 30, prior_count)
        recent_net = float(inbound_30d - outbound_30d) / 30
        prior_net = float((inbound_90d - inbound_30d) - (outbound_90d - outbound_30d)) / 60
        values["balance_trend_90d"] = _share_change(recent_net, prior_net)
        # Money coming in (a salary moved to another bank shows here first).
        prior_inflow = float(inbound_90d - inbound_30d) / 60
        values["inflow_trend_90d"] = _share_change(float(inbound_30d) / 30, prior_inflow)
        return values

    def _network_features(self, epoch: int) -> FeatureMap:
        since_30d = epoch - 30 * SECONDS_PER_DAY
        dormant_before = epoch - DORMANT_AFTER_DAYS * SECONDS_PER_DAY
        last_txn, last_interaction = self.last_txn_epoch, self.last_interaction_epoch
        return {
            "distinct_counterparties_30d": self.counterparties.count_since(since_30d),
            "distinct_countries_30d": self.countries.count_since(since_30d),
            "distinct_devices_30d": self.devices.count_since(since_30d),
            "days_since_last_activity": None
            if last_txn is None
            else _days(max(0, epoch - last_txn)),
            "days_since_last_interaction": (
                None if last_interaction is None else _days(max(0, epoch - last_interaction))
            ),
            "active_accounts_90d": self.accounts.count_since(dormant_before),
            "dormant_accounts": self.accounts.count_before(dormant_before),
            "complaints_90d": self.complaints.totals_tuple(epoch)[0],
            "interactions_90d": self.interactions.totals_tuple(epoch)[0],
            "inflow_count_30d": self.inflows.span(30).totals_tuple(epoch)[0],
            "inflow_count_90d": self.inflows.totals_tuple(epoch)[0],
            "returned_payments_90d": self.returned.totals_tuple(epoch)[0],
        }

    def _latest_credit_record(self) -> CreditRecord | None:
        latest = [records[0] for records in self.credit_records.values()]
        return max(latest, key=lambda record: record.as_of, default=None)

    def _bureau_score_pair(self) -> tuple[int | None, int | None]:
        """The newest score (bureau preferred) and the change from that source's previous one."""
        for source in ("bureau", "internal"):
            scored = [r for r in self.credit_records.get(source, []) if r.credit_score is not None]
            if scored:
                latest = scored[0].credit_score
                assert latest is not None
                previous = scored[1].credit_score if len(scored) > 1 else None
                return latest, None if previous is None else latest - previous
        return None, None

    def _credit_features(self) -> FeatureMap:
        record = self._latest_credit_record()
        score, score_change = self._bureau_score_pair()
        utilisation = None if record is None else record.effective_utilisation
        return {
            "utilisation": None if utilisation is None else float(utilisation),
            "delinquencies_30": None if record is None else record.delinquencies_30,
            "delinquencies_60": None if record is None else record.delinquencies_60,
            "delinquencies_90": None if record is None else record.delinquencies_90,
            "missed_payments": None if record is None else record.missed_payments,
            "defaults": None if record is None else record.defaults,
            "recent_inquiries": None if record is None else record.recent_inquiries,
            "outstanding_debt": None if record is None else float(record.outstanding_debt),
            "credit_limit": None if record is None else float(record.credit_limit),
            "bureau_score": score,
            "bureau_score_change": score_change,
        }

    def _financial_features(self) -> FeatureMap:
        if not self.financial_profiles:
            return dict.fromkeys(_FINANCIAL_FEATURE_NAMES)
        latest = self.financial_profiles[0]
        previous = self.financial_profiles[1] if len(self.financial_profiles) > 1 else None
        debt_to_income = latest.debt_to_income
        return {
            "debt_to_income": None if debt_to_income is None else float(debt_to_income),
            "annual_income": float(latest.annual_income),
            "income_change_pct": (
                None
                if previous is None
                else _pct_change(latest.annual_income, previous.annual_income)
            ),
            "total_assets": float(latest.total_assets),
            "total_liabilities": float(latest.total_liabilities),
            "liabilities_change_pct": (
                None
                if previous is None
                else _pct_change(latest.total_liabilities, previous.total_liabilities)
            ),
            "net_worth": float(latest.net_worth),
        }

    # -- persistence --------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        credit_records, financial_profiles = self._records_to_state()
        return {
            "version": STATE_VERSION,
            "customer_id": self.customer_id,
            "base_currency": self.base_currency,
            "windows": {name: window.to_state() for name, window in self.windows.items()},
            "amount_stats": self.amount_stats.to_state(),
            "hour_histogram": list(self.hour_histogram),
            "counterparties": self.counterparties.to_state(),
            "countries": self.countries.to_state(),
            "devices": self.devices.to_state(),
            "accounts": self.accounts.to_state(),
            "last_txn_epoch": self.last_txn_epoch,
            "first_txn_epoch": self.first_txn_epoch,
            "recent_ids": list(self.recent_ids),
            "interactions": self.interactions.to_state(),
            "complaints": self.complaints.to_state(),
            "inflows": self.inflows.to_state(),
            "returned": self.returned.to_state(),
            "last_interaction_epoch": self.last_interaction_epoch,
            "credit_records": credit_records,
            "financial_profiles": financial_profiles,
        }

    def _records_to_state(self) -> tuple[dict[str, Any], list[Any]]:
        if self._records_state is None:
            self._records_state = (
                {
                    source: [record.to_state() for record in records]
                    for source, records in self.credit_records.items()
                },
                [profile.to_state() for profile in self.financial_profiles],
            )
        return self._records_state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CustomerState:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported customer state version {state.get('version')!r}")
        customer = cls(state["customer_id"])
        customer.base_currency = state["base_currency"]
        # The shorter windows' own entries hold their stored window's newest buckets.
        stored = {
            name: SlidingWindow.from_state(state["windows"][name], spans)
            for name, (_, _, spans) in _STORED_WINDOWS.items()
        }
        customer._stored_windows = list(stored.values())
        customer.windows = _windows(stored)
        customer.amount_stats = RunningStats.from_state(state["amount_stats"])
        customer.hour_histogram = list(state["hour_histogram"])
        customer.counterparties = LastSeenMap.from_state(state["counterparties"])
        customer.countries = LastSeenMap.from_state(state["countries"])
        customer.devices = LastSeenMap.from_state(state["devices"])
        customer.accounts = LastSeenMap.from_state(state["accounts"])
        customer.last_txn_epoch = state["last_txn_epoch"]
        # States written before it was kept: the oldest counterparty still remembered, a
        # lower bound of the history's span (a guard then waits a little longer, never less).
        customer.first_txn_epoch = state.get("first_txn_epoch", customer.counterparties.oldest())
        customer.recent_ids = deque(state["recent_ids"], maxlen=RECENT_IDS_KEPT)
        customer._recent_id_set = set(customer.recent_ids)
        customer.interactions = SlidingWindow.from_state(state["interactions"])
        customer.complaints = SlidingWindow.from_state(state["complaints"])
        # States written before they were kept start them empty.
        if "inflows" in state:
            customer.inflows = SlidingWindow.from_state(state["inflows"], (30,))
        if "returned" in state:
            customer.returned = SlidingWindow.from_state(state["returned"])
        customer.last_interaction_epoch = state["last_interaction_epoch"]
        customer.credit_records = {
            source: [CreditRecord.from_state(record) for record in records]
            for source, records in state["credit_records"].items()
        }
        customer.financial_profiles = [
            FinancialProfile.from_state(profile) for profile in state["financial_profiles"]
        ]
        return customer
