"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

import sys
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from riskwatch_shared.security import (
    DEV_IDENTITY_KEY,
    InvalidKey,
    PublicKeySet,
    is_dev_key,
    load_public_keys,
)

# How long a consumer fetch whose batch is not full at once waits for more (ConsumerSpec.
# batch_linger). Measured with `bench/outbox_pipeline_bench.py --linger-sweep` (see
# bench/results/consumer_linger.md): under a steady load batches come 2-4x fuller, consumer CPU
# per event drops by a third to a half, for at most this much more latency per consumer stage.
DEFAULT_BATCH_LINGER = 0.02
# 31 days: the streams' 30-day max_age plus a day (riskwatch_shared.messaging.inbox).
DEFAULT_INBOX_RETENTION = 31 * 86_400.0
DEFAULT_PRUNE_INTERVAL = 600.0
IDENTITY_PUBLIC_KEYS_VAR = "RISKWATCH_IDENTITY_PUBLIC_KEYS"
_DEV_IDENTITY_KEYS = PublicKeySet.of([DEV_IDENTITY_KEY])
_NO_KEYS = PublicKeySet({})


class ServiceSettings(BaseSettings):
    """Common settings. A subclass sets `service_name` and `model_config` with its env prefix.

    `DATABASE_URL` names a PostgreSQL *server*; each service uses its own database on it
    (`riskwatch_<service>`) unless `<PREFIX>DATABASE_URL` gives a full URL.
    """

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "riskwatch"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    server_database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        validation_alias=AliasChoices("DATABASE_URL"),
    )
    nats_url: str = Field(
        default="nats://127.0.0.1:4222", validation_alias=AliasChoices("NATS_URL")
    )
    # This service's own NATS user (deploy/nats/nats.conf gives each one only its subjects);
    # put into every NATS_URL that names no user. Unset: NATS without auth (the embedded one).
    nats_user: str | None = Field(default=None, validation_alias=AliasChoices("NATS_USER"))
    nats_password: str | None = Field(default=None, validation_alias=AliasChoices("NATS_PASSWORD"))
    stream_replicas: int = Field(
        default=1, validation_alias=AliasChoices("RISKWATCH_STREAM_REPLICAS")
    )
    # The public key(s) of the gateway's identity signing key, as a JWK set (two while the
    # key is rotated). Services verify with them; they never hold the private key.
    identity_public_keys: str | None = Field(
        default=None, validation_alias=AliasChoices(IDENTITY_PUBLIC_KEYS_VAR)
    )
    # An explicit development mode: the only place where a missing secret may be generated, an
    # outbound URL may be plain http or point at this machine. Never set in production.
    dev_mode: bool = Field(default=False, validation_alias=AliasChoices("RISKWATCH_DEV_MODE"))
    # Outbound URLs (webhooks, SMS providers, OIDC/JWKS; riskwatch_shared.netguard): when set,
    # only these domains (and their subdomains), comma-separated; and private networks (CIDRs,
    # comma-separated) deliberately reachable, e.g. an internal receiver. Metadata never.
    outbound_allowed_domains: str = Field(
        default="", validation_alias=AliasChoices("RISKWATCH_OUTBOUND_ALLOWED_DOMAINS")
    )
    outbound_allowed_networks: str = Field(
        default="", validation_alias=AliasChoices("RISKWATCH_OUTBOUND_ALLOWED_NETWORKS")
    )
    require_internal_identity: bool = Field(
        default=True, validation_alias=AliasChoices("RISKWATCH_REQUIRE_INTERNAL_IDENTITY")
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("RISKWATCH_LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=AliasChoices("RISKWATCH_LOG_JSON"))
    # OpenTelemetry spans exported over OTLP/HTTP here (`.../v1/traces` appended if missing);
    # unset (the default), no span is made. W3C trace context is carried either way.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
    )
    db_pool_size: int = 10
    consumer_batch_size: int = 500
    # Seconds a consumer fetch whose batch is not full at once waits for more (see
    # ConsumerSpec.batch_linger); `<PREFIX>CONSUMER_BATCH_LINGER`, 0 turns it off.
    consumer_batch_linger: float = Field(default=DEFAULT_BATCH_LINGER, ge=0, le=1.0)
    outbox_batch_size: int = 500
    # How long a handled event's inbox row is kept (it is what makes a redelivery or a replay a
    # no-op: keep it at least as long as the streams keep messages), and how often rows past
    # that are deleted. `<PREFIX>INBOX_RETENTION_SECONDS`, `<PREFIX>INBOX_PRUNE_INTERVAL_SECONDS`.
    inbox_retention_seconds: float = Field(default=DEFAULT_INBOX_RETENTION, ge=3600)
    inbox_prune_interval_seconds: float = Field(default=DEFAULT_PRUNE_INTERVAL, gt=0)

    @model_validator(mode="after")
    def _nats_credentials(self) -> ServiceSettings:
        if self.nats_user:
            self.nats_url = with_credentials(self.nats_url, self.nats_user, self.nats_password)
        return self

    def identity_keys(self) -> PublicKeySet:
        """The keys a gateway identity is verified with. Unusable or missing keys verify
        nothing (start-up refuses them, see `secret_problems`); in dev mode a missing setting
        means the publicly known development key."""
        if not self.identity_public_keys:
            return _DEV_IDENTITY_KEYS if self.dev_mode else _NO_KEYS
        try:
            return load_public_keys(self.identity_public_keys, IDENTITY_PUBLIC_KEYS_VAR)
        except InvalidKey:
            return _NO_KEYS

    def secret_problems(self) -> list[str]:
        """What makes this configuration unsafe outside dev mode (each names its variable)."""
        return public_keys_problems(IDENTITY_PUBLIC_KEYS_VAR, self.identity_public_keys)

    @property
    def database_name(self) -> str:
        return f"riskwatch_{self.service_name}"

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL of this service's own database."""
        raw = self.database_url or str(
            make_url(self.server_database_url).set(database=self.database_name)
        )
        return to_async_url(raw)


def to_async_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def to_asyncpg_dsn(url: str) -> str:
    """A plain libpq-style DSN for asyncpg.connect (no SQLAlchemy driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def with_credentials(urls: str, user: str, password: str | None) -> str:
    """Each of the comma-separated NATS URLs with `user:password@`, unless it names a user.
    Taken as is (the NATS client does not percent-decode): use URL-safe passwords."""
    userinfo = user + (f":{password}" if password else "")
    out: list[str] = []
    for url in (u.strip() for u in urls.split(",") if u.strip()):
        parts = urlsplit(url)
        if "@" not in parts.netloc:
            parts = parts._replace(netloc=f"{userinfo}@{parts.netloc}")
        out.append(urlunsplit(parts))
    return ",".join(out)


def public_keys_problems(variable: str, raw: str | None) -> list[str]:
    if not raw:
        return [f"{variable} is not set"]
    try:
        keys = load_public_keys(raw, variable)
    except InvalidKey as exc:
        return [str(exc)]
    if not keys:
        return [f"{variable} holds no key"]
    if any(is_dev_key(key) for key in keys.keys.values()):
        return [f"{variable} holds the publicly known development key"]
    return []


def refuse_unsafe_start(settings: ServiceSettings, *, stream: TextIO | None = None) -> None:
    """Exit (status 2) with one line naming the variable when a secret is missing, a default
    or weak, unless RISKWATCH_DEV_MODE is on."""
    if settings.dev_mode:
        return
    problems = settings.secret_problems()
    if problems:
        print(
            f"riskwatch-{settings.service_name}: refusing to start: {'; '.join(problems)} "
            "(set it, or RISKWATCH_DEV_MODE=true on a development machine)",
            file=stream or sys.stderr,
            flush=True,
        )
        raise SystemExit(2)
