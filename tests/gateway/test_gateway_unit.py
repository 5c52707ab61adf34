"""Pure parts of the gateway: routing, the policy table, rate limits, credentials, merging."""

from __future__ import annotations

import math

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_gateway.catalog import ServiceCatalog
from riskwatch_gateway.credentials import (
    api_secret_matches,
    hash_api_secret,
    hash_password,
    new_api_key,
    parse_api_key,
    verify_password,
)
from riskwatch_gateway.errors import RateLimited
from riskwatch_gateway.openapi import merge_openapi
from riskwatch_gateway.policy import DEFAULT_POLICY, ROLES, decide
from riskwatch_gateway.ratelimit import RateLimiter
from riskwatch_gateway.routing import service_for_path


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/customers", "customer"),
        ("/v1/customers/c1/credit-records", "customer"),
        ("/v1/transactions/batch", "customer"),
        ("/v1/customers/c1/features", "scoring"),
        ("/v1/customers/c1/risk/history", "scoring"),
        ("/v1/scores/transaction", "scoring"),
        ("/v1/models/m1/drift", "scoring"),
        ("/v1/model-proposals/p1/approve", "scoring"),
        ("/v1/models/m1/history", "scoring"),
        ("/v1/labels", "scoring"),
        ("/v1/rules/r1/activate", "alerting"),
        ("/v1/rule-templates", "alerting"),
        ("/v1/lists/l1/entries", "alerting"),
        ("/v1/list-proposals/p1/reject", "alerting"),
        ("/v1/alerts/a1/timeline", "alerting"),
        ("/v1/alerts/stream", "alerting"),
        ("/v1/desk/summary", "alerting"),
        ("/v1/watchlist/w1/reviews", "alerting"),
        ("/v1/rules/health", "alerting"),
        ("/v1/operational-alerts/o1/acknowledge", "alerting"),
        ("/v1/operational-alertsx", None),
        ("/v1/alerts/a1/notifications", "notify"),
        ("/v1/inbox/stream", "notify"),
        ("/v1/escalation-policies", "notify"),
        ("/v1/escalation-policies/high/history", "notify"),
        ("/v1/escalation-policy-proposals", "notify"),
        ("/v1/deliveries/d1/redrive", "notify"),
        ("/v1/auth/token", None),
        ("/v1/users", None),
        ("/v1/customersx", None),
        ("/v2/customers", None),
    ],
)
def test_routing_by_path_prefix(path: str, service: str | None) -> None:
    assert service_for_path(path) == service


@given(st.text(alphabet="abcdefghij-_0123456789", min_size=1, max_size=12))
def test_any_customer_subresource_routes_somewhere_sensible(segment: str) -> None:
    service = service_for_path(f"/v1/customers/{segment}/{segment}")
    assert service == ("scoring" if segment in ("features", "risk") else "customer")


def test_most_literal_template_wins() -> None:
    assert DEFAULT_POLICY.rule_for("GET", "/v1/alerts/export").template == "/v1/alerts/export"  # type: ignore[union-attr]
    assert DEFAULT_POLICY.rule_for("GET", "/v1/alerts/a1").template == "/v1/alerts/{id}"  # type: ignore[union-attr]
    unknown = DEFAULT_POLICY.rule_for("POST", "/v1/alerts/a1/some-new-action")
    assert unknown is not None
    assert unknown.is_area_default


def test_every_operation_has_one_row() -> None:
    keys = [(rule.method, rule.template) for rule in DEFAULT_POLICY.rules]
    assert len(keys) == len(set(keys))


def test_ingest_may_only_push_transactions() -> None:
    allowed = {(r.method, r.template) for r in DEFAULT_POLICY.rules if "ingest" in r.roles}
    assert allowed == {("POST", "/v1/transactions"), ("POST", "/v1/transactions/batch")}


def test_only_admins_manage_users_keys_and_rule_activation() -> None:
    for rule in DEFAULT_POLICY.rules:
        admin_only = rule.template.startswith(("/v1/users", "/v1/api-keys")) or (
            rule.template.startswith("/v1/rules/")
            and rule.template.rsplit("/", 1)[-1] in ("activate", "enable", "disable", "deactivate")
        )
        if admin_only:
            assert rule.roles == {"admin"}, rule


def test_only_model_managers_retire_a_model_version() -> None:
    rule = DEFAULT_POLICY.rule_for("POST", "/v1/models/m1/retire")
    assert rule is not None
    assert rule.template == "/v1/models/{id}/retire"
    assert decide(rule, ("risk_manager",), ())
    for role in ("analyst", "relationship_manager", "viewer", "ingest"):
        assert not decide(rule, (role,), ()), role


def test_unknown_operations_are_refused_and_scopes_narrow_a_key() -> None:
    assert not decide(DEFAULT_POLICY.rule_for("GET", "/v1/nowhere"), ROLES, ())
    rule = DEFAULT_POLICY.rule_for("GET", "/v1/alerts")
    assert decide(rule, ("analyst",), ("alerts:read",))
    assert not decide(rule, ("analyst",), ("customers:read",))
    assert decide(rule, ("analyst",), ("*",))


def test_rate_limiter_refills_and_says_how_long_to_wait() -> None:
    now = [0.0]
    limiter = RateLimiter(burst_seconds=10.0, clock=lambda: now[0])
    assert all(limiter.take("k", 60) == 0.0 for _ in range(10))  # a burst of 10 s at 1/s
    wait = limiter.take("k", 60)
    assert wait == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.take("k", 60) == 0.0
    assert limiter.take("other", 60) == 0.0  # buckets are per principal


@given(st.text(max_size=80))
def test_parse_api_key_never_crashes(text: str) -> None:
    parsed = parse_api_key(text)
    if parsed is not None:
        assert parsed.full == text


def test_api_keys_are_stored_as_hashes_and_passwords_with_argon2id() -> None:
    issued = new_api_key()
    parsed = parse_api_key(issued.full)
    assert parsed == issued
    stored = hash_api_secret(issued.secret)
    assert issued.secret.encode() not in stored
    assert api_secret_matches(issued.secret, stored)
    assert not api_secret_matches(issued.secret + "x", stored)
    password_hash = hash_password("s3cret-passphrase")
    assert password_hash.startswith("$argon2id$")
    assert verify_password(password_hash, "s3cret-passphrase")
    assert not verify_password(password_hash, "wrong")
    assert not verify_password(None, "anything")


def _doc(paths: dict[str, str], page_title: str) -> dict[str, object]:
    ref = {"$ref": "#/components/schemas/Page"}
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": ref}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {p: {"get": {"operationId": op, "responses": ok}} for p, op in paths.items()},
        "components": {"schemas": {"Page": {"type": "object", "title": page_title}}},
    }


def test_merge_keeps_routed_paths_renames_clashes_and_secures_operations() -> None:
    own = {"openapi": "3.1.0", "info": {"title": "gw", "version": "1"}, "paths": {}}
    merged = merge_openapi(
        own,
        {
            "customer": _doc({"/v1/customers": "list", "/v1/alerts": "stray"}, "customer"),
            "scoring": _doc({"/v1/models": "list"}, "scoring"),
        },
        owner_of=service_for_path,
    )
    assert set(merged["paths"]) == {"/v1/customers", "/v1/models"}
    assert set(merged["components"]["schemas"]) == {
        "Page",
        "ScoringPage",
        "Problem",
        "ProblemFieldError",
    }
    models = merged["paths"]["/v1/models"]["get"]
    assert models["operationId"] == "scoring-list"
    schema = models["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ScoringPage"}
    assert models["security"] == [{"bearerAuth": []}, {"oauth2Password": []}, {"apiKeyAuth": []}]
    assert {"401", "403", "429"} <= set(models["responses"])


def test_a_zero_limit_still_gives_a_finite_retry_after() -> None:
    assert RateLimited(math.inf).retry_after == 3600
    assert RateLimited(0.2).retry_after == 1


def test_a_missing_document_is_asked_for_again_soon_then_less_often() -> None:
    catalog = ServiceCatalog(
        httpx.AsyncClient(), {"customer": "http://c", "notify": "http://n"},
        own_doc=dict, refresh_seconds=30.0,
    )  # fmt: skip
    catalog.docs["customer"] = {"paths": {}}
    assert catalog.missing() == ["notify"]
    delays = [catalog.next_delay() for _ in range(7)]
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    catalog.docs["notify"] = {"paths": {}}
    assert catalog.missing() == []
    assert catalog.next_delay() == 30.0  # all in: the refresh period
    del catalog.docs["notify"]
    assert catalog.next_delay() == 0.2  # and soon again should one ever be missing
