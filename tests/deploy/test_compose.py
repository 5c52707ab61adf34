"""docker-compose.yml: valid Compose, migrations before services, contract commands and env."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from .contract import APPLICATIONS, CONTRACT_ENV, REPO_ROOT, SERVICE_DATABASES, command

INFRASTRUCTURE_ENV = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} | {
    f"NATS_{user}_PASSWORD" for user in ("CUSTOMER", "SCORING", "ALERTING", "NOTIFY")
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return document


def test_compose_file_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((REPO_ROOT / "tests/deploy/compose-spec.json").read_text())

    jsonschema.Draft7Validator(schema).validate(compose)


@pytest.mark.parametrize("application", APPLICATIONS)
def test_service_waits_for_its_migration_and_serves_with_a_healthcheck(
    compose: dict[str, Any], application: str
) -> None:
    services = compose["services"]
    migration, service = services[f"migrate-{application}"], services[application]

    assert migration["command"] == command(application, "migrate")
    assert migration["restart"] == "no"
    assert migration["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["command"] == command(application, "serve")
    assert service["image"] == migration["image"]
    assert service["depends_on"][f"migrate-{application}"] == {
        "condition": "service_completed_successfully"
    }
    assert "/healthz" in " ".join(service["healthcheck"]["test"])
    assert service["environment"][f"{application.upper()}_HOST"] == "0.0.0.0"


def test_infrastructure_persists_and_creates_every_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    init_sql = (REPO_ROOT / "deploy/postgres/init-databases.sql").read_text()

    assert services["nats"]["command"][:3] == ["-js", "-sd", "/data"]
    assert "nats-data:/data" in services["nats"]["volumes"]
    assert services["postgres"]["image"] == "postgres:16"
    assert any(v.startswith("./deploy/postgres/") for v in services["postgres"]["volumes"])
    for database in SERVICE_DATABASES:
        assert f"CREATE DATABASE {database};" in init_sql
    assert "127.0.0.1:8025:8025" in services["mailpit"]["ports"]
    assert services["notify"]["environment"]["NOTIFY_SMTP_HOST"] == "mailpit"


def test_env_names_are_the_contract_ones(compose: dict[str, Any]) -> None:
    used = {
        name for service in compose["services"].values() for name in service.get("environment", {})
    }

    assert used <= CONTRACT_ENV | INFRASTRUCTURE_ENV, used - CONTRACT_ENV - INFRASTRUCTURE_ENV


def test_secrets_come_from_the_environment_with_marked_dev_only_defaults() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    secret_lines = [
        line for line in text.splitlines() if any(k in line for k in ("PASSWORD", "SECRET:"))
    ]

    assert secret_lines
    for line in secret_lines:
        assert "${" in line, line
        assert ":?" in line or "dev-only" in line.lower(), line


def test_the_console_uses_only_the_gateway(compose: dict[str, Any]) -> None:
    console = compose["services"]["console"]
    environment = console["environment"]

    assert console["command"] == command("console", "serve")
    assert console["build"]["args"]["SERVICE"] == "console"
    assert console["depends_on"] == {"gateway": {"condition": "service_healthy"}}
    assert "/healthz" in " ".join(console["healthcheck"]["test"])
    assert "127.0.0.1:8005:8005" in console["ports"]
    assert environment["CONSOLE_HOST"] == "0.0.0.0"
    assert environment["CONSOLE_GATEWAY_URL"] == "http://gateway:8000"
    assert ":?" in environment["CONSOLE_SESSION_KEY"]
    # No database, no NATS, no key of the gateway's: the console holds only its cookie key.
    assert not {"DATABASE_URL", "NATS_URL", "GATEWAY_JWT_SIGNING_KEYS"} & set(environment)
    # The SSO client secret from a file only the console reads, when SSO is set up.
    assert console["env_file"] == [{"path": "console-sso.env", "required": False}]
    assert "CONSOLE_OIDC_CLIENT_SECRET" not in str(compose["services"]["gateway"])
