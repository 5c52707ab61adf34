"""The identity of one sliding-window aggregate a rule reads."""

import dataclasses
from dataclasses import dataclass

from riskwatch_alerting.rules.syntax import window_label


@dataclass(frozen=True, slots=True)
class AggregateSpec:
    """`sum(txn.amount, within="1h", by="account")` as a hashable key.

    The service maintains one sliding window per (spec, group key) and passes the current
    values into `RuleContext.aggregates`, keyed by the spec. `field` is a txn field name
    (None for count); `where` is the canonical text of the filter predicate, if any.
    """

    func: str
    field: str | None
    window_seconds: int
    by: str = "customer"
    where: str | None = None
    # Specs are dict keys on the hot path (one lookup per aggregate per evaluation): hash once.
    _hash: int = dataclasses.field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.func, self.field, self.window_seconds, self.by, self.where)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if other.__class__ is not AggregateSpec:
            return NotImplemented
        assert isinstance(other, AggregateSpec)
        return self._hash == other._hash and (
            self.func,
            self.field,
            self.window_seconds,
            self.by,
            self.where,
        ) == (other.func, other.field, other.window_seconds, other.by, other.where)

    @property
    def label(self) -> str:
        argument = "txn" if self.field is None else f"txn.{self.field}"
        within = window_label(self.window_seconds)
        text = f'{self.func}({argument}, within="{within}", by="{self.by}"'
        return text + (f", where={self.where})" if self.where is not None else ")")
