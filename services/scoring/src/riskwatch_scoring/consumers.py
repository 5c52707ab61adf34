"""Event handlers of the scoring service."""

from __future__ import annotations

from collections.abc import Sequence

from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.messaging.consumer import ConsumerSpec


def consumer_specs(runtime: ServiceRuntime) -> Sequence[ConsumerSpec]:
    return []
