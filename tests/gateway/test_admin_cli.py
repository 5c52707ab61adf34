"""`riskwatch` administration verbs against a real gateway: users, API keys, the OpenAPI
export, `--version` and `--help`."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path

import pytest

from riskwatch_shared.cli import SECRETS_FILE, local_secrets, parse_env_file
from riskwatch_simulator import admin
from riskwatch_simulator.cli import main

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Gateway


async def riskwatch(gateway: Gateway, *argv: str) -> str:
    out = io.StringIO()
    credentials = ("--gateway", gateway.url, "--admin-email", ADMIN_EMAIL)
    credentials += ("--admin-password", ADMIN_PASSWORD)
    code = await asyncio.to_thread(admin.admin_main, [*argv, *credentials], out)
    assert code == 0, out.getvalue()
    return out.getvalue()


def test_version_and_help_list_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as version:
        main(["--version"])
    assert version.value.code == 0
    assert capsys.readouterr().out.strip() == "riskwatch 0.1.0"
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    for verb in ("run", "simulate", "users", "api-keys", "starter", "openapi", "dead-letters"):
        assert verb in shown


async def test_users_are_created_listed_and_disabled(gateway: Gateway) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@bank.test"
    created = json.loads(await riskwatch(gateway, "users", "create", email, "--role", "analyst"))
    assert created["roles"] == ["analyst"]
    password = created["generated_password"]
    assert password
    assert email in await riskwatch(gateway, "users", "list")
    async with gateway.client() as client:
        body = {"email": email, "password": password}
        assert (await client.post("/v1/auth/token", json=body)).status_code == 200
        disabled = json.loads(await riskwatch(gateway, "users", "disable", email))
        assert disabled["active"] is False
        assert (await client.post("/v1/auth/token", json=body)).status_code == 401
    listed = (await riskwatch(gateway, "users", "list")).splitlines()
    assert any(email in line and line.endswith("disabled") for line in listed)


async def test_api_keys_are_created_listed_and_revoked(gateway: Gateway) -> None:
    name = f"core banking {uuid.uuid4().hex[:6]}"
    created = json.loads(await riskwatch(gateway, "api-keys", "create", name))
    assert created["roles"] == ["ingest"]
    secret = created["secret"]
    assert any(
        name in line and line.endswith("active")
        for line in (await riskwatch(gateway, "api-keys", "list")).splitlines()
    )
    async with gateway.client(**{"X-API-Key": secret}) as client:
        # Known but not staff: 403; once revoked, not known at all: 401.
        assert (await client.get("/v1/auth/me")).status_code == 403
        await riskwatch(gateway, "api-keys", "revoke", created["id"])
        assert (await client.get("/v1/auth/me")).status_code == 401


async def test_openapi_is_exported(gateway: Gateway, tmp_path: Path) -> None:
    target = tmp_path / "riskwatch.json"
    said = await riskwatch(gateway, "openapi", "--out", str(target))
    document = json.loads(target.read_text())
    assert "/v1/users" in document["paths"]
    assert f"{len(document['paths'])} paths written" in said


def test_admin_verbs_need_a_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RISKWATCH_ADMIN_PASSWORD", raising=False)
    with pytest.raises(SystemExit, match="no admin password"):
        admin.admin_main(["users", "list", "--data-dir", str(tmp_path)])


def test_the_generated_password_is_found_in_the_gateway_log(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "gateway.log").write_text(
        '{"event": "gateway.started"}\n'
        "RiskWatch admin created: admin@riskwatch.local / password: s3cret-Generated_1\n"
    )
    assert admin.generated_admin_password(tmp_path) == (
        "admin@riskwatch.local",
        "s3cret-Generated_1",
    )
    assert admin.generated_admin_password(tmp_path / "elsewhere") is None


def test_the_generated_password_is_read_from_the_stack_secrets_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RISKWATCH_ADMIN_EMAIL", raising=False)
    local_secrets(tmp_path)  # what `riskwatch run` writes on a fresh data directory
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "gateway.log").write_text(
        "RiskWatch admin created: admin@riskwatch.local / password: an-older-one\n"
    )
    email, password = admin.generated_admin_password(tmp_path) or ("", "")
    assert email == "admin@riskwatch.local"
    assert (
        password
        == parse_env_file((tmp_path / SECRETS_FILE).read_text())["RISKWATCH_ADMIN_PASSWORD"]
    )


def test_the_starter_is_switched_off_by_flag_or_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(admin.STARTER_ENV, raising=False)
    assert admin.starter_enabled(False) is True
    assert admin.starter_enabled(True) is False
    monkeypatch.setenv(admin.STARTER_ENV, "0")
    assert admin.starter_enabled(False) is False
