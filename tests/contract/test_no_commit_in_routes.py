"""No route commits by hand (issue 19): the kit's unit of work commits each request before its
response is sent (`riskwatch_shared.db.unit_of_work`). A module that declares routes (an
`APIRouter`, or the gateway's and the kit's apps) and calls `.commit()` anywhere fails here,
with where."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "gateway" / "src", ROOT / "shared" / "src", *(ROOT / "services").glob("*/src")]


def _declares_routes(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "APIRouter"
        for node in ast.walk(tree)
    )


def _commits(tree: ast.Module) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def route_modules() -> list[tuple[Path, ast.Module]]:
    found = []
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            in_api_package = path.parent.name == "api" or path.stem == "api"
            if in_api_package or _declares_routes(tree):
                found.append((path, tree))
    return found


def test_the_walk_finds_every_services_routes() -> None:
    names = {path.relative_to(ROOT).parts[:2] for path, _ in route_modules()}
    assert {
        ("gateway", "src"),
        ("shared", "src"),
        ("services", "customer"),
        ("services", "scoring"),
        ("services", "alerting"),
        ("services", "notify"),
    } <= names


def test_no_route_module_commits() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path, tree in route_modules()
        for line in _commits(tree)
    ]
    assert not offenders, "commit by hand (the unit of work commits):\n" + "\n".join(offenders)


def test_the_check_sees_a_commit() -> None:
    tree = ast.parse("async def f(session):\n    await session.commit()\n")
    assert _commits(tree) == [2]
