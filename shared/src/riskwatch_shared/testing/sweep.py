"""A hostile-input sweep over a running service's write endpoints (schemathesis + hypothesis).

Every POST, PUT, PATCH and DELETE of the app's OpenAPI document gets a few valid-shaped and a
few invalid examples (deterministic: derandomised, no example database), sent through the
test's in-process client. A response of 500 or more is a finding; so is a refused (4xx) request
after which the service's record counts differ: a refused request must store nothing.
Hypothesis runs in a worker thread; each request runs on the test's event loop, where the app,
its engine and its pools live.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.generation import GenerationMode

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CountRecords = Callable[[], Awaitable[Mapping[str, int]]]


@dataclass
class SweepReport:
    operations: list[str] = field(default_factory=list)
    requests: int = 0
    refused: int = 0
    findings: list[str] = field(default_factory=list)


def _request_kwargs(transport: dict[str, Any]) -> dict[str, Any]:
    """schemathesis' requests-style keyword arguments as httpx takes them."""
    kwargs: dict[str, Any] = {
        "method": transport["method"],
        "url": transport["url"],
        "headers": {
            k: v
            for k, v in transport.get("headers", {}).items()
            if k.lower() not in ("connection", "accept-encoding", "user-agent")
        },
        "params": transport.get("params") or None,
    }
    if "json" in transport:
        kwargs["json"] = transport["json"]
    data = transport.get("data")
    if isinstance(data, str | bytes):
        kwargs["content"] = data.encode() if isinstance(data, str) else data
    elif data is not None:
        kwargs["data"] = data
    if transport.get("files"):
        kwargs["files"] = transport["files"]
    return kwargs


async def count_rows(scalar: Callable[[str], Awaitable[Any]], tables: list[str]) -> dict[str, int]:
    """A `CountRecords` body: `count(*)` of each table, in one statement."""
    counts = ", ".join(f'(SELECT count(*) FROM "{table}")' for table in tables)
    values = await scalar(f"SELECT ARRAY[{counts}]")
    return dict(zip(tables, (int(value) for value in values), strict=True))


def hostile_sweep(
    client: httpx.AsyncClient,
    document: dict[str, Any],
    *,
    loop: asyncio.AbstractEventLoop,
    count_records: CountRecords,
    known_path_parameters: Mapping[str, str] | None = None,
    max_examples: int = 4,
    skip: frozenset[str] = frozenset(),
) -> SweepReport:
    """Run the sweep (call it in a worker thread: `asyncio.to_thread`)."""
    schema = schemathesis.openapi.from_dict(document)
    report = SweepReport()
    known = dict(known_path_parameters or {})

    async def send(kwargs: dict[str, Any]) -> tuple[int, bool]:
        before = await count_records()
        response = await client.request(**kwargs)
        if not 400 <= response.status_code < 500:
            return response.status_code, True
        return response.status_code, dict(await count_records()) == dict(before)

    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        if operation.method.upper() not in WRITE_METHODS or operation.label in skip:
            continue
        report.operations.append(operation.label)
        names = {p.name for p in operation.path_parameters}
        path_parameters = {name: known[name] for name in names if name in known} or None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode, path_parameters=path_parameters)
            run = functools.partial(
                _run_case, label=operation.label, client=client, loop=loop, send=send, report=report
            )
            _examples(strategy, max_examples, run)
    return report


def _examples(
    strategy: Any, max_examples: int, run: Callable[[schemathesis.Case[Any]], None]
) -> None:
    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def check(case: schemathesis.Case[Any]) -> None:
        run(case)

    check()


def _run_case(
    case: schemathesis.Case[Any],
    label: str,
    *,
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
    send: Callable[[dict[str, Any]], Coroutine[Any, Any, tuple[int, bool]]],
    report: SweepReport,
) -> None:
    kwargs = _request_kwargs(case.as_transport_kwargs(base_url=str(client.base_url)))
    status, unchanged = asyncio.run_coroutine_threadsafe(send(kwargs), loop).result(timeout=60)
    report.requests += 1
    if 400 <= status < 500:
        report.refused += 1
    if status >= 500:
        report.findings.append(f"{label}: {status} for {kwargs!r:.600}")
    elif not unchanged:
        report.findings.append(f"{label}: refused ({status}) but stored: {kwargs!r:.600}")
