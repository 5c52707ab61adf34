"""`riskwatch run` needs no set-up: its secrets are generated once into .riskwatch/ (mode 0600),
reused on the next run, usable by every process; compose gets a fresh set for its .env."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from riskwatch_gateway.config import Settings as GatewaySettings
from riskwatch_shared.cli import SECRETS_FILE, Stack, default_processes, local_secrets
from riskwatch_shared.security import Identity, mint_identity_token, verify_identity_token
from riskwatch_shared.settings import ServiceSettings

from .contract import REPO_ROOT


def test_secrets_are_generated_once_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / ".riskwatch"
    first = local_secrets(data_dir)
    path = data_dir / SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secrets(data_dir) == first  # a second run reuses them
    # The first admin's password is kept here, so nothing prints it into a log.
    assert len(first["RISKWATCH_ADMIN_PASSWORD"]) >= 24


def test_an_older_secrets_file_gets_what_it_lacks_and_keeps_what_it_has(tmp_path: Path) -> None:
    path = tmp_path / SECRETS_FILE
    path.write_text("GATEWAY_OPS_TOKEN='kept-as-it-was-0123456789abcdefghijkl'\n")
    values = local_secrets(tmp_path)
    assert values["GATEWAY_OPS_TOKEN"] == "kept-as-it-was-0123456789abcdefghijkl"
    assert "RISKWATCH_IDENTITY_SIGNING_KEY" in values
    # That stack's admin exists with its own password: none is made up for it.
    assert "RISKWATCH_ADMIN_PASSWORD" not in values
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_every_process_gets_usable_keys_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_OPS_TOKEN", "from-the-environment-0123456789abcdef")
    stack = Stack(tmp_path, default_processes())
    stack.load_secrets()
    env = stack.env
    assert env["GATEWAY_OPS_TOKEN"] == "from-the-environment-0123456789abcdef"
    for name in ("RISKWATCH_IDENTITY_PUBLIC_KEYS", "RISKWATCH_IDENTITY_SIGNING_KEY",
                 "GATEWAY_JWT_SIGNING_KEYS", "RISKWATCH_DEV_MODE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if name.startswith(("RISKWATCH_", "GATEWAY_")):
            monkeypatch.setenv(name, value)
    specs = {spec.name: spec for spec in default_processes()}
    assert "RISKWATCH_IDENTITY_SIGNING_KEY" in stack.env_for(specs["gateway"])
    for name in ("customer", "scoring", "alerting", "notify"):  # no private key in a service
        service_env = stack.env_for(specs[name])
        assert "RISKWATCH_IDENTITY_PUBLIC_KEYS" in service_env
        assert not {
            "RISKWATCH_IDENTITY_SIGNING_KEY",
            "GATEWAY_JWT_SIGNING_KEYS",
            "RISKWATCH_ADMIN_PASSWORD",
        } & set(service_env)
    service, gateway = ServiceSettings(), GatewaySettings()
    assert service.secret_problems() == gateway.secret_problems() == []  # no dev mode needed
    identity = Identity(subject="s", roles=("analyst",))
    token = mint_identity_token(identity, gateway.identity_signer())
    assert verify_identity_token(token, service.identity_keys()) == identity


def test_compose_gets_every_secret_it_requires() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "riskwatch_shared.cli", "secrets"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    given = set(re.findall(r"^([A-Z_]+)=", printed, re.MULTILINE))
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (REPO_ROOT / "docker-compose.yml").read_text()))
    assert required
    assert required <= given, required - given
