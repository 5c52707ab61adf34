"""Dockerfiles: what they COPY exists and is not ignored; they run the contract command."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest

from .contract import APPLICATIONS, REPO_ROOT, SERVICE_DIRECTORIES, SERVICE_PORTS, command


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


def dockerfile_of(application: str) -> Path:
    return REPO_ROOT / SERVICE_DIRECTORIES[application] / "Dockerfile"


@pytest.mark.parametrize("application", APPLICATIONS)
def test_copy_sources_exist_in_the_build_context(application: str) -> None:
    patterns = ignored_patterns()
    copies = [
        arguments.split()
        for keyword, arguments in instructions(dockerfile_of(application))
        if keyword == "COPY" and "--from=" not in arguments
    ]

    assert copies
    for *sources, _destination in copies:
        for source in sources:
            assert (REPO_ROOT / source).exists(), source
            assert not is_ignored(source, patterns), source


@pytest.mark.parametrize("application", APPLICATIONS)
def test_image_builds_from_the_lock_and_runs_the_contract_command(application: str) -> None:
    parsed = instructions(dockerfile_of(application))
    runs = " ".join(arguments for keyword, arguments in parsed if keyword == "RUN")
    (cmd,) = [json.loads(arguments) for keyword, arguments in parsed if keyword == "CMD"]
    (user,) = [arguments for keyword, arguments in parsed if keyword == "USER"]
    (healthcheck,) = [arguments for keyword, arguments in parsed if keyword == "HEALTHCHECK"]
    final_stage = [arguments for keyword, arguments in parsed if keyword == "FROM"][-1]

    assert f"uv sync --frozen --no-dev --package riskwatch-{application}" in runs
    assert cmd == command(application, "serve")
    assert not [keyword for keyword, _ in parsed if keyword == "ENTRYPOINT"]
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert uid != "0"
    assert "urllib" in healthcheck
    assert "/healthz" in healthcheck
    assert final_stage.startswith("python:${PYTHON_VERSION}-slim")
    assert f"EXPOSE {SERVICE_PORTS[application]}" in {f"{k} {a}" for k, a in parsed}


def test_dockerignore_keeps_the_virtualenv_and_git_out() -> None:
    patterns = ignored_patterns()

    assert is_ignored(".venv/bin/python", patterns)
    assert is_ignored(".git/HEAD", patterns)
    assert not is_ignored("shared/src/riskwatch_shared/settings.py", patterns)
    assert not is_ignored("uv.lock", patterns)
