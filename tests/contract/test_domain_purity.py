"""One shape per service: each service keeps its pure logic in `domain/` (alerting's rule language
in `rules/` too), and pure means no I/O: no ORM, no database driver, no HTTP, no NATS, no module
of its own service outside the pure packages, no other service.

Two checks: every import statement in a pure module (the message names the file and line), and
what importing all of a service's pure modules actually loads, in a fresh interpreter (an
allowed kit module that pulled in SQLAlchemy would be caught there).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = ("customer", "scoring", "alerting", "notify")

# The packages of each service that must stay pure, relative to its `riskwatch_<name>` package.
PURE_PACKAGES: dict[str, tuple[str, ...]] = {
    "customer": ("domain",),
    "scoring": ("domain",),
    "alerting": ("domain", "rules"),
    "notify": ("domain",),
}

# Top-level packages that do I/O (or serve it): never imported by a pure module.
IO_PACKAGES = frozenset(
    {
        "aiosmtplib",
        "alembic",
        "asyncpg",
        "fastapi",
        "httpx",
        "nats",
        "prometheus_client",
        "psycopg",
        "sqlalchemy",
        "starlette",
        "uvicorn",
    }
)

# The kit's modules that do I/O: its database, messaging, app and test fixtures.
KIT_IO_MODULES = (
    "riskwatch_shared.app",
    "riskwatch_shared.db",
    "riskwatch_shared.messaging",
    "riskwatch_shared.service_main",
    "riskwatch_shared.testing",
)

OTHER_PACKAGES = frozenset({"riskwatch_gateway", "riskwatch_console", "riskwatch_simulator"})


def package_dir(service: str) -> Path:
    spec = importlib.util.find_spec(f"riskwatch_{service}")
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent


def pure_modules(service: str) -> list[tuple[str, Path]]:
    """(dotted name, file) of every module in the service's pure packages."""
    root = package_dir(service)
    found = []
    for package in PURE_PACKAGES[service]:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((".".join((f"riskwatch_{service}", *parts)), path))
    return found


def imported_names(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import in the module, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "__future__":
                continue
            # `from pkg import module` imports `pkg.module` when that is a module.
            names.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return names


def refusal(service: str, name: str) -> str | None:
    """Why a pure module of `service` may not import `name`, or None if it may."""
    root = name.split(".")[0]
    own = f"riskwatch_{service}"
    if root in IO_PACKAGES:
        return f"{root} does I/O"
    if root == own:
        pure = tuple(f"{own}.{package}" for package in PURE_PACKAGES[service])
        if not any(name == p or name.startswith(p + ".") for p in pure):
            return f"{name} is not in the service's pure packages {pure}"
    elif root.startswith("riskwatch_") and (
        root in OTHER_PACKAGES or root.removeprefix("riskwatch_") in SERVICES
    ):
        return f"{name} belongs to another package"
    elif any(name == m or name.startswith(m + ".") for m in KIT_IO_MODULES):
        return f"{name} is one of the kit's I/O modules"
    return None


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_domain_package(service: str) -> None:
    assert (package_dir(service) / "domain" / "__init__.py").is_file()
    assert len(pure_modules(service)) > 1, f"{service}'s domain package is empty"


@pytest.mark.parametrize("service", SERVICES)
def test_pure_modules_import_nothing_that_does_io(service: str) -> None:
    refused = [
        f"{path.relative_to(package_dir(service).parent)}:{line}: {why}"
        for module, path in pure_modules(service)
        for line, name in imported_names(module, path)
        if (why := refusal(service, name)) is not None
    ]
    assert refused == []


@pytest.mark.parametrize("service", SERVICES)
def test_importing_the_pure_modules_loads_no_io_package(service: str) -> None:
    modules = [module for module, _ in pure_modules(service)]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(done.stdout))
    assert f"riskwatch_{service}" in loaded
    assert sorted(loaded & IO_PACKAGES) == []


def test_the_checks_can_fail() -> None:
    """The refusal rules refuse what they are meant to (an empty list above proves nothing
    unless these do)."""
    assert refusal("notify", "sqlalchemy.ext.asyncio") is not None
    assert refusal("notify", "riskwatch_notify.models") is not None
    assert refusal("notify", "riskwatch_alerting.domain.desk") is not None
    assert refusal("alerting", "riskwatch_shared.db.bulk") is not None
    assert refusal("alerting", "riskwatch_alerting.rules.compiler") is None
    assert refusal("notify", "riskwatch_notify.domain.models.Channel") is None
    assert refusal("scoring", "riskwatch_shared.risk.LEVEL_RANK") is None
    assert refusal("scoring", "numpy") is None
