"""A hostile-input sweep over a running service's write endpoints (schemathesis + hypothesis).

Every POST, PUT, PATCH and DELETE of the app's OpenAPI document gets a few valid-shaped and a
few invalid examples (deterministic: derandomised, no example database), then each field of
one accepted body replaced by hostile values, all sent through the test's client (in process).
A response of 500 or more is a finding; so is a refused (4xx) request after which the
service's record counts differ: a refused request must store nothing. Hypothesis runs in a
worker thread; each request runs on the test's event loop, where the app, its engine and its
pools live.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    valid_bodies: Mapping[str, Mapping[str, Any]] | None = None,
    max_examples: int = 4,
    skip: frozenset[str] = frozenset(),
) -> SweepReport:
    """Run the sweep (call it in a worker thread: `asyncio.to_thread`).

    Besides the generated examples, each field of one accepted body of an operation (from
    `valid_bodies`, by operation label, or the first generated one that was accepted) is
    replaced in turn by the hostile values of its kind (`hostile_values`)."""
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
        sent: list[tuple[dict[str, Any], int]] = []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode, path_parameters=path_parameters)
            run = functools.partial(
                _run_case, label=operation.label, client=client, loop=loop, send=send, report=report
            )
            _examples(strategy, max_examples, run, keep=sent)
        for kwargs in _mutations(_accepted_body(sent, (valid_bodies or {}).get(operation.label))):
            _record(report, operation.label, kwargs, _send_now(send, kwargs, loop))
    return report


# Each field of an accepted body in turn gets the hostile values that fit its kind: NUL, a bidi
# override and a C1 control for text; numbers past BIGINT and past any NUMERIC for numbers;
# an explicit null for every field; deep nesting for the first.
HOSTILE_TEXT: tuple[str, ...] = ("a\x00b", "\u202eevil", "x\x85y")
HOSTILE_NUMBERS: tuple[object, ...] = (2**63, -(2**63) - 1, "1e40")
DEEP: list[Any] = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]


def hostile_values(value: object) -> tuple[object, ...]:
    """What to put in place of a field holding `value`."""
    if isinstance(value, bool) or value is None:
        return (None,)
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.replace(".", "", 1).isdigit()
    ):
        return (*HOSTILE_NUMBERS, None)
    if isinstance(value, str):
        return (*HOSTILE_TEXT, None)
    return (None,)


def _accepted_body(
    sent: list[tuple[dict[str, Any], int]], valid_body: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The request whose body to mutate: the given valid body on a generated request's URL,
    or the first generated request with a JSON object body that was accepted."""
    if valid_body is not None and sent:
        return {**sent[0][0], "json": dict(valid_body)}
    for kwargs, status in sent:
        if status < 300 and isinstance(kwargs.get("json"), dict) and kwargs["json"]:
            return kwargs
    return None


def _mutations(kwargs: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The request with each field of its body replaced, in turn, by each hostile value."""
    body = kwargs.get("json") if kwargs is not None else None
    if kwargs is None or not isinstance(body, dict):
        return []
    variants = [
        {**kwargs, "json": {**body, name: hostile}}
        for name, value in body.items()
        for hostile in hostile_values(value)
    ]
    first = next(iter(body), None)
    if first is not None:
        variants.append({**kwargs, "json": {**body, first: DEEP}})
    return variants


def _send_now(
    send: Callable[[dict[str, Any]], Coroutine[Any, Any, tuple[int, bool]]],
    kwargs: dict[str, Any],
    loop: asyncio.AbstractEventLoop,
) -> tuple[int, bool]:
    return asyncio.run_coroutine_threadsafe(send(kwargs), loop).result(timeout=60)


def _record(
    report: SweepReport, label: str, kwargs: dict[str, Any], outcome: tuple[int, bool]
) -> None:
    status, unchanged = outcome
    report.requests += 1
    if 400 <= status < 500:
        report.refused += 1
    if status >= 500:
        report.findings.append(f"{label}: {status} for {kwargs!r:.600}")
    elif not unchanged:
        report.findings.append(f"{label}: refused ({status}) but stored: {kwargs!r:.600}")


def _examples(
    strategy: Any,
    max_examples: int,
    run: Callable[[schemathesis.Case[Any]], tuple[dict[str, Any], int]],
    *,
    keep: list[tuple[dict[str, Any], int]],
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
        keep.append(run(case))

    # An operation with nothing to make invalid (fixed path parameters, no body) has no
    # negative examples.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        check()


def _run_case(
    case: schemathesis.Case[Any],
    label: str,
    *,
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
    send: Callable[[dict[str, Any]], Coroutine[Any, Any, tuple[int, bool]]],
    report: SweepReport,
) -> tuple[dict[str, Any], int]:
    kwargs = _request_kwargs(case.as_transport_kwargs(base_url=str(client.base_url)))
    outcome = _send_now(send, kwargs, loop)
    _record(report, label, kwargs, outcome)
    return kwargs, outcome[0]
