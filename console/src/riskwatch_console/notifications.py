"""Notifications: teams, recipients (their addresses and quiet hours), a test send per
channel, subscriptions, escalation policies (a change is a proposal a second person approves)
and the delivery log with its failures and re-drive. Readers see; managers change."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from riskwatch_console.admin import refused
from riskwatch_console.gateway import ApiProblem
from riskwatch_console.web import Visit, page, redirect

CHANNELS = ("email", "sms", "webhook", "in_app")
ALERT_TYPES = ("transaction_anomaly", "credit_risk", "churn", "custom")
SEVERITIES = ("low", "medium", "high", "critical")
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed", "dead", "held", "bundled",
                     "cancelled")  # fmt: skip
LOCALES = ("en", "zh")
MAX_LEVELS_SHOWN = 3
PAGE_SIZE = "100"


def _text(form: Mapping[str, Any], name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _uuid(raw: object) -> str | None:
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        return None


def _problem_text(problem: ApiProblem) -> str:
    return "; ".join([problem.detail or problem.title, *problem.field_errors])


def _status(problem: ApiProblem) -> int:
    return problem.status if 400 <= problem.status < 500 else 502


def _back(tab: str, **flags: str) -> Response:
    query = "&".join(f"{k}={v}" for k, v in flags.items())
    return redirect(f"/notifications/{tab}" + (f"?{query}" if query else ""))


# --- teams and recipients ------------------------------------------------------------------


@page()
async def people(visit: Visit) -> Response:
    """Teams and recipients: addresses, language, time zone, quiet hours; a test send."""
    if not visit.may("GET", "/v1/recipients"):
        return refused(visit)
    return await _people_page(visit)


async def _people_page(
    visit: Visit, *, status_code: int = 200, problem: str | None = None,
    form: Mapping[str, Any] | None = None, failed: str | None = None,
) -> Response:  # fmt: skip
    gateway, token = visit.console.gateway, visit.token
    teams, recipients = await asyncio.gather(
        gateway.get("/v1/teams", token=token),
        gateway.get("/v1/recipients", token=token, params={"limit": "500"}),
    )
    team_names = {str(t["id"]): t["name"] for t in teams}
    query = visit.request.query_params
    return visit.render(
        "notify_people.html",
        status_code=status_code,
        tab="people",
        teams=teams,
        recipients=recipients,
        team_names=team_names,
        channels=CHANNELS,
        recipient_locales=LOCALES,
        problem=problem,
        failed=failed,
        form=form or {},
        tested=_uuid(query.get("tested")),
        tested_channel=query.get("channel") if query.get("channel") in CHANNELS else None,
        may_change=visit.may("POST", "/v1/recipients"),
    )


@page()
async def create_team(visit: Visit) -> Response:
    if not visit.may("POST", "/v1/teams"):
        return refused(visit)
    form = await visit.request.form()
    body = {"name": _text(form, "name"), "description": _text(form, "description", 2000)}
    try:
        await visit.console.gateway.post("/v1/teams", token=visit.token, body=body)
    except ApiProblem as problem:
        return await _people_page(visit, status_code=_status(problem), failed="team",
                                  problem=_problem_text(problem), form=body)  # fmt: skip
    return _back("people")


def recipient_body(form: FormData) -> dict[str, Any]:
    """A recipient's JSON body from the form: filled fields only; the API validates."""
    body: dict[str, Any] = {"name": _text(form, "name")}
    for name, limit in (("email", 320), ("phone", 40), ("webhook_url", 2000), ("staff_id", 120),
                        ("user_subject", 200), ("time_zone", 64), ("locale", 8)):  # fmt: skip
        if _text(form, name, limit):
            body[name] = _text(form, name, limit)
    start, end = _text(form, "quiet_start", 8), _text(form, "quiet_end", 8)
    if start or end:
        body["quiet_start"], body["quiet_end"] = start or None, end or None
    body["team_ids"] = [t for t in (_uuid(v) for v in form.getlist("team_ids")) if t][:100]
    return body


@page()
async def create_recipient(visit: Visit) -> Response:
    if not visit.may("POST", "/v1/recipients"):
        return refused(visit)
    form = await visit.request.form()
    body = recipient_body(form)
    try:
        await visit.console.gateway.post("/v1/recipients", token=visit.token, body=body)
    except ApiProblem as problem:
        return await _people_page(visit, status_code=_status(problem), failed="recipient",
                                  problem=_problem_text(problem), form=body)  # fmt: skip
    return _back("people")


@page()
async def test_send(visit: Visit) -> Response:
    """A test message to one recipient on one channel; the delivery log shows how it went."""
    recipient_id = _uuid(visit.request.path_params["recipient_id"])
    if recipient_id is None:
        return _missing(visit)
    if not visit.may("POST", f"/v1/recipients/{recipient_id}/test"):
        return refused(visit)
    form = await visit.request.form()
    channel = _text(form, "channel", 16)
    try:
        await visit.console.gateway.post(f"/v1/recipients/{recipient_id}/test",
                                         token=visit.token, body={"channel": channel})  # fmt: skip
    except ApiProblem as problem:
        if problem.status == 404:
            return _missing(visit)
        return await _people_page(visit, status_code=_status(problem), failed=recipient_id,
                                  problem=_problem_text(problem))  # fmt: skip
    return _back("people", tested=recipient_id, channel=channel)


def _missing(visit: Visit) -> Response:
    return visit.render("error.html", status_code=404, title=visit.gettext("Not found"),
                        message=visit.gettext("There is no such item."))  # fmt: skip


# --- subscriptions -------------------------------------------------------------------------


@page()
async def subscriptions(visit: Visit) -> Response:
    """Who hears of which alerts, on which channels, from which severity."""
    if not visit.may("GET", "/v1/subscriptions"):
        return refused(visit)
    return await _subscriptions_page(visit)


async def _subscriptions_page(
    visit: Visit, *, status_code: int = 200, problem: str | None = None
) -> Response:
    gateway, token = visit.console.gateway, visit.token
    found, teams, recipients = await asyncio.gather(
        gateway.get("/v1/subscriptions", token=token, params={"limit": "500"}),
        gateway.get("/v1/teams", token=token),
        gateway.get("/v1/recipients", token=token, params={"limit": "500"}),
    )
    items = found if isinstance(found, list) else found.get("items", [])
    return visit.render(
        "notify_subscriptions.html",
        status_code=status_code,
        tab="subscriptions",
        subscriptions=items,
        teams=teams,
        recipients=recipients,
        names={
            **{str(t["id"]): t["name"] for t in teams},
            **{str(r["id"]): r["name"] for r in recipients},
        },
        channels=CHANNELS,
        alert_types=ALERT_TYPES,
        severities=SEVERITIES,
        problem=problem,
        may_change=visit.may("POST", "/v1/subscriptions"),
    )


@page()
async def create_subscription(visit: Visit) -> Response:
    if not visit.may("POST", "/v1/subscriptions"):
        return refused(visit)
    form = await visit.request.form()
    target = _text(form, "target", 80)
    kind, _, target_id = target.partition(":")
    body: dict[str, Any] = {
        "channels": [c for c in form.getlist("channels") if c in CHANNELS],
        "alert_types": [t for t in form.getlist("alert_types") if t in ALERT_TYPES],
        "min_severity": _text(form, "min_severity", 16) or "low",
        "include_relationship_manager": _text(form, "include_relationship_manager") == "true",
    }
    if kind in ("team", "recipient") and _uuid(target_id):
        body[f"{kind}_id"] = _uuid(target_id)
    try:
        await visit.console.gateway.post("/v1/subscriptions", token=visit.token, body=body)
    except ApiProblem as problem:
        return await _subscriptions_page(visit, status_code=_status(problem),
                                         problem=_problem_text(problem))  # fmt: skip
    return _back("subscriptions")


@page()
async def delete_subscription(visit: Visit) -> Response:
    subscription_id = _uuid(visit.request.path_params["subscription_id"])
    if subscription_id is None:
        return _missing(visit)
    if not visit.may("DELETE", f"/v1/subscriptions/{subscription_id}"):
        return refused(visit)
    try:
        await visit.console.gateway.delete(f"/v1/subscriptions/{subscription_id}",
                                           token=visit.token)  # fmt: skip
    except ApiProblem as problem:
        if problem.status != 404:
            raise
    return _back("subscriptions")


# --- escalation policies -------------------------------------------------------------------


@page()
async def escalation(visit: Visit) -> Response:
    """Each severity's escalation policy, the changes awaiting a second person, and the form
    that proposes a change (it takes effect only once someone else approves it)."""
    if not visit.may("GET", "/v1/escalation-policies"):
        return refused(visit)
    return await _escalation_page(visit)


async def _escalation_page(
    visit: Visit, *, status_code: int = 200, problem: str | None = None
) -> Response:
    gateway, token = visit.console.gateway, visit.token
    policies, pending, teams, recipients = await asyncio.gather(
        gateway.get("/v1/escalation-policies", token=token),
        gateway.get("/v1/escalation-policy-proposals", token=token, params={"status": "pending"}),
        gateway.get("/v1/teams", token=token),
        gateway.get("/v1/recipients", token=token, params={"limit": "500"}),
    )
    return visit.render(
        "notify_escalation.html",
        status_code=status_code,
        tab="escalation",
        policies={p["severity"]: p for p in policies},
        pending=pending,
        teams=teams,
        names={
            **{str(t["id"]): t["name"] for t in teams},
            **{str(r["id"]): r["name"] for r in recipients},
        },
        severities=SEVERITIES,
        channels=CHANNELS,
        levels=range(MAX_LEVELS_SHOWN),
        problem=problem,
        proposed=visit.request.query_params.get("proposed") == "1",
        decided=visit.request.query_params.get("decided"),
        may_propose=visit.may("PUT", "/v1/escalation-policies/high"),
        may_decide=visit.may("POST", "/v1/escalation-policy-proposals/x/approve"),
        me=visit.session.subject,
    )


class InvalidLevels(ValueError):
    """Escalation levels the form could not read (shown on the page, nothing proposed)."""


def policy_body(form: FormData) -> dict[str, Any]:
    """The levels of the policy form (up to three rows; an empty row is skipped): minutes
    after the alert, channels, teams. The API validates the rest."""
    levels = []
    for index in range(MAX_LEVELS_SHOWN):
        minutes = _text(form, f"after_minutes_{index}", 8)
        channels = [c for c in form.getlist(f"channels_{index}") if c in CHANNELS]
        teams = [t for t in (_uuid(v) for v in form.getlist(f"team_ids_{index}")) if t]
        if not minutes and not channels and not teams:
            continue
        if not minutes.isdigit():
            raise InvalidLevels(str(index + 1))
        levels.append({"after_seconds": int(minutes) * 60, "channels": channels,
                       "team_ids": teams})  # fmt: skip
    repeat = _text(form, "repeat", 4)
    return {"levels": levels, "repeat": int(repeat) if repeat.isdigit() else 0}


@page()
async def propose_policy(visit: Visit) -> Response:
    severity = str(visit.request.path_params["severity"])
    if severity not in SEVERITIES:
        return _missing(visit)
    if not visit.may("PUT", f"/v1/escalation-policies/{severity}"):
        return refused(visit)
    form = await visit.request.form()
    try:
        body = policy_body(form)
        await visit.console.gateway.put(f"/v1/escalation-policies/{severity}",
                                        token=visit.token, body=body)  # fmt: skip
    except InvalidLevels as invalid:
        message = visit.gettext("Minutes after the alert must be a whole number (level %s).")
        return await _escalation_page(visit, status_code=400, problem=message % invalid)
    except ApiProblem as problem:
        return await _escalation_page(visit, status_code=_status(problem),
                                      problem=_problem_text(problem))  # fmt: skip
    return _back("escalation", proposed="1")


@page()
async def decide_policy(visit: Visit) -> Response:
    """Approve or reject a proposed policy (never one's own: the API refuses it)."""
    proposal_id = _uuid(visit.request.path_params["proposal_id"])
    decision = str(visit.request.path_params["decision"])
    if proposal_id is None or decision not in ("approve", "reject"):
        return _missing(visit)
    path = f"/v1/escalation-policy-proposals/{proposal_id}/{decision}"
    if not visit.may("POST", path):
        return refused(visit)
    form = await visit.request.form()
    comment = _text(form, "comment", 2000)
    body = {"comment": comment} if comment else {}
    try:
        await visit.console.gateway.post(path, token=visit.token, body=body)
    except ApiProblem as problem:
        return await _escalation_page(visit, status_code=_status(problem),
                                      problem=_problem_text(problem))  # fmt: skip
    return _back("escalation", decided=decision)


# --- the delivery log ----------------------------------------------------------------------


@page()
async def deliveries(visit: Visit) -> Response:
    """Deliveries, filtered by status and channel; the dead ones can be re-driven."""
    if not visit.may("GET", "/v1/deliveries"):
        return refused(visit)
    return await _deliveries_page(visit)


async def _deliveries_page(
    visit: Visit, *, status_code: int = 200, problem: str | None = None
) -> Response:
    query = visit.request.query_params
    status = query.get("status") if query.get("status") in DELIVERY_STATUSES else None
    channel = query.get("channel") if query.get("channel") in CHANNELS else None
    recipient_id = _uuid(query.get("recipient_id")) if query.get("recipient_id") else None
    params = {"limit": PAGE_SIZE}
    for name, value in (("status", status), ("channel", channel), ("recipient_id", recipient_id)):
        if value:
            params[name] = value
    cursor = query.get("cursor", "")[:200]
    if cursor:
        params["cursor"] = cursor
    gateway, token = visit.console.gateway, visit.token
    try:
        found, recipients = await asyncio.gather(
            gateway.get("/v1/deliveries", token=token, params=params),
            gateway.get("/v1/recipients", token=token, params={"limit": "500"}),
        )
    except ApiProblem as refusal:
        found, recipients = {"items": [], "total": 0}, []
        problem, status_code = _problem_text(refusal), _status(refusal)
    next_query = {k: v for k, v in params.items() if k not in ("limit", "cursor")}
    return visit.render(
        "notify_deliveries.html",
        status_code=status_code,
        tab="deliveries",
        deliveries=found.get("items", []),
        total=int(found.get("total", 0)),
        next_cursor=found.get("next_cursor"),
        next_query=next_query,
        names={str(r["id"]): r["name"] for r in recipients},
        status=status,
        channel=channel,
        statuses=DELIVERY_STATUSES,
        channels=CHANNELS,
        problem=problem,
        redriven=_uuid(query.get("redriven")) if query.get("redriven") else None,
        may_redrive=visit.may("POST", "/v1/deliveries/x/redrive"),
    )


@page()
async def redrive(visit: Visit) -> Response:
    delivery_id = _uuid(visit.request.path_params["delivery_id"])
    if delivery_id is None:
        return _missing(visit)
    if not visit.may("POST", f"/v1/deliveries/{delivery_id}/redrive"):
        return refused(visit)
    try:
        await visit.console.gateway.post(f"/v1/deliveries/{delivery_id}/redrive",
                                         token=visit.token, body={})  # fmt: skip
    except ApiProblem as problem:
        return await _deliveries_page(visit, status_code=_status(problem),
                                      problem=_problem_text(problem))  # fmt: skip
    return _back("deliveries", status="dead", redriven=delivery_id)


@page()
async def notifications_home(visit: Visit) -> Response:
    return redirect("/notifications/people")


def routes() -> list[Route]:
    return [
        Route("/notifications", notifications_home),
        Route("/notifications/people", people),
        Route("/notifications/teams", create_team, methods=["POST"]),
        Route("/notifications/recipients", create_recipient, methods=["POST"]),
        Route("/notifications/recipients/{recipient_id}/test", test_send, methods=["POST"]),
        Route("/notifications/subscriptions", subscriptions, methods=["GET"]),
        Route("/notifications/subscriptions", create_subscription, methods=["POST"]),
        Route(
            "/notifications/subscriptions/{subscription_id}/delete",
            delete_subscription,
            methods=["POST"],
        ),
        Route("/notifications/escalation", escalation),
        Route("/notifications/escalation/{severity}", propose_policy, methods=["POST"]),
        Route(
            "/notifications/escalation/proposals/{proposal_id}/{decision}",
            decide_policy,
            methods=["POST"],
        ),
        Route("/notifications/deliveries", deliveries),
        Route("/notifications/deliveries/{delivery_id}/redrive", redrive, methods=["POST"]),
    ]
