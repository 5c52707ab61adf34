"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

# How long a consumer fetch whose batch is not full at once waits for more (ConsumerSpec.
# batch_linger). Measured with `bench/outbox_pipeline_bench.py --linger-sweep` (see
# bench/results/consumer_linger.md): under a steady load batches come 2-4x fuller, consumer CPU
# per event drops by a third to a half, for at most this much more latency per consumer stage.
DEFAULT_BATCH_LINGER = 0.02
# 31 days: the streams' 30-day max_age plus a day (riskwatch_shared.messaging.inbox).
DEFAULT_INBOX_RETENTION = 31 * 86_400.0
DEFAULT_PRUNE_INTERVAL = 600.0
DEFAULT_INTERNAL_SECRET = "riskwatch-dev-internal-secret-change-me"


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
    stream_replicas: int = Field(
        default=1, validation_alias=AliasChoices("RISKWATCH_STREAM_REPLICAS")
    )
    internal_secret: str = Field(
        default=DEFAULT_INTERNAL_SECRET, validation_alias=AliasChoices("RISKWATCH_INTERNAL_SECRET")
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
