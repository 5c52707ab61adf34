"""The deployment contract the manifests are checked against (names fixed with the lead)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_OVERLAYS = ("dev", "prod")

SERVICE_PORTS = {
    "gateway": 8000,
    "customer": 8001,
    "scoring": 8002,
    "alerting": 8003,
    "notify": 8004,
}
APPLICATIONS = tuple(SERVICE_PORTS)
SERVICE_DIRECTORIES = {
    "gateway": "gateway",
    "customer": "services/customer",
    "scoring": "services/scoring",
    "alerting": "services/alerting",
    "notify": "services/notify",
}
SERVICE_DATABASES = tuple(f"riskwatch_{application}" for application in APPLICATIONS)
# The console: the analysts' web front end, a client of the gateway's public API only (no
# database, no NATS, no migration). Its image comes from the same Dockerfile.
CONSOLE_PORT = 8005
IMAGE_PORTS = {**SERVICE_PORTS, "console": CONSOLE_PORT}
IMAGES = tuple(IMAGE_PORTS)
IMAGE_DIRECTORIES = {**SERVICE_DIRECTORIES, "console": "console"}


def command(application: str, verb: str) -> list[str]:
    """The one way to start an application: `python -m riskwatch_<app> serve|migrate`."""
    return ["python", "-m", f"riskwatch_{application}", verb]


COMMON_ENV = frozenset(
    {
        "DATABASE_URL",
        "NATS_URL",
        "RISKWATCH_IDENTITY_PUBLIC_KEYS",
        "RISKWATCH_DEV_MODE",
        "NATS_USER",
        "NATS_PASSWORD",
        "RISKWATCH_LOG_LEVEL",
        "RISKWATCH_STREAM_REPLICAS",
    }
)
PREFIXED_SETTINGS = ("HOST", "PORT", "DATABASE_URL")
GATEWAY_ENV = frozenset(
    {
        "RISKWATCH_ADMIN_EMAIL",
        "RISKWATCH_ADMIN_PASSWORD",
        "RISKWATCH_IDENTITY_SIGNING_KEY",
        "GATEWAY_JWT_SIGNING_KEYS",
        "GATEWAY_OPS_TOKEN",
        "GATEWAY_TRUSTED_PROXIES",
        "GATEWAY_CUSTOMER_URL",
        "GATEWAY_SCORING_URL",
        "GATEWAY_ALERTING_URL",
        "GATEWAY_NOTIFY_URL",
        "GATEWAY_OIDC_ISSUER",
        "GATEWAY_OIDC_CLIENT_ID",
    }
)
CONSOLE_ENV = frozenset(
    {
        "CONSOLE_HOST",
        "CONSOLE_PORT",
        "CONSOLE_GATEWAY_URL",
        "CONSOLE_SESSION_KEY",
        "CONSOLE_COOKIE_SECURE",
        "CONSOLE_OIDC_ISSUER",
        "CONSOLE_OIDC_CLIENT_ID",
        "CONSOLE_OIDC_CLIENT_SECRET",
    }
)
NOTIFY_ENV = frozenset(
    {
        "NOTIFY_SMTP_HOST",
        "NOTIFY_SMTP_PORT",
        "NOTIFY_SMTP_FROM",
        "NOTIFY_SMTP_STARTTLS",
        "NOTIFY_SMTP_USERNAME",
        "NOTIFY_SMTP_PASSWORD",
    }
)
CONTRACT_ENV = (
    COMMON_ENV
    | GATEWAY_ENV
    | NOTIFY_ENV
    | CONSOLE_ENV
    | {f"{app.upper()}_{setting}" for app in APPLICATIONS for setting in PREFIXED_SETTINGS}
)

METRICS = frozenset(
    {
        "riskwatch_http_requests_total",
        "riskwatch_http_request_duration_seconds",
        "riskwatch_outbox_backlog",
        "riskwatch_outbox_published_total",
        "riskwatch_consumer_handled_total",
        "riskwatch_consumer_failed_total",
        "riskwatch_consumer_lag",
        "riskwatch_dead_letters_total",
        "riskwatch_alert_latency_seconds",
    }
)
