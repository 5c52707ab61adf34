"""Which service answers which public path (pure)."""

from __future__ import annotations

import re

# First match wins: the more specific patterns come before the broad prefixes.
ROUTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), service)
    for pattern, service in (
        # Each service's own dead letters (riskwatch_shared.app.dead_letter_router).
        (r"^/v1/dead-letters/customer(/.*)?$", "customer"),
        (r"^/v1/dead-letters/scoring(/.*)?$", "scoring"),
        (r"^/v1/dead-letters/alerting(/.*)?$", "alerting"),
        (r"^/v1/dead-letters/notify(/.*)?$", "notify"),
        # Each service's own section of the configuration bundle.
        (r"^/v1/config/alerting(/.*)?$", "alerting"),
        (r"^/v1/config/notify(/.*)?$", "notify"),
        (r"^/v1/config/scoring(/.*)?$", "scoring"),
        (r"^/v1/customers/[^/]+/(features|risk)(/.*)?$", "scoring"),
        (r"^/v1/customers/risk-distribution$", "scoring"),
        (r"^/v1/alerts/[^/]+/notifications(/.*)?$", "notify"),
        (r"^/v1/(customers|transactions)(/.*)?$", "customer"),
        (r"^/v1/(scores|models|model-proposals|labels)(/.*)?$", "scoring"),
        # Detection health's operational alerts (issue 23).
        (r"^/v1/operational-alerts(/.*)?$", "alerting"),
        (
            r"^/v1/(rules|rule-templates|rule-fields|rule-proposals|backtests|backtest-jobs|lists|list-proposals|alerts|cases|desk|watchlist|warnings)(/.*)?$",
            "alerting",
        ),
        (
            r"^/v1/(inbox|recipients|teams|subscriptions|notifications|deliveries|"
            r"escalation-policies|escalation-policy-proposals)(/.*)?$",
            "notify",
        ),
    )
)


def service_for_path(path: str) -> str | None:
    for pattern, service in ROUTES:
        if pattern.match(path):
            return service
    return None
