"""Settings of the gateway (environment prefix `GATEWAY_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = 8000
    customer_url: str = "http://127.0.0.1:8001"
    scoring_url: str = "http://127.0.0.1:8002"
    alerting_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    upstream_timeout_seconds: float = 30.0
    max_body_bytes: int = 20 * 1024 * 1024

    def upstreams(self) -> dict[str, str]:
        return {
            "customer": self.customer_url,
            "scoring": self.scoring_url,
            "alerting": self.alerting_url,
            "notify": self.notify_url,
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()
