"""The starter configuration: what a fresh install needs to tell a story on its own.

Through the gateway's public API only (what an administrator could click or script): every
shipped rule template as an active rule (the recommended rule pack), and a "Risk department"
team with one recipient, subscribed to every alert by e-mail (to the local mail catcher under
`riskwatch run`) and in-app (the inbox of the administrator who loads it).

Idempotent: what exists (a rule of the template's name, the team, the recipient, the team's
subscription) is kept as it is, so loading it twice adds nothing and an administrator's later
changes (a rule disabled, a channel removed) are never undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskwatch_simulator.api import list_all
from riskwatch_simulator.client import RiskWatchClient

TEAM_NAME = "Risk department"
RECIPIENT_NAME = "Risk department desk"
RECIPIENT_EMAIL = "risk-department@bank.example"
CHANNELS = ("email", "in_app")


@dataclass
class StarterResult:
    rules_created: int = 0
    rules_activated: int = 0
    rules_kept: int = 0
    team_created: bool = False
    recipient_created: bool = False
    subscription_created: bool = False

    @property
    def added(self) -> int:
        """How many things this load created or switched on (0 on a second load)."""
        return (
            self.rules_created
            + self.rules_activated
            + self.team_created
            + self.recipient_created
            + self.subscription_created
        )

    def render(self) -> str:
        if not self.added:
            return "starter configuration already loaded: nothing added"
        parts = [
            f"{self.rules_created} rules created, {self.rules_activated} activated "
            f"({self.rules_kept} kept as they were)"
        ]
        if self.team_created:
            parts.append(f'team "{TEAM_NAME}"')
        if self.recipient_created:
            parts.append(f"recipient {RECIPIENT_EMAIL}")
        if self.subscription_created:
            parts.append(f"subscription ({', '.join(CHANNELS)}, every alert)")
        return "starter configuration loaded: " + "; ".join(parts)


def _items(page: Any) -> list[dict[str, Any]]:
    if isinstance(page, list):
        return page
    found = page.get("items", [])
    return found if isinstance(found, list) else []


async def _load_rules(client: RiskWatchClient, result: StarterResult) -> None:
    by_name = {rule["name"]: rule for rule in await list_all(client, "/v1/rules")}
    for template in _items(await client.get_json("/v1/rule-templates")):
        rule = by_name.get(template["name"])
        if rule is None:
            rule = await client.post_json(
                f"/v1/rule-templates/{template['key']}/rules",
                {},
                idempotency_key=f"starter-rule-{template['key']}",
            )
            result.rules_created += 1
        if rule["status"] == "draft":
            await client.post_json(
                f"/v1/rules/{rule['id']}/activate",
                {},
                idempotency_key=f"starter-activate-{rule['id']}",
            )
            result.rules_activated += 1
        else:
            result.rules_kept += 1


async def _load_team(client: RiskWatchClient, result: StarterResult, email: str) -> None:
    teams = [team for team in await list_all(client, "/v1/teams") if team["name"] == TEAM_NAME]
    if teams:
        team = teams[0]
    else:
        team = await client.post_json(
            "/v1/teams",
            {"name": TEAM_NAME, "description": "Every alert, by e-mail and in-app (starter)."},
            idempotency_key="starter-team",
        )
        result.team_created = True
    recipients = await list_all(client, "/v1/recipients")
    if not any(recipient["name"] == RECIPIENT_NAME for recipient in recipients):
        me = await client.get_json("/v1/auth/me")
        taken = {recipient.get("user_subject") for recipient in recipients}
        body: dict[str, Any] = {"name": RECIPIENT_NAME, "email": email, "team_ids": [team["id"]]}
        if me["subject"] not in taken:  # the in-app inbox of whoever loads the starter
            body["user_subject"] = me["subject"]
        await client.post_json("/v1/recipients", body, idempotency_key="starter-recipient")
        result.recipient_created = True
    subscriptions = await list_all(client, "/v1/subscriptions")
    if not any(subscription.get("team_id") == team["id"] for subscription in subscriptions):
        await client.post_json(
            "/v1/subscriptions",
            {"team_id": team["id"], "channels": list(CHANNELS), "min_severity": "low"},
            idempotency_key="starter-subscription",
        )
        result.subscription_created = True


async def load_starter(client: RiskWatchClient, *, email: str = RECIPIENT_EMAIL) -> StarterResult:
    """Load the starter configuration with `client`'s (admin) sign-in; see the module doc."""
    result = StarterResult()
    await _load_rules(client, result)
    await _load_team(client, result, email)
    return result
