"""Settings of the scoring service (environment prefix `SCORING_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore")

    service_name: str = "scoring"
    port: int = 8002


@lru_cache
def get_settings() -> Settings:
    return Settings()
