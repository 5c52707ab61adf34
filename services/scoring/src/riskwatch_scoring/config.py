"""Settings of the scoring service (environment prefix `SCORING_`)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore")

    service_name: str = "scoring"
    port: int = 8002
    consumer_durable: str = "scoring-customer-events"
    consumer_batch_size: int = 1_000
    # One consumer batch of 1,000 stages ~1,070 events (a transaction_scored each, plus the
    # assessments and level changes): relay them in one round, not a full one and a remainder
    # (each round is a transaction with its own commit flush, and a NATS publish batch).
    outbox_batch_size: int = 2_000
    consumer_fetch_timeout: float = 1.0
    # Batches in flight at once: the next is fetched, parsed and scored while PostgreSQL
    # writes the previous one's states and commits (a customer's events still go one batch
    # after another). 1 handles one batch at a time.
    consumer_pipeline_depth: int = Field(default=2, ge=1, le=4)
    # Transactions re-assess credit and churn at most once per this much event time (a day):
    # their inputs are 30/90-day trends; record changes always re-assess at once.
    reassess_after_seconds: int = 86_400
    # How long a replica trusts its cached champion/challenger models before re-reading them.
    model_refresh_seconds: float = 5.0
    # Maker-checker: the author of a model change may approve it themselves. A one-person
    # development install only; warned at every start (docs/governance.md).
    allow_self_approval: bool = False
    # Level cut-offs per model kind: {"credit": {"medium": .05, "high": .15, "critical": .35}}.
    level_cutoffs: dict[str, dict[str, float]] = {}
    # Units of each currency per 1 USD: converts a transaction into the customer's base currency.
    fx_rates_per_usd: dict[str, Decimal] = {
        "USD": Decimal("1"),
        "EUR": Decimal("0.92"),
        "GBP": Decimal("0.79"),
        "CHF": Decimal("0.88"),
        "JPY": Decimal("150"),
        "PLN": Decimal("3.95"),
        "CZK": Decimal("23"),
    }
    drift_check_seconds: float = 3600.0
    drift_window_days: int = 7
    drift_min_scores: int = 100
    drift_baseline_size: int = 1000
    state_cache_size: int = 50_000
    # Customers a day of event time behind the stream (the newest event time seen) are
    # re-assessed as of the stream's time: recency features age, in a replay as live.
    idle_reassess_after_seconds: int = 86_400
    idle_reassess_check_seconds: float = 3_600.0
    idle_reassess_batch_size: int = 500


@lru_cache
def get_settings() -> Settings:
    return Settings()
