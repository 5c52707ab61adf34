"""Settings of the notify service (environment prefix `NOTIFY_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    port: int = 8004


@lru_cache
def get_settings() -> Settings:
    return Settings()
