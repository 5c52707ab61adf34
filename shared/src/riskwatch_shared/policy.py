"""Who may call what: one table of (method, path template) -> allowed roles (pure).

One definition for the whole system: the gateway admits by it, and every service checks it
again for each `/v1` call behind the gateway (`riskwatch_shared.app`), so a service reached
directly refuses what the gateway would.

Anything not in the table is refused (default deny). A template segment `{name}` matches one
path segment, a final `{rest*}` one or more: those area-wide rows come last, so operations a
service adds later are covered by its area's default until they get a row of their own.
An API key with scopes is further limited to the operations whose scope (`<area>:read` for
GET, `<area>:write` otherwise, area being the first segment after `/v1`) it lists.
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
# Core banking's keys push transactions and do nothing else.
INTAKE = frozenset({"admin", "ingest"})
PUBLIC: frozenset[str] = frozenset()

ROLES: tuple[str, ...] = (
    "admin",
    "risk_manager",
    "analyst",
    "relationship_manager",
    "viewer",
    "ingest",
)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
REST = "{rest*}"

PolicyRow = tuple[str, str, frozenset[str]]


def _crud(collection: str, *, read: frozenset[str], write: frozenset[str]) -> list[PolicyRow]:
    item = f"{collection}/{{id}}"
    rows: list[PolicyRow] = [
        ("GET", collection, read),
        ("POST", collection, write),
        ("GET", item, read),
    ]
    rows += [(method, item, write) for method in ("PUT", "PATCH", "DELETE")]
    return rows


def _area(prefix: str, *, read: frozenset[str], write: frozenset[str]) -> list[PolicyRow]:
    """The defaults of an area, for operations without a row of their own."""
    rows: list[PolicyRow] = [("GET", f"{prefix}/{REST}", read)]
    return rows + [(method, f"{prefix}/{REST}", write) for method in WRITE_METHODS]


_CUSTOMER = "/v1/customers/{id}"
_ALERT = "/v1/alerts/{id}"
_RULE = "/v1/rules/{id}"
_CASE = "/v1/cases/{id}"

GATEWAY_TABLE: tuple[PolicyRow, ...] = (
    ("POST", "/v1/auth/token", PUBLIC),
    # The id_token, the refresh token are the credentials (checked by the route itself).
    ("POST", "/v1/auth/oidc", PUBLIC),
    ("POST", "/v1/auth/refresh", PUBLIC),
    ("POST", "/v1/auth/revoke", PUBLIC),
    ("GET", "/v1/auth/me", STAFF),
    ("GET", "/v1/auth/jwks", PUBLIC),
    ("GET", "/v1/users", ADMIN),
    ("POST", "/v1/users", ADMIN),
    ("GET", "/v1/users/{id}", ADMIN),
    ("PATCH", "/v1/users/{id}", ADMIN),
    ("DELETE", "/v1/users/{id}", ADMIN),
    ("GET", "/v1/api-keys", ADMIN),
    ("POST", "/v1/api-keys", ADMIN),
    ("GET", "/v1/api-keys/{id}", ADMIN),
    ("POST", "/v1/api-keys/{id}/rotate", ADMIN),
    ("POST", "/v1/api-keys/{id}/revoke", ADMIN),
    ("GET", "/v1/audit-log", ADMIN),
    # Dead letters of each service: inspect and re-drive (riskwatch_shared.messaging.deadletters).
    ("GET", "/v1/dead-letters/{service}", ADMIN),
    ("GET", "/v1/dead-letters/{service}/{id}", ADMIN),
    ("POST", "/v1/dead-letters/{service}/{id}/redrive", ADMIN),
    ("GET", "/v1/dead-letters/{service}/audit/{consumer}", ADMIN),
)

SERVICES_TABLE: tuple[PolicyRow, ...] = (
    # customer
    ("GET", "/v1/customers", STAFF),
    ("POST", "/v1/customers", ONBOARDING),
    ("POST", "/v1/customers/import", MANAGERS),
    ("GET", _CUSTOMER, STAFF),
    ("PATCH", _CUSTOMER, ONBOARDING),
    ("PUT", _CUSTOMER, ONBOARDING),
    ("DELETE", _CUSTOMER, MANAGERS),
    ("GET", f"{_CUSTOMER}/credit-records", STAFF),
    ("POST", f"{_CUSTOMER}/credit-records", WORKERS),
    ("GET", f"{_CUSTOMER}/financial-profile", STAFF),
    ("GET", f"{_CUSTOMER}/financial-profile/history", STAFF),
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
    ("GET", f"{_CUSTOMER}/measures", STAFF),
    ("POST", f"{_CUSTOMER}/measures/{{measure_id}}/lift", WORKERS),
    ("GET", f"{_CUSTOMER}/audit", WORKERS),
    ("POST", "/v1/transactions", INTAKE),
    ("POST", "/v1/transactions/batch", INTAKE),
    ("GET", "/v1/transactions", STAFF),
    ("GET", "/v1/transactions/{id}", STAFF),
    # scoring
    ("GET", f"{_CUSTOMER}/features", STAFF),
    ("GET", f"{_CUSTOMER}/risk", STAFF),
    ("GET", f"{_CUSTOMER}/risk/history", STAFF),
    # The customers-by-risk dashboard (an RM's of their own; names masked for viewers).
    ("GET", "/v1/customers/risk-distribution", STAFF),
    ("POST", f"{_CUSTOMER}/risk/recompute", WORKERS),
    ("POST", "/v1/scores/transaction", WORKERS),
    ("GET", "/v1/models", READERS),
    ("GET", "/v1/models/{id}", READERS),
    ("GET", "/v1/models/{id}/drift", READERS),
    ("POST", "/v1/models/{kind}/train", MANAGERS),
    ("POST", "/v1/models/{id}/activate", MANAGERS),
    ("POST", "/v1/models/{id}/shadow", MANAGERS),
    ("POST", "/v1/models/{id}/retire", MANAGERS),
    # Maker-checker (issue 23): activate/shadow propose; a second manager or admin decides
    # (never the author: checked in scoring).
    ("GET", "/v1/models/{id}/history", READERS),
    ("GET", "/v1/model-proposals", READERS),
    ("GET", "/v1/model-proposals/{id}", READERS),
    ("POST", "/v1/model-proposals/{id}/approve", MANAGERS),
    ("POST", "/v1/model-proposals/{id}/reject", MANAGERS),
    ("GET", "/v1/labels", READERS),
    ("POST", "/v1/labels", WORKERS),
    # alerting: rules are drafted by managers, switched on and off by admins only.
    # Detection health (issue 23): every reader sees each rule's fire rate, volume and
    # precision (before the rule's own row: `health` is not a rule id).
    ("GET", "/v1/rules/health", READERS),
    ("GET", f"{_RULE}/health", READERS),
    *_crud("/v1/rules", read=READERS, write=MANAGERS),
    ("GET", f"{_RULE}/versions", READERS),
    ("POST", f"{_RULE}/versions", MANAGERS),
    ("GET", f"{_RULE}/versions/{{version}}", READERS),
    *(
        (("POST", f"{_RULE}/{verb}", ADMIN))
        for verb in ("activate", "enable", "disable", "deactivate")
    ),
    *(
        ("POST", f"{_RULE}/versions/{{version}}/{verb}", ADMIN)
        for verb in ("activate", "enable", "disable", "deactivate")
    ),
    # Maker-checker (issue 23): managers propose (the writes above), a second manager or
    # admin approves or rejects; the author never approves their own (checked in alerting).
    ("GET", f"{_RULE}/history", READERS),
    # Operational alerts (detection health): readers see them, managers acknowledge them.
    ("GET", "/v1/operational-alerts", READERS),
    ("GET", "/v1/operational-alerts/{id}", READERS),
    ("POST", "/v1/operational-alerts/{id}/acknowledge", MANAGERS),
    ("GET", "/v1/rule-proposals", READERS),
    ("GET", "/v1/rule-proposals/{id}", READERS),
    ("POST", "/v1/rule-proposals/{id}/approve", MANAGERS),
    ("POST", "/v1/rule-proposals/{id}/reject", MANAGERS),
    # Shadow runs (issue 23 item 2): managers put proposed versions in shadow; staff who read
    # rules read the comparison (counts) and the would-be hits (masked as alerts are).
    ("POST", "/v1/rule-proposals/shadow", MANAGERS),
    ("POST", "/v1/rule-proposals/{id}/shadow", MANAGERS),
    ("DELETE", "/v1/rule-proposals/{id}/shadow", MANAGERS),
    ("GET", "/v1/rule-proposals/{id}/shadow", READERS),
    ("GET", "/v1/rule-proposals/{id}/shadow-comparison", READERS),
    ("GET", "/v1/rule-proposals/{id}/shadow-hits", READERS),
    ("GET", f"{_RULE}/shadow-comparison", READERS),
    # Percentage rollouts: an approved version for a share of customers, moved by managers.
    ("POST", f"{_RULE}/rollout", MANAGERS),
    ("DELETE", f"{_RULE}/rollout", MANAGERS),
    ("POST", f"{_RULE}/backtest", WORKERS),
    ("POST", "/v1/rules/backtest", WORKERS),
    ("POST", "/v1/rules/validate", WORKERS),
    ("GET", "/v1/rule-fields", READERS),
    ("POST", "/v1/backtests", WORKERS),
    ("GET", "/v1/backtests/{id}", READERS),
    # Backtests as jobs (issue 23): risk managers and admins only; inside, a risk manager
    # sees and cancels their own jobs, an admin everyone's (checked in alerting).
    ("GET", "/v1/backtest-jobs", MANAGERS),
    ("POST", "/v1/backtest-jobs", MANAGERS),
    ("GET", "/v1/backtest-jobs/{id}", MANAGERS),
    ("GET", "/v1/backtest-jobs/{id}/events", MANAGERS),
    ("POST", "/v1/backtest-jobs/{id}/cancel", MANAGERS),
    ("GET", "/v1/rule-templates", READERS),
    ("GET", "/v1/rule-templates/{id}", READERS),
    ("POST", "/v1/rule-templates/{id}/rules", MANAGERS),
    *_crud("/v1/lists", read=READERS, write=MANAGERS),
    ("GET", "/v1/lists/{id}/entries", READERS),
    ("POST", "/v1/lists/{id}/entries", MANAGERS),
    ("PUT", "/v1/lists/{id}/entries", MANAGERS),
    ("DELETE", "/v1/lists/{id}/entries/{entry}", MANAGERS),
    ("POST", "/v1/lists/{id}/entries/remove", MANAGERS),
    # Maker-checker (issue 23): a write to a list an active rule names is a proposal; a second
    # manager or admin decides (never the author: checked in alerting).
    ("GET", "/v1/lists/{id}/history", READERS),
    ("GET", "/v1/list-proposals", READERS),
    ("GET", "/v1/list-proposals/{id}", READERS),
    ("POST", "/v1/list-proposals/{id}/approve", MANAGERS),
    ("POST", "/v1/list-proposals/{id}/reject", MANAGERS),
    ("GET", "/v1/alerts", STAFF),
    # The alert desk: the live stream, bulk assignment and the start page.
    ("GET", "/v1/alerts/stream", STAFF),
    ("POST", "/v1/alerts/assign", WORKERS),
    ("GET", "/v1/desk/summary", STAFF),
    # The watch list: staff read it (an RM their own customers'); analysts and up change it.
    ("GET", "/v1/watchlist", STAFF),
    ("GET", "/v1/watchlist/report", STAFF),
    # Credit early warning: the catalogue and the customers' indicators (an RM their own
    # customers'); the segment baselines recomputed by risk managers.
    ("GET", "/v1/warnings", STAFF),
    ("GET", "/v1/warnings/catalogue", STAFF),
    ("GET", "/v1/warnings/baselines", READERS),
    ("POST", "/v1/warnings/baselines", MANAGERS),
    ("POST", "/v1/watchlist", WORKERS),
    ("GET", "/v1/watchlist/{id}", STAFF),
    ("POST", "/v1/watchlist/{id}/reviews", WORKERS),
    ("POST", "/v1/watchlist/{id}/exit", WORKERS),
    ("GET", "/v1/alerts/export", WORKERS),
    ("GET", "/v1/alerts/stats", STAFF),
    # Dashboards (read-only aggregates; an RM's cover their own customers).
    ("GET", "/v1/alerts/stats/daily", STAFF),
    ("GET", "/v1/watchlist/stats", STAFF),
    ("GET", _ALERT, STAFF),
    ("GET", f"{_ALERT}/timeline", STAFF),
    *(
        ("POST", f"{_ALERT}/{verb}", WORKERS_AND_RMS)
        for verb in ("acknowledge", "comment", "comments", "contact", "escalate")
    ),
    *(
        ("POST", f"{_ALERT}/{verb}", WORKERS)
        for verb in ("investigate", "resolve", "assign", "reopen", "close", "measures")
    ),
    *_crud("/v1/cases", read=STAFF, write=WORKERS),
    ("GET", "/v1/cases/export", WORKERS),
    ("GET", f"{_CASE}/timeline", STAFF),
    ("GET", f"{_CASE}/report", STAFF),
    ("POST", f"{_CASE}/comments", WORKERS_AND_RMS),
    *(
        ("POST", f"{_CASE}/{verb}", WORKERS)
        for verb in ("assign", "investigate", "close", "reopen")
    ),
    # Suppressions: analysts snooze a rule for one target while they work its case.
    ("GET", f"{_RULE}/suppressions", READERS),
    ("POST", f"{_RULE}/suppressions", WORKERS),
    ("POST", f"{_RULE}/suppressions/{{suppression}}/lift", WORKERS),
    # notify: everyone on staff has an inbox.
    ("GET", "/v1/inbox", STAFF),
    ("GET", "/v1/inbox/unread-count", STAFF),
    ("GET", "/v1/inbox/stream", STAFF),
    ("POST", "/v1/inbox/{id}/read", STAFF),
    ("POST", "/v1/inbox/read-all", STAFF),
    *_crud("/v1/recipients", read=READERS, write=MANAGERS),
    ("POST", "/v1/recipients/{id}/test", MANAGERS),
    *_crud("/v1/teams", read=READERS, write=MANAGERS),
    ("POST", "/v1/teams/{id}/members", MANAGERS),
    ("DELETE", "/v1/teams/{id}/members/{member}", MANAGERS),
    *_crud("/v1/subscriptions", read=READERS, write=MANAGERS),
    *_crud("/v1/escalation-policies", read=READERS, write=MANAGERS),
    # Maker-checker (issue 23): PUT/DELETE above propose; a second manager or admin decides
    # (never the author: checked in notify).
    ("GET", "/v1/escalation-policies/{id}/history", READERS),
    ("GET", "/v1/escalation-policy-proposals", READERS),
    ("GET", "/v1/escalation-policy-proposals/{id}", READERS),
    ("POST", "/v1/escalation-policy-proposals/{id}/approve", MANAGERS),
    ("POST", "/v1/escalation-policy-proposals/{id}/reject", MANAGERS),
    ("GET", f"{_ALERT}/notifications", STAFF),
    ("GET", "/v1/notifications", READERS),
    ("GET", "/v1/deliveries", MANAGERS),
    ("GET", "/v1/deliveries/{id}", MANAGERS),
    *(
        ("POST", f"/v1/deliveries/{{id}}/{verb}", MANAGERS)
        for verb in ("redrive", "re-drive", "retry")
    ),
    # Configuration as code (issue 23): each service exports and imports its own section of
    # the bundle; admins only (it holds every recipient's contact details).
    *(
        (method, f"/v1/config/{service}/{verb}", ADMIN)
        for service in ("alerting", "notify", "scoring")
        for method, verb in (("GET", "export"), ("POST", "import"))
    ),
    # What imports changed directly in notify (the other kinds are in their own histories).
    ("GET", "/v1/config/notify/audit", ADMIN),
)

# Area defaults: reads for whoever reads the area, writes for whoever manages it.
AREA_TABLE: tuple[PolicyRow, ...] = (
    *_area("/v1/customers", read=STAFF, write=WORKERS),
    ("GET", f"/v1/transactions/{REST}", STAFF),
    *_area("/v1/scores", read=READERS, write=WORKERS),
    *_area("/v1/models", read=READERS, write=MANAGERS),
    *_area("/v1/model-proposals", read=READERS, write=MANAGERS),
    *_area("/v1/labels", read=READERS, write=WORKERS),
    *_area("/v1/rules", read=READERS, write=MANAGERS),
    *_area("/v1/rule-templates", read=READERS, write=MANAGERS),
    *_area("/v1/rule-proposals", read=READERS, write=MANAGERS),
    *_area("/v1/operational-alerts", read=READERS, write=MANAGERS),
    *_area("/v1/rule-fields", read=READERS, write=MANAGERS),
    *_area("/v1/backtests", read=READERS, write=WORKERS),
    *_area("/v1/backtest-jobs", read=MANAGERS, write=MANAGERS),
    *_area("/v1/lists", read=READERS, write=MANAGERS),
    *_area("/v1/list-proposals", read=READERS, write=MANAGERS),
    *_area("/v1/alerts", read=STAFF, write=WORKERS),
    *_area("/v1/cases", read=STAFF, write=WORKERS),
    *_area("/v1/desk", read=STAFF, write=WORKERS),
    *_area("/v1/watchlist", read=STAFF, write=WORKERS),
    *_area("/v1/warnings", read=STAFF, write=MANAGERS),
    *_area("/v1/inbox", read=STAFF, write=STAFF),
    *_area("/v1/recipients", read=READERS, write=MANAGERS),
    *_area("/v1/teams", read=READERS, write=MANAGERS),
    *_area("/v1/subscriptions", read=READERS, write=MANAGERS),
    *_area("/v1/escalation-policies", read=READERS, write=MANAGERS),
    *_area("/v1/escalation-policy-proposals", read=READERS, write=MANAGERS),
    *_area("/v1/notifications", read=READERS, write=MANAGERS),
    *_area("/v1/deliveries", read=MANAGERS, write=MANAGERS),
)

POLICY_TABLE: tuple[PolicyRow, ...] = GATEWAY_TABLE + SERVICES_TABLE + AREA_TABLE


@dataclass(frozen=True)
class Rule:
    method: str
    template: str
    roles: frozenset[str]
    pattern: re.Pattern[str]
    # Sort key: exact templates before area defaults, more segments and literals first.
    priority: tuple[int, int, int]

    @property
    def is_public(self) -> bool:
        return not self.roles

    @property
    def is_area_default(self) -> bool:
        return self.template.endswith(REST)

    @property
    def scope(self) -> str:
        return operation_scope(self.method, self.template)


def operation_scope(method: str, path: str) -> str:
    return f"{path_area(path)}:{'read' if method in ('GET', 'HEAD') else 'write'}"


def path_area(path: str) -> str:
    return path.removeprefix("/v1/").split("/", 1)[0]


def _compile(template: str) -> tuple[re.Pattern[str], tuple[int, int, int]]:
    segments = template.strip("/").split("/")
    parts: list[str] = []
    for segment in segments:
        if segment == REST:
            parts.append(".+")
        elif segment.startswith("{"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(segment))
    literal = sum(1 for s in segments if not s.startswith("{"))
    priority = (int(template.endswith(REST)), -len(segments), -literal)
    return re.compile("^/" + "/".join(parts) + "/?$"), priority


class Policy:
    """Lookup of the rule for a request; the most literal template wins (`/alerts/export`
    before `/alerts/{id}`), area defaults last. Rules are indexed by method and area."""

    def __init__(self, rows: Iterable[PolicyRow] = POLICY_TABLE) -> None:
        self.rules: list[Rule] = []
        self._index: dict[tuple[str, str], list[Rule]] = {}
        for method, template, roles in rows:
            pattern, priority = _compile(template)
            rule = Rule(method, template, roles, pattern, priority)
            self.rules.append(rule)
            self._index.setdefault((method, path_area(template)), []).append(rule)
        for rules in self._index.values():
            rules.sort(key=lambda r: r.priority)

    def rule_for(self, method: str, path: str) -> Rule | None:
        lookup_method = "GET" if method == "HEAD" else method
        for rule in self._index.get((lookup_method, path_area(path)), ()):
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


def role_matrix_markdown(rows: Iterable[PolicyRow] = POLICY_TABLE) -> str:
    """The policy table as the Markdown matrix `docs/security.md` shows (a test keeps the two
    equal, so the document cannot drift from what is enforced)."""
    header = "| method | path | " + " | ".join(ROLES) + " |"
    lines = [header, "| --- | --- | " + " | ".join("---" for _ in ROLES) + " |"]
    for method, template, roles in rows:
        cells = ["public" if not roles else ("✓" if role in roles else "") for role in ROLES]
        lines.append(f"| {method} | `{template}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


MATRIX_START, MATRIX_END = "<!-- role-matrix:start -->", "<!-- role-matrix:end -->"


def with_role_matrix(document: str) -> str:
    """`document` with the text between the matrix markers replaced by the current matrix."""
    head, _, rest = document.partition(MATRIX_START)
    _, _, tail = rest.partition(MATRIX_END)
    return f"{head}{MATRIX_START}\n{role_matrix_markdown()}{MATRIX_END}{tail}"


if __name__ == "__main__":  # python -m riskwatch_shared.policy [docs/security.md]
    import sys
    from pathlib import Path

    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.write_text(with_role_matrix(target.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(role_matrix_markdown(), end="")
