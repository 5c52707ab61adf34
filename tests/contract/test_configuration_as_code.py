"""Issue 23 item 4, configuration as code: each service exports its section of one bundle
(`riskwatch-config/v1`, canonical JSON), imports a bundle as a dry-run diff that stores
nothing, then as proposals (rules: maker-checker) and direct, audited changes; a round trip
export -> import into an empty install -> approve as a second person -> export is
byte-identical. One install (alerting, notify and scoring, each on a database of its own, the
session's JetStream); the round trip empties its configuration tables between export and
import, which is what a new install has."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

import riskwatch_alerting
import riskwatch_notify
import riskwatch_scoring
from riskwatch_alerting.config import Settings as AlertingSettings
from riskwatch_alerting.main import create_app as create_alerting
from riskwatch_gateway.routing import service_for_path
from riskwatch_notify.config import Settings as NotifySettings
from riskwatch_notify.main import create_app as create_notify
from riskwatch_scoring.config import Settings as ScoringSettings
from riskwatch_scoring.main import create_app as create_scoring
from riskwatch_scoring.registry import ensure_expert_models
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.config_bundle import FORMAT, MAX_BUNDLE_BYTES, canonical_bytes, compose
from riskwatch_shared.policy import DEFAULT_POLICY, decide
from riskwatch_shared.security import IDENTITY_HEADER, Identity
from riskwatch_shared.testing import identity_headers, running_app
from riskwatch_shared.testing.fixtures import Infra
from riskwatch_simulator.client import GatewayError, RiskWatchClient
from riskwatch_simulator.config_bundle import export_bundle, import_bundle, render

from .harness import database

ADA = Identity(subject="ada-config", roles=("admin",))
BOB = Identity(subject="bob-config", roles=("admin",))
RITA = Identity(subject="rita-config", roles=("risk_manager",))
SERVICES = ("alerting", "notify", "scoring")
WEBHOOK_TOKEN = "tok-9f8e7d6c5b4a"


@dataclass
class Install:
    clients: dict[str, httpx.AsyncClient]
    runtimes: dict[str, ServiceRuntime]
    apps: dict[str, ASGIApp]

    def through_gateway(self, who: Identity) -> RiskWatchClient:
        """The `riskwatch` command's client, its calls routed as the gateway routes them and
        signed for `who` (what the gateway does after checking the caller's token)."""

        async def gateway(scope: Scope, receive: Receive, send: Send) -> None:
            service = service_for_path(scope["path"])
            assert service is not None, scope["path"]
            signed = identity_headers(who)[IDENTITY_HEADER].encode()
            headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            headers.append((IDENTITY_HEADER.encode(), signed))
            await self.apps[service]({**scope, "headers": headers}, receive, send)

        return RiskWatchClient("http://gateway", transport=httpx.ASGITransport(app=gateway))

    async def scalar(self, service: str, sql: str) -> Any:
        async with self.runtimes[service].session_factory() as session:
            return await session.scalar(text(sql))

    async def call(
        self, service: str, who: Identity, method: str, path: str, body: Any = None, **params: Any
    ) -> httpx.Response:
        return await self.clients[service].request(
            method, path, json=body, params=params or None, headers=identity_headers(who)
        )

    async def ok(
        self, service: str, who: Identity, method: str, path: str, body: Any = None
    ) -> Any:
        response = await self.call(service, who, method, path, body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def export(self, who: Identity = ADA) -> dict[str, bytes]:
        parts = {}
        for service in SERVICES:
            response = await self.call(service, who, "GET", f"/v1/config/{service}/export")
            assert response.status_code == 200, response.text
            parts[service] = response.content
        return parts

    async def bundle(self) -> bytes:
        parts = await self.export()
        return canonical_bytes(compose(json.loads(part) for part in parts.values()))

    async def import_(
        self, bundle: bytes, mode: str, who: Identity = ADA, services: tuple[str, ...] = SERVICES
    ) -> dict[str, httpx.Response]:
        return {
            service: await self.clients[service].post(
                f"/v1/config/{service}/import",
                content=bundle,
                params={"mode": mode},
                headers={**identity_headers(who), "content-type": "application/json"},
            )
            for service in services
        }


@contextlib.asynccontextmanager
async def install(infra: Infra, tag: str) -> AsyncIterator[Install]:
    async with contextlib.AsyncExitStack() as stack:
        urls = {
            name: await stack.enter_async_context(database(infra, package, f"cfg_{tag}_{name}"))
            for name, package in (
                ("alerting", riskwatch_alerting),
                ("notify", riskwatch_notify),
                ("scoring", riskwatch_scoring),
            )
        }
        nats, suffix = infra.nats_url, f"{tag}-{uuid.uuid4().hex[:6]}"
        apps = {
            "alerting": create_alerting(
                AlertingSettings(
                    database_url=urls["alerting"],
                    NATS_URL=nats,
                    log_level="WARNING",
                    consumer_prefix=f"cfg-alerting-{suffix}",
                )
            ),
            "notify": create_notify(
                NotifySettings(
                    database_url=urls["notify"],
                    NATS_URL=nats,
                    log_level="WARNING",
                    alert_consumer_durable=f"cfg-notify-{suffix}",
                    # Loopback webhook URLs (no name resolution in a test).
                    RISKWATCH_DEV_MODE=True,
                )
            ),
            "scoring": create_scoring(
                ScoringSettings(
                    database_url=urls["scoring"],
                    NATS_URL=nats,
                    log_level="WARNING",
                    consumer_durable=f"cfg-scoring-{suffix}",
                    consumer_fetch_timeout=0.2,
                )
            ),
        }
        clients, runtimes = {}, {}
        for name, app in apps.items():
            clients[name], runtimes[name] = await stack.enter_async_context(running_app(app))
        yield Install(clients, runtimes, dict(apps))


RULE = {
    "name": "Large transfer",
    "rule_type": "transaction_anomaly",
    "severity": "high",
    "trigger_event_types": ["scoring.transaction_scored.v1"],
    "condition": "txn.amount > 10000",
    "cooldown_seconds": 600,
    "owner_team": "Fraud desk",
    "suggested_actions": ["Call the customer", "Check the counterparty"],
    "title_template": "Large transfer by {customer}",
    "summary_template": "A transfer of {amount}",
}


async def _seed(source: Install) -> dict[str, str]:
    """A configured install: rules (live, switched off, a draft), a list, teams, recipients
    (one with a webhook whose URL carries a token), subscriptions, an escalation policy."""
    ids: dict[str, str] = {}
    managed = await source.ok(
        "alerting",
        ADA,
        "POST",
        "/v1/lists",
        {
            "name": "high_risk_countries",
            "kind": "countries",
            "description": "FATF grey list",
            "entries": [{"value": "KP", "note": "sanctions"}, {"value": "IR", "note": None}],
        },
    )
    ids["list"] = managed["id"]
    for name, status in (
        ("Large transfer", "active"),
        ("Quiet rule", "disabled"),
        ("Idea", "draft"),
    ):
        rule = await source.ok("alerting", RITA, "POST", "/v1/rules", {**RULE, "name": name})
        ids[name] = rule["id"]
        if status == "draft":
            continue
        [proposal] = [
            p
            for p in await source.ok(
                "alerting", ADA, "GET", f"/v1/rule-proposals?rule_id={rule['id']}"
            )
            if p["status"] == "pending"
        ]
        await source.ok("alerting", ADA, "POST", f"/v1/rule-proposals/{proposal['id']}/approve")
        if status == "disabled":
            await source.ok("alerting", ADA, "POST", f"/v1/rules/{rule['id']}/disable")
    team = await source.ok(
        "notify", ADA, "POST", "/v1/teams", {"name": "Fraud desk", "description": "24/7"}
    )
    ids["team"] = team["id"]
    oncall = await source.ok(
        "notify",
        ADA,
        "POST",
        "/v1/recipients",
        {
            "name": "Fraud on call",
            "email": "fraud.oncall@bank.example",
            "phone": "+351 912 345 678",
            "time_zone": "Europe/Lisbon",
            "quiet_start": "22:00:00",
            "quiet_end": "07:00:00",
            "team_ids": [team["id"]],
            "staff_id": "fraud-oncall",
        },
    )
    ids["oncall"] = oncall["id"]
    hook = await source.ok(
        "notify",
        ADA,
        "POST",
        "/v1/recipients",
        {"name": "Case system", "webhook_url": f"https://127.0.0.1:9443/in?token={WEBHOOK_TOKEN}"},
    )
    ids["hook"] = hook["id"]
    await source.ok(
        "notify",
        ADA,
        "POST",
        "/v1/subscriptions",
        {"team_id": team["id"], "channels": ["email", "in_app"], "min_severity": "high"},
    )
    proposed = await source.call(
        "notify",
        ADA,
        "PUT",
        "/v1/escalation-policies/critical",
        {
            "levels": [
                {"after_seconds": 0, "channels": ["email"], "team_ids": [team["id"]]},
                {"after_seconds": 900, "channels": ["sms"], "recipient_ids": [oncall["id"]]},
            ],
            "repeat": 1,
        },
    )
    assert proposed.status_code == 202, proposed.text
    # Maker-checker: a second admin puts the policy live.
    await source.ok(
        "notify",
        BOB,
        "POST",
        f"/v1/escalation-policy-proposals/{proposed.json()['id']}/approve",
        {"comment": "source install"},
    )
    return ids


@dataclass
class Installs:
    """The configured install (`source`) and the same install emptied (`target`)."""

    source: Install
    target: Install
    ids: dict[str, str]


WIPE = {
    "alerting": (
        "TRUNCATE rules, managed_lists, list_proposals, list_audit, cache_versions CASCADE"
    ),
    "notify": (
        "TRUNCATE teams, recipients, subscriptions, escalation_policies, config_audit, "
        "escalation_policy_proposals, escalation_policy_audit CASCADE"
    ),
    "scoring": "TRUNCATE scoring_model, model_proposals, model_audit CASCADE",
}


async def empty(install_: Install) -> None:
    """What a new install has: no configuration, and the expert models scoring seeds."""
    for service, sql in WIPE.items():
        async with install_.runtimes[service].session_factory() as session:
            await session.execute(text(sql))
            if service == "scoring":
                await ensure_expert_models(session)
            await session.commit()


@pytest.fixture(scope="module")
async def installs(infra: Infra) -> AsyncIterator[Installs]:
    async with install(infra, "one") as only:
        yield Installs(only, only, await _seed(only))


async def test_the_export_is_one_canonical_bundle_without_secrets_or_timestamps(
    installs: Installs,
) -> None:
    parts = await installs.source.export()
    for service, raw in parts.items():
        document = json.loads(raw)
        assert set(document) == {"format", service}
        assert document["format"] == FORMAT
        assert canonical_bytes(document) == raw  # each part already canonical
    bundle = await installs.source.bundle()
    assert bundle == await installs.source.bundle()  # deterministic
    text = bundle.decode()
    document = json.loads(text)
    assert WEBHOOK_TOKEN not in text
    for volatile in (
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "added_by",
        "model_json",
    ):
        assert f'"{volatile}"' not in text
    [hook] = [r for r in document["notify"]["recipients"] if r["id"] == installs.ids["hook"]]
    assert (hook["webhook_url"], hook["webhook_url_withheld"]) == (None, True)
    [oncall] = [r for r in document["notify"]["recipients"] if r["id"] == installs.ids["oncall"]]
    assert (oncall["quiet_start"], oncall["quiet_end"]) == ("22:00:00", "07:00:00")
    assert oncall["team_ids"] == [installs.ids["team"]]
    rules = {rule["name"]: rule for rule in document["alerting"]["rules"]}
    assert [r["name"] for r in document["alerting"]["rules"]] == sorted(rules)
    assert {name: rule["status"] for name, rule in rules.items()} == {
        "Idea": "draft",
        "Large transfer": "active",
        "Quiet rule": "disabled",
    }
    assert rules["Large transfer"]["title_template"] == "Large transfer by {customer}"
    [managed] = document["alerting"]["lists"]
    assert managed["entries"] == [
        {"note": None, "value": "IR"},
        {"note": "sanctions", "value": "KP"},
    ]
    kinds = {model["kind"]: model["status"] for model in document["scoring"]["models"]}
    assert kinds == {"anomaly": "champion", "churn": "champion", "credit": "champion"}


async def test_only_an_admin_exports_or_imports(installs: Installs) -> None:
    bundle = await installs.source.bundle()
    before = await _counts(installs.target)
    for service in SERVICES:
        for path, method in (
            (f"/v1/config/{service}/export", "GET"),
            (f"/v1/config/{service}/import", "POST"),
        ):
            rule = DEFAULT_POLICY.rule_for(method, path)
            assert rule is not None
            assert rule.roles == frozenset({"admin"})
            assert not decide(rule, ("risk_manager",), None)
        refused = await installs.source.call(service, RITA, "GET", f"/v1/config/{service}/export")
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        [refused] = (await installs.target.import_(bundle, "apply", RITA, (service,))).values()
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert await _counts(installs.target) == before


COUNTED = {
    "alerting": (
        "rules",
        "rule_proposals",
        "rule_audit",
        "managed_lists",
        "list_proposals",
        "list_audit",
    ),
    "notify": (
        "teams",
        "recipients",
        "subscriptions",
        "escalation_policies",
        "escalation_policy_proposals",
        "config_audit",
    ),
    "scoring": ("scoring_model", "model_proposals", "model_audit"),
}


async def _counts(target: Install) -> dict[str, int]:
    return {
        f"{service}.{table}": await target.scalar(service, f"SELECT count(*) FROM {table}")
        for service, tables in COUNTED.items()
        for table in tables
    }


async def test_round_trip_into_an_empty_install_is_byte_identical(installs: Installs) -> None:
    source, target, ids = installs.source, installs.target, installs.ids
    bundle = await source.bundle()
    await empty(target)
    assert json.loads(await target.bundle())["alerting"] == {"lists": [], "rules": []}
    nothing = await _counts(target)

    # A dry run: the diff, and nothing stored.
    dry = await target.import_(bundle, "dry-run")
    reports = {service: response.json() for service, response in dry.items()}
    for service, response in dry.items():
        assert response.status_code == 200, response.text
        assert (reports[service]["mode"], reports[service]["stored"]) == ("dry-run", False)
    assert await _counts(target) == nothing
    assert reports["alerting"]["summary"] == {
        "change": 0,
        "create": 4,
        "left_alone": 0,
        "unchanged": 0,
    }
    assert (
        reports["notify"]["summary"]["create"] == 5
    )  # a team, two people, a subscription, a policy
    assert reports["scoring"]["summary"] == {
        "change": 0,
        "create": 0,
        "left_alone": 0,
        "unchanged": 3,
    }
    [created] = [o for o in reports["alerting"]["objects"] if o["key"] == ids["Large transfer"]]
    assert created["action"] == "create"
    assert {"field": "condition", "current": None, "wanted": "txn.amount > 10000"} in created[
        "changes"
    ]

    # Applied by ada: rules become proposals, the rest is stored directly and audited.
    applied = {s: r.json() for s, r in (await target.import_(bundle, "apply")).items()}
    rules = {o["name"]: o for o in applied["alerting"]["objects"] if o["kind"] == "rule"}
    assert rules["Large transfer"]["applied"] == "proposal"
    assert rules["Idea"]["applied"] == "proposal"  # a draft, as in the bundle
    assert rules["Quiet rule"]["applied"] == "direct"  # switched off at once
    statuses = {
        r["name"]: r["status"] for r in await target.ok("alerting", ADA, "GET", "/v1/rules")
    }
    assert statuses == {"Idea": "draft", "Large transfer": "draft", "Quiet rule": "disabled"}
    # A team, two recipients, a subscription directly (audited); the policy is a proposal.
    audited = "SELECT count(*) FROM config_audit WHERE actor = 'ada-config'"
    assert await target.scalar("notify", audited) == 4
    trail = await target.ok("notify", ADA, "GET", "/v1/config/notify/audit")
    assert {(e["subject"], e["action"], e["actor"]) for e in trail} >= {
        (f"team:{ids['team']}", "import_created", "ada-config"),
        (f"recipient:{ids['oncall']}", "import_created", "ada-config"),
    }
    [team_entry] = [e for e in trail if e["subject"] == f"team:{ids['team']}"]
    assert {"field": "name", "current": None, "wanted": "Fraud desk"} in team_entry["detail"][
        "changes"
    ]
    refused = await target.call("notify", RITA, "GET", "/v1/config/notify/audit")
    assert refused.status_code == 403
    [policy] = [o for o in applied["notify"]["objects"] if o["kind"] == "escalation_policy"]
    assert policy["applied"] == "proposal"
    assert await target.ok("notify", ADA, "GET", "/v1/escalation-policies") == []
    # No active rule names the list yet: created at once, in its history.
    [listed] = [o for o in applied["alerting"]["objects"] if o["kind"] == "list"]
    assert listed["applied"] == "direct"
    created_by = f"SELECT actor FROM list_audit WHERE subject = '{ids['list']}'"
    assert await target.scalar("alerting", created_by) == "ada-config"
    [hook] = [o for o in applied["notify"]["objects"] if o["key"] == ids["hook"]]
    assert hook["note"] == "its webhook URL was withheld from the bundle: set it here"

    # The author cannot approve their own import; a second admin does.
    proposal = rules["Large transfer"]["proposal_id"]
    own = await target.call("alerting", ADA, "POST", f"/v1/rule-proposals/{proposal}/approve")
    assert own.status_code == 403, own.text
    await target.ok("alerting", BOB, "POST", f"/v1/rule-proposals/{proposal}/approve")
    path = f"/v1/escalation-policy-proposals/{policy['proposal_id']}/approve"
    assert (await target.call("notify", ADA, "POST", path)).status_code == 403
    await target.ok("notify", BOB, "POST", path)
    # The webhook's secret URL is provisioned in the new install by hand, as every secret is.
    hook_row = await target.ok("notify", ADA, "GET", f"/v1/recipients/{ids['hook']}")
    hook_row.pop("id"), hook_row.pop("created_at")
    hook_row["webhook_url"] = f"https://127.0.0.1:9443/in?token={WEBHOOK_TOKEN}"
    await target.ok("notify", ADA, "PUT", f"/v1/recipients/{ids['hook']}", hook_row)

    assert await target.bundle() == bundle
    again = {s: r.json() for s, r in (await target.import_(bundle, "dry-run")).items()}
    for report in again.values():
        assert report["summary"]["create"] == report["summary"]["change"] == 0


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    return problem


async def test_a_hostile_bundle_is_refused_and_stores_nothing(installs: Installs) -> None:
    source = installs.source
    before = await source.bundle()
    document = json.loads(before)
    rule = document["alerting"]["rules"][0]
    hostile: list[tuple[bytes, int, str]] = [
        (b"not json", 422, "alerting"),
        (b"[]", 422, "notify"),
        (json.dumps({**document, "format": "riskwatch-config/v2"}).encode(), 422, "scoring"),
        (json.dumps({**document, "extra": {}}).encode(), 422, "alerting"),
        (
            json.dumps(
                {
                    **document,
                    "alerting": {**document["alerting"], "rules": [{**rule, "owner": "x"}]},
                }
            ).encode(),
            422,
            "alerting",
        ),
        (
            json.dumps(
                {**document, "alerting": {"rules": [{**rule, "cooldown_seconds": "soon"}]}}
            ).encode(),
            422,
            "alerting",
        ),
        (
            json.dumps(
                {**document, "notify": {"teams": [{"id": "not-a-uuid", "name": "x"}]}}
            ).encode(),
            422,
            "notify",
        ),
        (b'{"format": "riskwatch-config/v1", "scoring": {"models": NaN}}', 422, "scoring"),
        (b"[" * 100 + b"]" * 100, 422, "notify"),
        (
            b'{"format": "riskwatch-config/v1", "x": "' + b"a" * (MAX_BUNDLE_BYTES) + b'"}',
            413,
            "alerting",
        ),
    ]
    for raw, status, service in hostile:
        [response] = (await source.import_(raw, "apply", ADA, (service,))).values()
        problem = _problem(response, status)
        assert problem["status"] == status
    assert await source.bundle() == before


async def test_the_command_composes_one_bundle_and_applies_only_after_a_dry_run(
    installs: Installs,
) -> None:
    """`riskwatch config export|import`, its calls routed as the gateway routes them."""
    source = installs.source
    async with source.through_gateway(ADA) as client:
        bundle = await export_bundle(client)
        assert bundle == await source.bundle()
        said = render(await import_bundle(client, bundle, apply=False))
        assert "alerting (dry-run): 0 change, 0 create, 0 left_alone, 4 unchanged" in said

        document = json.loads(bundle)
        [rule] = [r for r in document["alerting"]["rules"] if r["name"] == "Large transfer"]
        rule["condition"] = "txn.amount > 20000"
        changed = canonical_bytes(document)
        said = render(await import_bundle(client, changed, apply=False))
        assert "change     rule Large transfer\n" in said
        assert "condition: 'txn.amount > 10000' -> 'txn.amount > 20000'" in said

        reports = await import_bundle(client, changed, apply=True)
        assert "apply" in render(reports)
        [applied] = [o for o in reports["alerting"]["objects"] if o["key"] == rule["id"]]
        assert applied["applied"] == "proposal"
        # The live rule keeps running unchanged while its proposal waits.
        live = await source.ok("alerting", ADA, "GET", f"/v1/rules/{rule['id']}")
        assert (live["status"], live["condition"]) == ("active", "txn.amount > 10000")
        await source.ok(
            "alerting",
            BOB,
            "POST",
            f"/v1/rule-proposals/{applied['proposal_id']}/reject",
            {"comment": "not now"},
        )

        with pytest.raises(GatewayError, match="not a bundle"):
            await import_bundle(client, bundle.replace(b"config/v1", b"config/v9"), apply=True)
    async with source.through_gateway(RITA) as client:
        with pytest.raises(GatewayError) as refused:
            await export_bundle(client)
        assert refused.value.status == 403


async def test_switching_a_rule_back_on_is_a_proposal_and_unknown_models_are_left_alone(
    installs: Installs,
) -> None:
    source, ids = installs.source, installs.ids
    document = json.loads(await source.bundle())
    rule_id = ids["Large transfer"]
    await source.ok("alerting", ADA, "POST", f"/v1/rules/{rule_id}/disable")
    models = document["scoring"]["models"]
    [anomaly] = [m for m in models if m["kind"] == "anomaly"]
    anomaly["status"] = "retired"  # the champion: it retires only when another one serves
    trained = {**anomaly, "key": "credit/trained-v9", "kind": "credit"}
    models.append({**trained, "model_version": "trained-v9", "status": "champion"})
    bundle = canonical_bytes(document)
    before = await _counts(source)

    dry = {s: r.json() for s, r in (await source.import_(bundle, "dry-run")).items()}
    [switch] = [o for o in dry["alerting"]["objects"] if o["key"] == rule_id]
    assert (switch["action"], switch["changes"]) == (
        "change",
        [{"field": "status", "current": "disabled", "wanted": "active"}],
    )
    notes = {o["key"]: (o["action"], o["note"]) for o in dry["scoring"]["objects"]}
    assert notes["credit/trained-v9"][0] == "create"
    assert "not registered in this install" in notes["credit/trained-v9"][1]
    assert await _counts(source) == before

    applied = {s: r.json() for s, r in (await source.import_(bundle, "apply")).items()}
    [switch] = [o for o in applied["alerting"]["objects"] if o["key"] == rule_id]
    assert switch["applied"] == "proposal"
    live = await source.ok("alerting", ADA, "GET", f"/v1/rules/{rule_id}")
    assert live["status"] == "disabled"  # until a second person approves
    [anomaly_diff] = [o for o in applied["scoring"]["objects"] if o["key"] == anomaly["key"]]
    assert anomaly_diff["applied"] is None
    assert "does not become retired by itself" in anomaly_diff["note"]
    counted = await _counts(source)
    assert counted["scoring.scoring_model"] == before["scoring.scoring_model"]
    assert counted["scoring.model_proposals"] == before["scoring.model_proposals"]
    await source.ok("alerting", BOB, "POST", f"/v1/rule-proposals/{switch['proposal_id']}/approve")
    live = await source.ok("alerting", ADA, "GET", f"/v1/rules/{rule_id}")
    assert live["status"] == "active"


async def test_a_bundle_naming_what_another_object_holds_is_a_conflict(installs: Installs) -> None:
    source = installs.source
    document = json.loads(await source.bundle())
    document["notify"]["teams"].append(
        {"id": str(uuid.uuid4()), "name": "Fraud desk", "description": "a second one"}
    )
    bundle = canonical_bytes(document)
    before = await _counts(source)
    [dry] = (await source.import_(bundle, "dry-run", ADA, ("notify",))).values()
    [clash] = [o for o in dry.json()["objects"] if o["action"] == "create"]
    assert clash["note"].startswith("conflict: team ")
    [refused] = (await source.import_(bundle, "apply", ADA, ("notify",))).values()
    assert "config-import-conflict" in _problem(refused, 409)["type"]
    assert await _counts(source) == before
