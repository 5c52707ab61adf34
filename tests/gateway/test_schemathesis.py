"""Schemathesis against the running gateway (merged document, stand-in services): no input,
valid or not, makes it answer with a server error. Examples are bounded to stay quick."""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error

from riskwatch_shared.testing import wait_until

from .conftest import OPS, Gateway

MAX_EXAMPLES = 6


def run_schemathesis(base_url: str, token: str) -> tuple[int, list[str]]:
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=headers)
    session = requests.Session()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        operations += 1

        @hypothesis.settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(
                base_url=base_url, session=session, headers=headers, checks=[not_a_server_error]
            )

        try:
            check()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    return operations, failures


async def test_schemathesis_finds_no_server_error(gateway: Gateway) -> None:
    token = await gateway.admin_token()
    async with gateway.client() as client:

        async def complete() -> bool:
            paths = (await client.get("/openapi.json", headers=OPS)).json()["paths"]
            return "/v1/inbox" in paths and "/v1/customers" in paths

        await wait_until(complete, message="all services in the document")
    operations, failures = await asyncio.to_thread(run_schemathesis, gateway.url, token)
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
