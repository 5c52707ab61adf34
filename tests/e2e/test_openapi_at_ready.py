"""The launcher starts the gateway once the services are ready, and the gateway is ready only
with every service's OpenAPI document merged: the document it serves at its first green
/readyz already has every path of every service."""

from __future__ import annotations

import httpx

from riskwatch_simulator.harness import RunningSystem

from .conftest import AtReady

SERVICES = ("customer", "scoring", "alerting", "notify")
METHODS = frozenset({"get", "put", "post", "patch", "delete"})


async def test_the_merged_openapi_is_complete_when_the_gateway_reports_ready(
    system: RunningSystem, at_ready: dict[str, AtReady]
) -> None:
    first = at_ready["gateway"]
    assert first.readyz.status_code == 200, first.readyz.text
    assert first.readyz.json()["documents_missing"] == []
    merged = first.openapi["paths"]
    async with httpx.AsyncClient(timeout=10) as http:
        for service in SERVICES:
            own = (await http.get(f"{system.url(service)}/openapi.json")).json()
            operations = {
                (method, path)
                for path, item in own["paths"].items()
                if path.startswith("/v1/")
                for method in item
                if method in METHODS
            }
            assert operations, service
            missing = {(m, p) for m, p in operations if m not in merged.get(p, {})}
            assert not missing, f"{service}: {sorted(missing)}"
