"""Detection health through the gateway of the whole running system (issue 23 item 5): every
active rule has its health numbers, the operational alerts list answers readers, a viewer may
read both and is refused acknowledging (at the gateway, by the policy table)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest

from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


async def test_rule_health_and_operational_alerts_through_the_gateway(
    system: RunningSystem, admin: RiskWatchClient, scenario_rules: dict[str, dict[str, Any]]
) -> None:
    found = await admin.get_json("/v1/rules/health", status="active")
    by_id = {row["rule_id"]: row for row in found}
    for rule in scenario_rules.values():
        health = by_id[rule["id"]]
        assert health["status"] == "active"
        assert health["spiking"] is False  # no baseline yet: a new rule is never a spike
        assert health["window_days"] == 28
    one = await admin.get_json(f"/v1/rules/{rule['id']}/health")
    assert len(one["alerts_per_day"]) == 29
    assert isinstance(await admin.get_json("/v1/operational-alerts"), list)

    password = secrets.token_urlsafe(24)
    email = f"viewer-{uuid.uuid4().hex[:6]}@bank.example"
    await admin.post_json(
        "/v1/users", {"email": email, "name": "Viewer", "roles": ["viewer"], "password": password}
    )
    async with RiskWatchClient(system.gateway) as viewer:
        await viewer.sign_in(email, password)
        assert (await viewer.request("GET", "/v1/rules/health")).status_code == 200
        refused = await viewer.request(
            "POST", f"/v1/operational-alerts/{uuid.uuid4()}/acknowledge", json={}, expect=(403,)
        )
        assert refused.headers["content-type"].startswith("application/problem+json")
