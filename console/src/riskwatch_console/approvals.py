"""Approvals and operational alerts (issues 23/24): every pending proposal of the four governed
kinds in one list (rules are decided in the rules studio, linked from here; managed lists,
models and escalation policies here), approve or reject with a comment as a second person;
detection's operational alerts (a rule's spike, a model's drift) with their figures and an
acknowledgement. Everything through the gateway's public API with the person's token: the API
refuses the author (403 `*-self-approval`) and roles that may not decide, the page only says so."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from riskwatch_console.gateway import ApiProblem
from riskwatch_console.studio_kit import (
    form_text,
    not_found_page,
    path_uuid,
    problem_text,
    refused_page,
)
from riskwatch_console.web import Visit, page, redirect

# The kinds decided on this page: the URL word, the API's proposals collection.
DECIDED_HERE = {
    "lists": "/v1/list-proposals",
    "models": "/v1/model-proposals",
    "escalation-policies": "/v1/escalation-policy-proposals",
}
RULES = "/v1/rule-proposals"
MAX_COMMENT = 2_000
# How many values of a bulk list change the summary names (the rest are counted).
SAMPLE_VALUES = 10
MAX_RULE_NAMES = 100
ALERT_STATUSES = ("open", "acknowledged")


def kind_names(visit: Visit) -> dict[str, str]:
    """The governed kinds and the operational alerts' kinds in the person's language."""
    gettext = visit.gettext
    return {
        "rules": gettext("Rule"),
        "lists": gettext("Managed list"),
        "models": gettext("Model"),
        "escalation-policies": gettext("Escalation policy"),
        "rule_spike": gettext("Rule spike"),
        "model_drift": gettext("Model drift"),
    }


def figure_names(visit: Visit) -> dict[str, str]:
    gettext = visit.gettext
    return {
        "alerts_last_24h": gettext("Alerts in the last 24 hours"),
        "baseline_per_day": gettext("Baseline (alerts a day)"),
        "baseline_ratio": gettext("Times the baseline"),
        "psi": gettext("Drift (PSI)"),
        "threshold": gettext("Drift threshold"),
    }


@dataclass(frozen=True)
class Pending:
    """One pending proposal as the page shows it."""

    thing: str  # rules | lists | models | escalation-policies
    proposal: dict[str, Any]
    subject: str  # what it changes, in words
    subject_link: str | None
    changes: list[str]  # a readable summary of the proposed change, line by line
    decide_here: bool


def _values(values: list[Any], gettext: Callable[[str], str]) -> str:
    shown = ", ".join(str(v) for v in values[:SAMPLE_VALUES])
    more = len(values) - SAMPLE_VALUES
    return shown + (f" … (+{more} {gettext('more')})" if more > 0 else "")


def list_changes(proposal: dict[str, Any], gettext: Callable[[str], str]) -> list[str]:
    """A managed list's proposed change in words: what is added, removed or altered."""
    change, kind = proposal.get("change") or {}, proposal.get("kind")
    if kind == "load":
        entries = change.get("entries") or []
        values = [entry[0] if isinstance(entry, list) and entry else entry for entry in entries]
        mode = (
            gettext("Replace the list with") if change.get("mode") == "replace" else gettext("Add")
        )
        return [f"{mode} {len(values)}: " + _values(values, gettext)]
    if kind == "remove":
        values = change.get("values") or []
        return [f"{gettext('Remove')} {len(values)}: " + _values(values, gettext)]
    if kind == "delete":
        return [gettext("Delete the list and its entries")]
    return [
        f"{name}: {value}"
        for name, value in sorted(change.items())
        if name != "list_name" and value is not None
    ]


def model_changes(proposal: dict[str, Any], gettext: Callable[[str], str]) -> list[str]:
    change = proposal.get("change") or {}
    return [
        f"{gettext('Status')}: {change.get('status_before', '?')} → {change.get('status', '?')}",
        f"{gettext('Model version')}: {change.get('model_version', '?')}",
    ]


def _levels(policy: dict[str, Any] | None, gettext: Callable[[str], str]) -> list[str]:
    if not policy:
        return [gettext("none")]
    lines = []
    for level in policy.get("levels") or []:
        minutes = int(level.get("after_seconds", 0)) // 60
        who = len(level.get("team_ids") or []) + len(level.get("recipient_ids") or [])
        lines.append(
            f"+{minutes} min: {', '.join(level.get('channels') or [])} → {who} "
            + gettext("teams or recipients")
        )
    lines.append(f"{gettext('Repeat')}: {policy.get('repeat', 0)}")
    return lines


def policy_changes(proposal: dict[str, Any], gettext: Callable[[str], str]) -> list[str]:
    """An escalation policy's proposal as before → after, level by level."""
    change = proposal.get("change") or {}
    before = change.get("before")
    after = None if proposal.get("kind") == "delete" else change
    old, new = _levels(before, gettext), _levels(after, gettext)
    lines = [gettext("Now:") + " " + "; ".join(old)]
    lines.append(gettext("Proposed:") + " " + "; ".join(new))
    return lines


def _pending(thing: str, proposal: dict[str, Any], visit: Visit, names: dict[str, str]) -> Pending:
    gettext = visit.gettext
    if thing == "rules":
        rule_id = str(proposal.get("rule_id"))
        return Pending(
            thing, proposal, names.get(rule_id, rule_id), f"/rules/{rule_id}",
            [f"{gettext('Version')} {proposal.get('version')}"], decide_here=False,
        )  # fmt: skip
    if thing == "lists":
        list_id = str(proposal.get("list_id"))
        name = str((proposal.get("change") or {}).get("list_name") or list_id)
        return Pending(
            thing, proposal, name, f"/lists/{list_id}", list_changes(proposal, gettext), True
        )
    if thing == "models":
        change = proposal.get("change") or {}
        name = f"{change.get('model_kind', '?')} v{change.get('version', '?')}"
        return Pending(
            thing,
            proposal,
            name,
            f"/models/{proposal.get('model_id')}",
            model_changes(proposal, gettext),
            True,
        )
    severity = str(proposal.get("severity"))
    return Pending(thing, proposal, severity, None, policy_changes(proposal, gettext), True)


async def _fetch(visit: Visit, path: str) -> list[dict[str, Any]] | None:
    """The pending proposals of one kind, or None when the API refuses or fails (said)."""
    try:
        found = await visit.console.gateway.get(
            path, token=visit.token, params={"status": "pending"}
        )
    except ApiProblem:
        return None
    return found if isinstance(found, list) else None


async def _rule_names(visit: Visit, rule_ids: list[str]) -> dict[str, str]:
    async def one(rule_id: str) -> tuple[str, str]:
        try:
            rule = await visit.console.gateway.get(f"/v1/rules/{rule_id}", token=visit.token)
        except ApiProblem:
            return rule_id, rule_id
        return rule_id, str(rule.get("name") or rule_id)

    return dict(await asyncio.gather(*(one(rule_id) for rule_id in rule_ids[:MAX_RULE_NAMES])))


async def _approvals_view(
    visit: Visit, *, problem: ApiProblem | None = None, notice: str | None = None
) -> Response:
    kinds = {"rules": RULES, **DECIDED_HERE}
    readable = {thing: path for thing, path in kinds.items() if visit.may("GET", path)}
    if not readable:
        return refused_page(visit, ApiProblem(403, "Forbidden"))
    fetched = await asyncio.gather(*(_fetch(visit, path) for path in readable.values()))
    by_kind = dict(zip(readable, fetched, strict=True))
    rule_ids = sorted({str(p.get("rule_id")) for p in by_kind.get("rules") or []})
    names = await _rule_names(visit, rule_ids)
    items = [
        _pending(thing, proposal, visit, names)
        for thing, proposals in by_kind.items()
        for proposal in proposals or []
    ]
    items.sort(key=lambda item: str(item.proposal.get("proposed_at")))
    may_decide = {
        thing: visit.may("POST", f"{path}/x/approve") for thing, path in DECIDED_HERE.items()
    }
    status = problem.status if problem and 400 <= problem.status < 500 else 200
    return visit.render(
        "approvals_list.html",
        status_code=status,
        items=items,
        unavailable=[thing for thing, found in by_kind.items() if found is None],
        may_decide=may_decide,
        me=visit.session.subject,
        problem=_decision_problem(visit, problem) if problem else None,
        notice=notice,
        kind_names=kind_names(visit),
    )


def _decision_problem(visit: Visit, problem: ApiProblem) -> str:
    if problem.status == 403 and "approv" in (problem.detail or problem.title).lower():
        return (
            visit.gettext("You proposed this change: a second person approves it.")
            + " "
            + problem_text(problem)
        )
    return problem_text(problem)


@page()
async def approvals_index(visit: Visit) -> Response:
    """Every pending proposal (rules, managed lists, models, escalation policies), oldest first."""
    decided = visit.request.query_params.get("decided")
    notice = None
    if decided == "approve":
        notice = visit.gettext("Approved: the change is in force.")
    elif decided == "reject":
        notice = visit.gettext("Rejected: nothing changes.")
    return await _approvals_view(visit, notice=notice)


@page()
async def decide(visit: Visit) -> Response:
    """Approve or reject (with a reason) a pending proposal; the API refuses its author."""
    thing = str(visit.request.path_params["thing"])
    decision = str(visit.request.path_params["decision"])
    proposal_id = path_uuid(visit, "proposal_id")
    if thing not in DECIDED_HERE or decision not in ("approve", "reject") or proposal_id is None:
        return not_found_page(visit)
    form = await visit.request.form()
    comment = form_text(form, "comment", limit=MAX_COMMENT)
    try:
        await visit.console.gateway.post(
            f"{DECIDED_HERE[thing]}/{proposal_id}/{decision}",
            token=visit.token,
            body={"comment": comment} if comment else {},
        )
    except ApiProblem as problem:
        if problem.status == 404:
            return refused_page(visit, problem)
        return await _approvals_view(visit, problem=problem)
    return redirect(f"/approvals?decided={decision}")


def _no_alert(visit: Visit) -> Response:
    return not_found_page(
        visit, visit.gettext("There is no such operational alert, or you may not see it.")
    )


@page()
async def operational_alerts(visit: Visit) -> Response:
    """Detection's own alerts (a rule firing far above its baseline, a drifting model)."""
    status = visit.request.query_params.get("status") or ""
    params = {"limit": "200", **({"status": status} if status in ALERT_STATUSES else {})}
    try:
        found = await visit.console.gateway.get(
            "/v1/operational-alerts", token=visit.token, params=params
        )
    except ApiProblem as refused:
        return refused_page(visit, refused)
    items = found.get("items", []) if isinstance(found, dict) else found
    return visit.render(
        "approvals_operational_list.html",
        alerts=items,
        status=status if status in ALERT_STATUSES else "",
        statuses=ALERT_STATUSES,
        kind_names=kind_names(visit),
    )


async def _alert_view(
    visit: Visit, alert_id: str, *, problem: ApiProblem | None = None, notice: str | None = None
) -> Response:
    try:
        alert = await visit.console.gateway.get(
            f"/v1/operational-alerts/{alert_id}", token=visit.token
        )
    except ApiProblem as refused:
        return _no_alert(visit) if refused.status == 404 else refused_page(visit, refused)
    subject_link = None
    if alert.get("subject_type") == "rule":
        subject_link = f"/rules/{alert.get('subject_id')}"
    elif alert.get("subject_type") == "model":
        subject_link = f"/models/{alert.get('subject_id')}"
    return visit.render(
        "approvals_operational_alert.html",
        status_code=problem.status if problem and 400 <= problem.status < 500 else 200,
        alert=alert,
        subject_link=subject_link,
        may_acknowledge=visit.may("POST", f"/v1/operational-alerts/{alert_id}/acknowledge"),
        problem=problem_text(problem) if problem else None,
        notice=notice,
        kind_names=kind_names(visit),
        figure_names=figure_names(visit),
    )


@page()
async def operational_alert(visit: Visit) -> Response:
    """One operational alert: what jumped and by how much, its report, the rule or model."""
    alert_id = path_uuid(visit, "alert_id")
    if alert_id is None:
        return _no_alert(visit)
    notice = None
    if visit.request.query_params.get("acknowledged"):
        notice = visit.gettext("Acknowledged.")
    return await _alert_view(visit, alert_id, notice=notice)


@page()
async def acknowledge(visit: Visit) -> Response:
    alert_id = path_uuid(visit, "alert_id")
    if alert_id is None:
        return _no_alert(visit)
    form = await visit.request.form()
    comment = form_text(form, "comment", limit=MAX_COMMENT)
    try:
        await visit.console.gateway.post(
            f"/v1/operational-alerts/{alert_id}/acknowledge",
            token=visit.token,
            body={"comment": comment} if comment else {},
        )
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return refused_page(visit, problem)
        return await _alert_view(visit, alert_id, problem=problem)
    return redirect(f"/operational-alerts/{alert_id}?acknowledged=1")


def routes() -> list[Route]:
    return [
        Route("/approvals", approvals_index, methods=["GET"]),
        Route("/approvals/{thing}/{proposal_id}/{decision}", decide, methods=["POST"]),
        Route("/operational-alerts", operational_alerts, methods=["GET"]),
        Route("/operational-alerts/{alert_id}", operational_alert, methods=["GET"]),
        Route("/operational-alerts/{alert_id}/acknowledge", acknowledge, methods=["POST"]),
    ]
