"""What a compiled rule reads when it is evaluated."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from riskwatch_alerting.rules.aggregates import AggregateSpec


@dataclass(frozen=True, slots=True)
class RuleContext:
    """The values of one evaluation: one mapping per namespace, managed lists, aggregates.

    A key that is absent (or holds None, or a value of the wrong type) is a missing value.
    """

    txn: Mapping[str, object] = field(default_factory=dict)
    customer: Mapping[str, object] = field(default_factory=dict)
    risk: Mapping[str, object] = field(default_factory=dict)
    score: Mapping[str, object] = field(default_factory=dict)
    event: Mapping[str, object] = field(default_factory=dict)
    lists: Mapping[str, frozenset[str]] = field(default_factory=dict)
    aggregates: Mapping[AggregateSpec, object] = field(default_factory=dict)
