"""Settings of the gateway (environment prefix `GATEWAY_`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from riskwatch_gateway.clientip import Network, parse_networks
from riskwatch_shared.security import (
    DEV_IDENTITY_KEY,
    DEV_USER_TOKEN_KEY,
    InvalidKey,
    PublicKeySet,
    SigningKey,
    is_dev_key,
    load_signing_keys,
)
from riskwatch_shared.settings import ServiceSettings

IDENTITY_SIGNING_KEY_VAR = "RISKWATCH_IDENTITY_SIGNING_KEY"
JWT_SIGNING_KEYS_VAR = "GATEWAY_JWT_SIGNING_KEYS"

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

    # The private key (one JWK, Ed25519) the identity forwarded to the services is signed
    # with; the services hold its public key (RISKWATCH_IDENTITY_PUBLIC_KEYS).
    identity_signing_key: str | None = Field(
        default=None, validation_alias=AliasChoices(IDENTITY_SIGNING_KEY_VAR)
    )
    # Sign-in: our own EdDSA tokens. A JWK set of private Ed25519 keys: the first signs, every
    # one verifies (two while rotating); the public halves are served at /v1/auth/jwks.
    jwt_signing_keys: str | None = Field(
        default=None, validation_alias=AliasChoices(JWT_SIGNING_KEYS_VAR)
    )
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
    # Sign-in through the institution's SSO (the console's "Sign in with SSO"): the gateway
    # exchanges an id_token issued by `oidc_issuer` to this client id (its audience) for a
    # RiskWatch token of the user it names. Off until both are set; no defaults. The keys come
    # from the issuer's discovery document (or `oidc_jwks_url`), fetched through netguard.
    oidc_client_id: str | None = None
    # The id_token claim naming the user, matched against the users' `email` (the IdP must
    # not say `email_verified: false`) or their `staff_id`. The user must exist and be enabled.
    oidc_user_claim: str = "email"
    oidc_user_field: Literal["email", "staff_id"] = "email"
    # An id_token older than this (its `iat`) is not exchanged.
    oidc_max_age_seconds: int = Field(default=600, ge=30)
    # A CA bundle (PEM) the IdP's certificate is checked against, for a bank's internal CA.
    oidc_ca_file: str | None = None
    # Refresh tokens: a sign-in lasts at most this long however active the person is; each
    # refresh token is used once (a used one presented again ends its whole sign-in, unless it
    # comes within the grace: a browser's parallel requests refreshing at the same moment).
    refresh_token_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    refresh_reuse_grace_seconds: float = Field(default=30.0, ge=0)

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
    # Wrong passwords are answered with an exponential back-off (429 + Retry-After) instead of
    # a lock: per account from one client (after `sign_in_free_failures`), per client (4x as
    # many: offices share an address) and per account from anywhere (10x as many, and never
    # more than `sign_in_account_max_seconds`, so nobody can keep the real user out).
    sign_in_free_failures: int = Field(default=5, ge=1)
    sign_in_backoff_base_seconds: float = Field(default=1.0, gt=0)
    sign_in_backoff_max_seconds: float = Field(default=900.0, gt=0)
    sign_in_account_max_seconds: float = Field(default=60.0, gt=0)
    # X-Forwarded-For is believed only from these peers (the ingress): comma-separated CIDRs.
    trusted_proxies: str = ""
    # /metrics, /docs and /openapi.json outside dev mode: only with `Authorization: Bearer
    # <ops token>` (Prometheus' bearer token) — or, for the docs, a signed-in caller.
    ops_token: str | None = None
    # /docs, /redoc and /openapi.json open to anyone (never /metrics): what a developer's
    # `riskwatch run` on their own machine sets so a browser can open the docs; off in the
    # manifests. The documents describe the API, they hold no data.
    public_docs: bool = False
    # Bearer tokens already verified are remembered (until they expire) up to this many.
    token_cache_size: int = 10_000

    cors_origins: list[str] = Field(default_factory=list)

    audit_flush_interval_seconds: float = 0.5
    audit_batch_size: int = 500
    audit_queue_size: int = 10_000

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        parse_networks(value.split(","))
        return value

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies.split(","))

    def identity_signer(self) -> SigningKey:
        """The key identities are signed with (the development key only in dev mode)."""
        if not self.identity_signing_key and self.dev_mode:
            return DEV_IDENTITY_KEY
        keys = load_signing_keys(self.identity_signing_key or "", IDENTITY_SIGNING_KEY_VAR)
        if len(keys) != 1:
            raise InvalidKey(f"{IDENTITY_SIGNING_KEY_VAR} must hold exactly one key")
        return keys[0]

    def user_token_keys(self) -> tuple[SigningKey, ...]:
        """The user-token keys: the first signs, all verify."""
        if not self.jwt_signing_keys and self.dev_mode:
            return (DEV_USER_TOKEN_KEY,)
        return load_signing_keys(self.jwt_signing_keys or "", JWT_SIGNING_KEYS_VAR)

    def user_token_public_keys(self) -> PublicKeySet:
        return PublicKeySet.of(self.user_token_keys())

    def secret_problems(self) -> list[str]:
        """The gateway signs (identities, user tokens); it verifies no identity itself."""
        problems: list[str] = []
        for variable, raw, single in (
            (IDENTITY_SIGNING_KEY_VAR, self.identity_signing_key, True),
            (JWT_SIGNING_KEYS_VAR, self.jwt_signing_keys, False),
        ):
            if not raw:
                problems.append(f"{variable} is not set")
                continue
            try:
                keys = load_signing_keys(raw, variable)
            except InvalidKey as exc:
                problems.append(str(exc))
                continue
            if single and len(keys) != 1:
                problems.append(f"{variable} must hold exactly one key")
            elif any(is_dev_key(key.public_key) for key in keys):
                problems.append(f"{variable} holds the publicly known development key")
        if self.ops_token is not None and len(self.ops_token) < 32:
            problems.append("GATEWAY_OPS_TOKEN is shorter than 32 characters")
        return problems

    @property
    def oidc_sign_in_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

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
