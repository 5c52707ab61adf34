"""Settings of the alerting service (environment prefix `ALERTING_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ALERTING_", extra="ignore")

    service_name: str = "alerting"
    port: int = 8003
    # Durable consumer names are `<consumer_prefix>-scoring` and `<consumer_prefix>-customer`.
    consumer_prefix: str = "alerting"
    # Base URL of the web UI, for the link in alert_raised.v1 (none when unset).
    public_url: str | None = None
    # Case grouping per rule type: `grouped` (the customer's open case) or `separate`; types
    # not named keep `cases.domain.DEFAULT_POLICY` (JSON in ALERTING_CASE_POLICY).
    case_policy: dict[str, str] = {}
    # A live alert stream sends a comment this often when nothing changed (proxies keep it).
    sse_heartbeat_seconds: float = 15.0
    # A live stream ends after this long and the browser reconnects (EventSource does, with
    # Last-Event-ID): each reconnect re-checks the caller, so a disabled user's desk goes dark.
    sse_max_seconds: float = 900.0
    # Credit early warning: segment baselines are recomputed from the portfolio when older
    # than this; a RED puts a customer without a relationship manager on the watch list
    # owned by this team.
    warning_baseline_seconds: float = 600.0
    warning_owner: str = "risk-department"
    # Maker-checker: the author of a rule change may approve it themselves. Only for a
    # one-person development install: a warning is logged at start and every proposal says so.
    allow_self_approval: bool = False
    # How often the watch list's reviews that came due are looked for (and announced).
    watchlist_review_check_seconds: float = 300.0
    # Detection health: how often every active rule's volume is checked against its baseline
    # (and the health gauges refreshed); a spike raises an operational alert to its owners.
    health_check_seconds: float = 900.0


@lru_cache
def get_settings() -> Settings:
    return Settings()
