"""Who may call what: one table of (method, path template) → allowed roles (pure).

Anything not in the table is refused (default deny). An API key with scopes is further limited
to the operations whose scope (`<area>:read` for GET, `<area>:write` otherwise, area being the
first segment after `/v1`) it lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ADMIN = frozenset({"admin"})
MANAGERS = frozenset({"admin", "risk_manager"})
WORKERS = frozenset({"admin", "risk_manager", "analyst"})
WORKERS_AND_RMS = WORKERS | {"relationship_manager"}
READERS = WORKERS | {"viewer"}
STAFF = WORKERS_AND_RMS | {"viewer"}
ONBOARDING = MANAGERS | {"relationship_manager"}
INTAKE = frozenset({"admin", "ingest"})
EVERYONE = STAFF | {"ingest"}
PUBLIC: frozenset[str] = frozenset()

ROLES: tuple[str, ...] = (
    "admin",
    "risk_manager",
    "analyst",
    "relationship_manager",
    "viewer",
    "ingest",
)

CRUD_WRITE = ("PUT", "PATCH", "DELETE")


def _crud(collection: str, *, read: frozenset[str], write: frozenset[str]) -> list[PolicyRow]:
    item = f"{collection}/{{id}}"
    rows: list[PolicyRow] = [
        ("GET", collection, read),
        ("POST", collection, write),
        ("GET", item, read),
    ]
    rows += [(method, item, write) for method in CRUD_WRITE]
    return rows


PolicyRow = tuple[str, str, frozenset[str]]

_CUSTOMER = "/v1/customers/{id}"

POLICY_TABLE: tuple[PolicyRow, ...] = (
    # The gateway's own operations.
    ("POST", "/v1/auth/token", PUBLIC),
    ("GET", "/v1/auth/me", EVERYONE),
    *_crud("/v1/users", read=ADMIN, write=ADMIN),
    ("GET", "/v1/api-keys", ADMIN),
    ("POST", "/v1/api-keys", ADMIN),
    ("GET", "/v1/api-keys/{id}", ADMIN),
    ("POST", "/v1/api-keys/{id}/rotate", ADMIN),
    ("POST", "/v1/api-keys/{id}/revoke", ADMIN),
    ("DELETE", "/v1/api-keys/{id}", ADMIN),
    # customer
    ("GET", "/v1/customers", STAFF),
    ("POST", "/v1/customers", ONBOARDING),
    ("POST", "/v1/customers/import", MANAGERS),
    ("GET", _CUSTOMER, STAFF),
    ("PATCH", _CUSTOMER, ONBOARDING),
    ("PUT", _CUSTOMER, ONBOARDING),
    ("GET", f"{_CUSTOMER}/credit-records", STAFF),
    ("POST", f"{_CUSTOMER}/credit-records", WORKERS),
    ("GET", f"{_CUSTOMER}/financial-profile", STAFF),
    ("PUT", f"{_CUSTOMER}/financial-profile", WORKERS_AND_RMS),
    ("POST", f"{_CUSTOMER}/financial-profile", WORKERS_AND_RMS),
    ("PATCH", f"{_CUSTOMER}/financial-profile", WORKERS_AND_RMS),
    ("GET", f"{_CUSTOMER}/accounts", STAFF),
    ("POST", f"{_CUSTOMER}/accounts", ONBOARDING),
    ("GET", f"{_CUSTOMER}/accounts/{{account_id}}", STAFF),
    ("PATCH", f"{_CUSTOMER}/accounts/{{account_id}}", ONBOARDING),
    ("GET", f"{_CUSTOMER}/interactions", STAFF),
    ("POST", f"{_CUSTOMER}/interactions", WORKERS_AND_RMS),
    ("GET", f"{_CUSTOMER}/transactions", STAFF),
    ("GET", f"{_CUSTOMER}/360", STAFF),
    ("GET", f"{_CUSTOMER}/audit", WORKERS),
    ("POST", "/v1/transactions", INTAKE),
    ("POST", "/v1/transactions/batch", INTAKE),
    ("GET", "/v1/transactions/{id}", STAFF),
    # scoring
    ("GET", f"{_CUSTOMER}/features", STAFF),
    ("GET", f"{_CUSTOMER}/risk", STAFF),
    ("GET", f"{_CUSTOMER}/risk/history", STAFF),
    ("POST", "/v1/scores/transaction", WORKERS),
    ("GET", "/v1/models", READERS),
    ("GET", "/v1/models/{id}", READERS),
    ("GET", "/v1/models/{id}/drift", READERS),
    ("POST", "/v1/models/{kind}/train", MANAGERS),
    ("POST", "/v1/models/{id}/activate", MANAGERS),
    ("POST", "/v1/models/{id}/shadow", MANAGERS),
    ("GET", "/v1/labels", READERS),
    ("POST", "/v1/labels", WORKERS),
    # alerting: rules are drafted by managers, switched on and off by admins only.
    *_crud("/v1/rules", read=READERS, write=MANAGERS),
    ("GET", "/v1/rules/{id}/versions", READERS),
    ("GET", "/v1/rules/{id}/versions/{version}", READERS),
    ("POST", "/v1/rules/{id}/activate", ADMIN),
    ("POST", "/v1/rules/{id}/disable", ADMIN),
    ("POST", "/v1/rules/{id}/backtest", WORKERS),
    ("POST", "/v1/rules/backtest", WORKERS),
    ("GET", "/v1/rule-templates", READERS),
    ("GET", "/v1/rule-templates/{id}", READERS),
    *_crud("/v1/lists", read=READERS, write=MANAGERS),
    ("GET", "/v1/lists/{id}/entries", READERS),
    ("POST", "/v1/lists/{id}/entries", MANAGERS),
    ("PUT", "/v1/lists/{id}/entries", MANAGERS),
    ("DELETE", "/v1/lists/{id}/entries/{entry}", MANAGERS),
    ("GET", "/v1/alerts", STAFF),
    ("GET", "/v1/alerts/export", WORKERS),
    ("GET", "/v1/alerts/stats", STAFF),
    ("GET", "/v1/alerts/{id}", STAFF),
    ("GET", "/v1/alerts/{id}/timeline", STAFF),
    ("POST", "/v1/alerts/{id}/acknowledge", WORKERS_AND_RMS),
    ("POST", "/v1/alerts/{id}/comments", WORKERS_AND_RMS),
    ("POST", "/v1/alerts/{id}/contact", WORKERS_AND_RMS),
    ("POST", "/v1/alerts/{id}/escalate", WORKERS_AND_RMS),
    ("POST", "/v1/alerts/{id}/investigate", WORKERS),
    ("POST", "/v1/alerts/{id}/resolve", WORKERS),
    ("POST", "/v1/alerts/{id}/assign", WORKERS),
    ("POST", "/v1/alerts/{id}/reopen", WORKERS),
    *_crud("/v1/cases", read=STAFF, write=WORKERS),
    # notify: everyone on staff has an inbox.
    ("GET", "/v1/inbox", STAFF),
    ("GET", "/v1/inbox/unread-count", STAFF),
    ("GET", "/v1/inbox/stream", STAFF),
    ("POST", "/v1/inbox/{id}/read", STAFF),
    ("POST", "/v1/inbox/read-all", STAFF),
    *_crud("/v1/recipients", read=READERS, write=MANAGERS),
    *_crud("/v1/teams", read=READERS, write=MANAGERS),
    ("POST", "/v1/teams/{id}/members", MANAGERS),
    ("DELETE", "/v1/teams/{id}/members/{member}", MANAGERS),
    *_crud("/v1/subscriptions", read=READERS, write=MANAGERS),
    *_crud("/v1/escalation-policies", read=READERS, write=MANAGERS),
    ("GET", "/v1/alerts/{id}/notifications", STAFF),
    ("GET", "/v1/notifications", READERS),
    ("GET", "/v1/deliveries", MANAGERS),
    ("GET", "/v1/deliveries/{id}", MANAGERS),
    ("POST", "/v1/deliveries/{id}/redrive", MANAGERS),
)


@dataclass(frozen=True)
class Rule:
    method: str
    template: str
    roles: frozenset[str]
    pattern: re.Pattern[str]
    literal_segments: int

    @property
    def is_public(self) -> bool:
        return not self.roles

    @property
    def scope(self) -> str:
        return operation_scope(self.method, self.template)


def operation_scope(method: str, path: str) -> str:
    area = path.removeprefix("/v1/").split("/", 1)[0]
    return f"{area}:{'read' if method in ('GET', 'HEAD') else 'write'}"


def _compile(template: str) -> tuple[re.Pattern[str], int]:
    segments = template.strip("/").split("/")
    parts = ["[^/]+" if s.startswith("{") else re.escape(s) for s in segments]
    literal = sum(1 for s in segments if not s.startswith("{"))
    return re.compile("^/" + "/".join(parts) + "/?$"), literal


class Policy:
    """Lookup of the rule for a request; the most literal template wins (`/alerts/export`
    before `/alerts/{id}`)."""

    def __init__(self, rows: Iterable[PolicyRow] = POLICY_TABLE) -> None:
        self.rules: list[Rule] = []
        self._by_method: dict[str, list[Rule]] = {}
        for method, template, roles in rows:
            pattern, literal = _compile(template)
            rule = Rule(method, template, roles, pattern, literal)
            self.rules.append(rule)
            self._by_method.setdefault(method, []).append(rule)
        for rules in self._by_method.values():
            rules.sort(key=lambda r: (-r.template.count("/"), -r.literal_segments))

    def rule_for(self, method: str, path: str) -> Rule | None:
        lookup_method = "GET" if method == "HEAD" else method
        for rule in self._by_method.get(lookup_method, ()):
            if rule.pattern.match(path):
                return rule
        return None


def decide(rule: Rule | None, roles: Iterable[str], scopes: Iterable[str]) -> bool:
    """Whether an authenticated caller with these roles (and key scopes, if any) may proceed."""
    if rule is None:
        return False
    if rule.is_public:
        return True
    if not rule.roles.intersection(roles):
        return False
    scope_list = tuple(scopes)
    return not scope_list or rule.scope in scope_list or "*" in scope_list


DEFAULT_POLICY = Policy()
