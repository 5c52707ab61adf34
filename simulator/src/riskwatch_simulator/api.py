"""Configuring and reading RiskWatch through the gateway: rules, subscriptions, alerts, risk."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.report import AlertSeen

RULE_FIELDS = (
    "name",
    "rule_type",
    "severity",
    "trigger_event_types",
    "condition",
    "dedup_key",
    "cooldown_seconds",
    "description",
)


def rule_from_template(template: dict[str, Any]) -> dict[str, Any]:
    """A `POST /v1/rules` body with a shipped template's default parameters."""
    return {name: template[name] for name in RULE_FIELDS if template.get(name) is not None}


async def ensure_rules(client: RiskWatchClient) -> int:
    """Enable every shipped rule template when no rule is active yet; returns active rules."""
    active = await list_all(client, "/v1/rules", status="active")
    if active:
        return len(active)
    templates = await client.get_json("/v1/rule-templates")
    items = templates["items"] if isinstance(templates, dict) else templates
    for template in items:
        rule = await client.post_json(
            "/v1/rules", rule_from_template(template), idempotency_key=f"sim-rule-{template['key']}"
        )
        await client.post_json(f"/v1/rules/{rule['id']}/activate", {})
    return len(items)


async def ensure_risk_department(client: RiskWatchClient) -> bool:
    """A team emailed and messaged about every alert, when nobody is subscribed yet (so the
    report has alert->notification figures). Returns whether it was created."""
    if await list_all(client, "/v1/subscriptions"):
        return False
    team = await client.post_json("/v1/teams", {"name": "Risk department (simulator)"})
    await client.post_json(
        "/v1/recipients",
        {"name": "Simulated risk analyst", "email": "risk@bank.example", "team_ids": [team["id"]]},
    )
    await client.post_json(
        "/v1/subscriptions",
        {"team_id": team["id"], "channels": ["email", "in_app"], "min_severity": "low"},
    )
    return True


async def list_all(client: RiskWatchClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor-paginated list."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await client.get_json(path, cursor=cursor, limit=200, **params)
        if isinstance(page, list):
            return items + page
        items.extend(page.get("items", []))
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def parse_alert(item: dict[str, Any]) -> AlertSeen:
    return AlertSeen(
        alert_id=str(item["id"]),
        customer_id=str(item["customer_id"]) if item.get("customer_id") else None,
        rule_type=str(item.get("rule_type", "")),
        rule_name=str(item.get("rule_name", "")),
        raised_at=_moment(item["raised_at"]),
        transaction_id=str(item["transaction_id"]) if item.get("transaction_id") else None,
        happened_at=_moment(item["happened_at"]) if item.get("happened_at") else None,
    )


def _moment(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def page_items(page: Any, key: str = "items") -> list[dict[str, Any]]:
    if isinstance(page, list):
        return page
    found = page.get(key, page.get("items", []))
    return found if isinstance(found, list) else []


def first_notified_at(items: list[dict[str, Any]]) -> float | None:
    """The earliest moment a channel accepted one of an alert's notifications."""
    moments = []
    for item in items:
        for name in ("accepted_at", "sent_at", "delivered_at"):
            value = item.get(name)
            if value:
                moments.append(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
                break
    return min(moments).timestamp() if moments else None


def risk_scores(body: dict[str, Any]) -> dict[str, float]:
    """{kind: score} from `GET /v1/customers/{id}/risk` (`assessments: {kind: {score}}`)."""
    assessments = body.get("assessments")
    if not isinstance(assessments, dict):
        return {}
    return {
        kind: float(value["score"])
        for kind, value in assessments.items()
        if isinstance(value, dict) and isinstance(value.get("score"), int | float)
    }


async def wait_for_quiet(client: RiskWatchClient, seconds: float, *, timeout: float) -> int:
    """Poll the alert count until it has not changed for `seconds` (or the timeout)."""
    deadline = time.monotonic() + timeout
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(await list_all(client, "/v1/alerts"))
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since >= seconds:
            break
        await asyncio.sleep(min(2.0, seconds / 4))
    return last
