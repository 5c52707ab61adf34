"""Settings of the customer service (environment prefix `CUSTOMER_`)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTOMER_", extra="ignore")

    service_name: str = "customer"
    port: int = 8001
    # A transaction above this amount (in any currency) is taken for a unit error.
    max_transaction_amount: Decimal = Decimal(10) ** 12
    # How far in the future `occurred_at` may be: core systems' clocks drift.
    max_future_skew_seconds: int = 300
    batch_max_items: int = 5000
    import_max_rows: int = 10_000
    recent_items_in_360: int = 20


@lru_cache
def get_settings() -> Settings:
    return Settings()
