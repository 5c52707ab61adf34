"""Settings of the notify service (environment prefix `NOTIFY_`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings

SmsProviderKind = Literal["none", "generic", "twilio"]
SmtpSecurityKind = Literal["none", "starttls", "tls"]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    port: int = 8004

    # Email: primary SMTP relay, optional secondary that takes over when it keeps failing.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "riskwatch@bank.example"
    smtp_security: SmtpSecurityKind = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp2_host: str | None = None
    smtp2_port: int = 25
    smtp2_security: SmtpSecurityKind = "starttls"
    smtp2_username: str | None = None
    smtp2_password: str | None = None
    # Deployment shorthand (the k8s overlays set NOTIFY_SMTP_STARTTLS): true -> starttls,
    # false -> none, for the primary relay; unset leaves `smtp_security` as it is.
    smtp_starttls: bool | None = None
    smtp_timeout_seconds: float = 10.0
    # Persistent SMTP sessions per relay and process (0: a new session for every message).
    smtp_pool_size: int = 8

    # SMS: `generic` posts JSON to `sms_url` with a bearer token; `twilio` uses the Twilio API.
    sms_provider: SmsProviderKind = "none"
    sms_url: str | None = None
    sms_token: str | None = None
    sms_account_sid: str | None = None
    sms_auth_token: str | None = None
    sms_sender: str = "RiskWatch"
    sms2_provider: SmsProviderKind = "none"
    sms2_url: str | None = None
    sms2_token: str | None = None
    sms2_account_sid: str | None = None
    sms2_auth_token: str | None = None
    http_timeout_seconds: float = 10.0

    webhook_signing_secret: str = "riskwatch-dev-webhook-secret-change-me"

    # Failover: consecutive transient failures before the secondary takes over, and for how long.
    failover_threshold: int = 3
    failover_cooldown_seconds: float = 60.0

    # Retries: exponential backoff with full jitter.
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 600.0
    retry_max_attempts: int = 8

    # Delivery worker.
    delivery_concurrency: int = 64  # sends in flight per process
    delivery_batch_size: int = 32  # deliveries one claim takes
    delivery_lanes: int = 4  # claim-send-record loops per process
    delivery_poll_seconds: float = 0.5
    delivery_lease_seconds: float = 60.0
    # Per provider, per process (each replica has its own buckets).
    provider_rate_per_second: float = 200.0
    provider_rate_burst: float = 400.0

    # Escalations and digest windows are checked this often.
    escalation_interval_seconds: float = 1.0
    # A burst for one recipient and channel after the first alert is held this long, then
    # sent as one digest. 0 turns digests off.
    digest_window_seconds: int = 300

    alert_url_base: str = "https://riskwatch.bank.example/alerts"
    inbox_url: str = "https://riskwatch.bank.example/inbox"
    sse_heartbeat_seconds: float = 15.0
    alert_consumer_durable: str = "notify-alert-events"

    @model_validator(mode="after")
    def _starttls_shorthand(self) -> Settings:
        if self.smtp_starttls is not None:
            self.smtp_security = "starttls" if self.smtp_starttls else "none"
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
