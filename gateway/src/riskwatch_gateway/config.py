"""Settings of the gateway (environment prefix `GATEWAY_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from riskwatch_shared.settings import ServiceSettings

DEFAULT_JWT_SECRET = "riskwatch-dev-gateway-jwt-secret-change-me"

# Requests per minute per principal when neither the key nor the user says otherwise.
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "admin": 6_000,
    "risk_manager": 6_000,
    "analyst": 6_000,
    "relationship_manager": 3_000,
    "viewer": 3_000,
    # Core banking pushes every payment through one key.
    "ingest": 600_000,
}


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = 8000
    customer_url: str = "http://127.0.0.1:8001"
    scoring_url: str = "http://127.0.0.1:8002"
    alerting_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    upstream_timeout_seconds: float = 30.0
    upstream_max_connections: int = 512
    max_body_bytes: int = 20 * 1024 * 1024
    # The merged OpenAPI document is rebuilt from the services' documents this often.
    openapi_ttl_seconds: float = 30.0
    # Migrations run before the gateway starts (`riskwatch run`, the compose and k8s jobs), as
    # for every service; a standalone gateway (a benchmark...) can upgrade itself on start.
    auto_migrate: bool = False

    # Sign-in: our own HS256 tokens.
    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_ttl_seconds: int = 15 * 60
    jwt_issuer: str = "riskwatch-gateway-auth"
    jwt_audience: str = "riskwatch-api"
    # Or the institution's OpenID Connect provider (RS256/ES256 tokens, keys from its JWKS).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "roles"
    oidc_staff_id_claim: str = "staff_id"
    oidc_jwks_ttl_seconds: float = 300.0

    # First start: the admin account.
    admin_email: str = Field(
        default="admin@riskwatch.local", validation_alias=AliasChoices("RISKWATCH_ADMIN_EMAIL")
    )
    admin_password: str | None = Field(
        default=None, validation_alias=AliasChoices("RISKWATCH_ADMIN_PASSWORD")
    )

    # API keys: verified keys are cached this long, so a revocation reaches other replicas
    # within this many seconds (the replica that revokes forgets the key at once).
    api_key_cache_seconds: float = 5.0
    api_key_rotation_grace_seconds: int = 3600

    # Token buckets per principal, in memory per process (N replicas → N x the limit).
    rate_limits_per_minute: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS)
    )
    rate_limit_burst_seconds: float = 10.0
    sign_in_attempts_per_minute: int = 20
    # Bearer tokens already verified are remembered (until they expire) up to this many.
    token_cache_size: int = 10_000

    cors_origins: list[str] = Field(default_factory=list)

    audit_flush_interval_seconds: float = 0.5
    audit_batch_size: int = 500
    audit_queue_size: int = 10_000

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
