"""Settings of the customer service (environment prefix `CUSTOMER_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTOMER_", extra="ignore")

    service_name: str = "customer"
    port: int = 8001


@lru_cache
def get_settings() -> Settings:
    return Settings()
