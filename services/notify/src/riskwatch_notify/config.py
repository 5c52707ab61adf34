"""Settings of the notify service (environment prefix `NOTIFY_`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from riskwatch_shared.netguard import DestinationRefused, OutboundPolicy, check_url
from riskwatch_shared.settings import ServiceSettings

SmsProviderKind = Literal["none", "generic", "twilio"]
SmtpSecurityKind = Literal["none", "starttls", "tls"]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    port: int = 8004
    # Maker-checker: the author of an escalation policy change may approve it themselves. A
    # one-person development install only; warned at every start (docs/governance.md).
    allow_self_approval: bool = False

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
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Persistent SMTP sessions per relay and process (0: a new session for every message).
    smtp_pool_size: int = Field(default=8, ge=0, le=256)

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
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    webhook_signing_secret: str = "riskwatch-dev-webhook-secret-change-me"

    # Failover: consecutive transient failures before the secondary takes over, and for how long.
    failover_threshold: int = Field(default=3, ge=1, le=1000)
    failover_cooldown_seconds: float = Field(default=60.0, gt=0, le=86_400)

    # Retries: exponential backoff with full jitter (bounded: a day between tries at most,
    # a hundred tries).
    retry_base_seconds: float = Field(default=2.0, gt=0, le=3600)
    retry_cap_seconds: float = Field(default=600.0, gt=0, le=86_400)
    retry_max_attempts: int = Field(default=8, ge=1, le=100)

    # Delivery worker.
    delivery_concurrency: int = Field(default=64, ge=1, le=10_000)  # sends in flight per process
    delivery_batch_size: int = Field(default=32, ge=1, le=10_000)  # deliveries one claim takes
    delivery_lanes: int = Field(default=4, ge=1, le=64)  # claim-send-record loops per process
    delivery_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    delivery_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # Per provider, per process (each replica has its own buckets).
    provider_rate_per_second: float = Field(default=200.0, gt=0)
    provider_rate_burst: float = Field(default=400.0, ge=1)

    # Escalations and digest windows are checked this often.
    escalation_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    # A burst for one recipient and channel after the first alert is held this long, then
    # sent as one digest. 0 turns digests off (at most a day).
    digest_window_seconds: int = Field(default=300, ge=0, le=86_400)

    alert_url_base: str = "https://riskwatch.bank.example/alerts"
    inbox_url: str = "https://riskwatch.bank.example/inbox"
    sse_heartbeat_seconds: float = 15.0
    alert_consumer_durable: str = "notify-alert-events"

    @model_validator(mode="after")
    def _starttls_shorthand(self) -> Settings:
        if self.smtp_starttls is not None:
            self.smtp_security = "starttls" if self.smtp_starttls else "none"
        return self

    @model_validator(mode="after")
    def _bounded_retries(self) -> Settings:
        if self.retry_cap_seconds < self.retry_base_seconds:
            raise ValueError("NOTIFY_RETRY_CAP_SECONDS must be at least NOTIFY_RETRY_BASE_SECONDS")
        return self

    @model_validator(mode="after")
    def _provider_urls_allowed(self) -> Settings:
        """SMS provider URLs are outbound destinations: refused at start-up when the guard
        would refuse them (each request is checked again when it connects)."""
        policy = self.outbound_policy()
        for name, url in (("NOTIFY_SMS_URL", self.sms_url), ("NOTIFY_SMS2_URL", self.sms2_url)):
            if url:
                try:
                    check_url(url, policy)
                except DestinationRefused as exc:
                    raise ValueError(f"{name}: {exc.reason}") from None
        return self

    def outbound_policy(self) -> OutboundPolicy:
        """Read on each use: what webhook and SMS requests may connect to."""
        return OutboundPolicy.from_settings(self)


@lru_cache
def get_settings() -> Settings:
    return Settings()
