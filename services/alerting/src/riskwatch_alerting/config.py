"""Settings of the alerting service (environment prefix `ALERTING_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from riskwatch_alerting.domain.health import SpikeThresholds
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
    # `GET /v1/rules/health` answers from a copy this young (its `as_of` says when): every
    # rule's 28-day numbers scan a month of evaluation history (about a second at 1M events).
    health_cache_seconds: float = 60.0
    # A spike: at least this many alerts in 24 hours and at least `factor` times the rule's
    # baseline (docs/detection-health.md).
    health_spike_factor: float = Field(default=5.0, ge=1.5, le=1_000.0)
    health_spike_min_volume: int = Field(default=10, ge=1, le=1_000_000)

    @property
    def spike_thresholds(self) -> SpikeThresholds:
        return SpikeThresholds(
            factor=self.health_spike_factor, min_volume=self.health_spike_min_volume
        )

    # Backtest jobs (POST /v1/backtest-jobs): each replica runs up to `backtest_workers` at a
    # time, each in a process of its own at a lower CPU priority (`backtest_nice`), so a
    # replay never shares the live consumer's event loop. `backtest_cpu_share` further bounds
    # a replay to that share of one core (it pauses between history pages), which also
    # paces its reads of PostgreSQL. 0 workers: this replica runs none (others still may).
    backtest_workers: int = Field(default=1, ge=0, le=8)
    backtest_nice: int = Field(default=19, ge=0, le=19)
    backtest_cpu_share: float = Field(default=0.25, gt=0.0, le=1.0)
    # Caps: jobs queued or running at once in the whole install and per user, and how long
    # one may run before it is stopped as timed out.
    backtest_max_jobs: int = Field(default=4, ge=1, le=100)
    backtest_max_jobs_per_user: int = Field(default=2, ge=1, le=100)
    backtest_timeout_seconds: float = Field(default=1_800.0, gt=0.0, le=86_400.0)
    # A running job's runner renews its lease while it works; a job whose lease ran out
    # (its replica crashed) is claimed again by any replica, up to `backtest_max_attempts`.
    backtest_lease_seconds: float = Field(default=60.0, gt=0.0, le=3_600.0)
    backtest_max_attempts: int = Field(default=2, ge=1, le=10)
    # How often an idle runner looks for queued jobs (a job submitted to this replica wakes
    # it at once) and how often a progress stream reads its job.
    backtest_poll_seconds: float = Field(default=2.0, gt=0.0, le=60.0)
    backtest_progress_seconds: float = Field(default=0.5, gt=0.0, le=60.0)
    # History rows a replay reads per keyset page (one short read transaction each).
    backtest_page_size: int = Field(default=5_000, ge=10, le=50_000)


@lru_cache
def get_settings() -> Settings:
    return Settings()
