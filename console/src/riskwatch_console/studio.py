"""The rules studio: the rules with their precision and fire rate, an editor (CodeMirror, with
completion from the field catalogue and the API's validation at line and column as you type),
message templates previewed in both languages, the template gallery, versions with a diff,
backtests, and the maker-checker proposals (propose, approve or reject as a second person)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from riskwatch_console.gateway import ApiProblem, SignedOut
from riskwatch_console.labels import label_for
from riskwatch_console.rule_words import (
    FUNCTIONS,
    KEYWORDS,
    RULE_TYPES,
    SEVERITIES,
    TRIGGER_EVENT_TYPES,
    hits_chart,
    message_preview,
    rule_body,
    rule_changes,
    rule_figures,
    shadow_chart,
    template_parameter_names,
    version_diff,
)
from riskwatch_console.sse import read_events, write_event
from riskwatch_console.studio_kit import (
    form_text,
    not_found_page,
    path_uuid,
    problem_text,
    refused_page,
)
from riskwatch_console.web import Visit, local_path, page, redirect

T = TypeVar("T")
HEALTH_DAYS = 28
MAX_VERSION = 2_147_483_647
BACKTEST_DEFAULT_DAYS = 30


async def _optional(call: Awaitable[T]) -> T | None:
    """A figure the page can do without: None when the API has no such route yet (404), the
    role may not see it (403) or it refuses (4xx)."""
    try:
        return await call
    except ApiProblem:
        return None


def _no_rule(visit: Visit) -> Response:
    return not_found_page(visit, visit.gettext("There is no such rule, or you may not see it."))


def _version_param(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 10:
        return None
    number = int(raw)
    return number if 1 <= number <= MAX_VERSION else None


# --- the rules list ---------------------------------------------------------------------------


@page()
async def rules_index(visit: Visit) -> Response:
    """Every rule: status, severity, fire rate and volume against its baseline, precision
    from dispositions (last 28 days), last change, a pending version; the proposals awaiting
    a second person."""
    gateway, token = visit.console.gateway, visit.token
    try:
        rules, proposals = await asyncio.gather(
            gateway.get("/v1/rules", token=token),
            gateway.get("/v1/rule-proposals", token=token, params={"status": "pending"}),
        )
    except ApiProblem as refused:
        return refused_page(visit, refused)
    health = await _optional(
        gateway.get("/v1/rules/health", token=token, params={"days": str(HEALTH_DAYS)})
    )
    names = {rule["id"]: rule["name"] for rule in rules}
    return visit.render(
        "studio_rules.html",
        rules=sorted(rules, key=lambda rule: rule["updated_at"], reverse=True),
        figures=rule_figures(health),
        proposals=proposals,
        rule_names=names,
        health_days=HEALTH_DAYS,
        may_create=visit.may("POST", "/v1/rules"),
        may_decide=visit.may("POST", "/v1/rule-proposals/x/approve"),
        me=visit.session.subject,
    )


# --- the editor -------------------------------------------------------------------------------


async def _field_catalogue(visit: Visit) -> list[dict[str, Any]]:
    found = await _optional(visit.console.gateway.get("/v1/rule-fields", token=visit.token))
    return list(found or [])


def _editor_context(catalogue: list[dict[str, Any]]) -> dict[str, Any]:
    fields = [
        {"path": f.get("path"), "type": f.get("type"), "description": f.get("description")}
        for f in catalogue
    ]
    return {
        "rule_types": RULE_TYPES,
        "severities": SEVERITIES,
        "trigger_types": TRIGGER_EVENT_TYPES,
        "completion": {"fields": fields, "functions": FUNCTIONS, "keywords": KEYWORDS},
        "parameters": template_parameter_names(),
    }


def _form_values(form: Any) -> dict[str, str]:
    names = ("name", "rule_type", "severity", "condition", "dedup_key", "cooldown_seconds",
             "owner_team", "description", "title_template", "summary_template",
             "suggested_actions")  # fmt: skip
    return {name: form_text(form, name) for name in names}


def _rule_as_form(rule: dict[str, Any]) -> dict[str, str]:
    values = {name: "" if rule.get(name) is None else str(rule.get(name)) for name in rule}
    values["suggested_actions"] = "\n".join(rule.get("suggested_actions") or [])
    return values


def _condition_error(problem: ApiProblem | None) -> dict[str, Any] | None:
    """The API's refusal of a condition, where it is (line, column), for the editor."""
    if problem is None or problem.status != 422:
        return None
    extra = problem.extra
    if extra.get("field") not in ("condition", None) or "line" not in extra:
        return None
    return {"line": extra.get("line"), "column": extra.get("column"), "message": problem.detail}


@page()
async def new_rule(visit: Visit) -> Response:
    """The editor for a new rule (proposed for approval when saved)."""
    if not visit.may("POST", "/v1/rules"):
        return refused_page(visit, ApiProblem(403, "Forbidden"))
    blank = {"rule_type": "custom", "severity": "medium", "dedup_key": "customer_id",
             "cooldown_seconds": "3600", "condition": ""}  # fmt: skip
    return await _editor_page(visit, None, blank, [TRIGGER_EVENT_TYPES[0]])


async def _editor_page(
    visit: Visit,
    rule: dict[str, Any] | None,
    values: dict[str, str],
    triggers: list[str],
    *,
    status_code: int = 200,
    problem: ApiProblem | None = None,
) -> Response:
    catalogue = await _field_catalogue(visit)
    return visit.render(
        "studio_editor.html",
        status_code=status_code,
        rule=rule,
        form=values,
        triggers=triggers,
        problem=problem_text(problem) if problem else None,
        condition_error=_condition_error(problem),
        **_editor_context(catalogue),
    )


@page()
async def create_rule(visit: Visit) -> Response:
    """Save the editor's new rule: a draft, proposed for a second person's approval."""
    form = await visit.request.form()
    values = _form_values(form)
    triggers = [str(t) for t in form.getlist("trigger_event_types")]
    try:
        created = await visit.console.gateway.post(
            "/v1/rules", token=visit.token, body=rule_body(values, triggers)
        )
    except ApiProblem as problem:
        if problem.status == 403:
            return refused_page(visit, problem)
        return await _editor_page(
            visit, None, values, triggers, status_code=problem.status, problem=problem
        )
    return redirect(f"/rules/{created['id']}?saved=1")


@page()
async def validate_condition(visit: Visit) -> Response:
    """The editor's check as you type: `{"valid": true, ...}` or the error at its line and
    column (the API's own check; nothing is saved)."""
    try:
        body = await visit.request.json()
    except ValueError:
        return JSONResponse({"valid": False, "message": "not JSON"}, status_code=400)
    condition = body.get("condition") if isinstance(body, dict) else None
    if not isinstance(condition, str) or not condition.strip():
        return JSONResponse({"valid": False, "errors": []})
    try:
        checked = await visit.console.gateway.post(
            "/v1/rules/validate", token=visit.token, body={"condition": condition[:2_001]}
        )
    except ApiProblem as problem:
        if problem.status == 403:
            return JSONResponse({"valid": False, "errors": []}, status_code=403)
        error = _condition_error(problem) or {
            "line": 1, "column": 1, "message": problem_text(problem)
        }  # fmt: skip
        return JSONResponse({"valid": False, "errors": [error]})
    return JSONResponse({"valid": True, "errors": [], **checked})


@page()
async def preview_messages(visit: Visit) -> Response:
    """The message templates with a sample alert's values, in English and Chinese."""
    query = visit.request.query_params
    title = (query.get("title_template") or "")[:300]
    summary = (query.get("summary_template") or "")[:2_000]
    return visit.render(
        "_studio_preview.html", preview=message_preview(title, summary), title=title,
        summary=summary,
    )  # fmt: skip


# --- one rule ---------------------------------------------------------------------------------


async def _rule_page(
    visit: Visit,
    rule_id: str,
    *,
    status_code: int = 200,
    problem: ApiProblem | None = None,
    values: dict[str, str] | None = None,
    triggers: list[str] | None = None,
    notice: str | None = None,
) -> Response:
    gateway, token = visit.console.gateway, visit.token
    try:
        rule, versions, proposals = await asyncio.gather(
            gateway.get(f"/v1/rules/{rule_id}", token=token),
            gateway.get(f"/v1/rules/{rule_id}/versions", token=token),
            gateway.get("/v1/rule-proposals", token=token, params={"rule_id": rule_id}),
        )
    except ApiProblem as refused:
        if refused.status in (403, 404):
            return refused_page(visit, refused, what=visit.gettext("There is no such rule."))
        raise
    history, shadow = await asyncio.gather(
        _optional(gateway.get(f"/v1/rules/{rule_id}/history", token=token)),
        _optional(gateway.get(f"/v1/rules/{rule_id}/shadow-comparison", token=token)),
    )
    catalogue = await _field_catalogue(visit)
    today = date.today()
    return visit.render(
        "studio_rule.html",
        status_code=status_code,
        rule=rule,
        versions=list(reversed(versions)),
        proposals=list(reversed(proposals)),
        history=history or [],
        shadow=shadow,
        form=values or _rule_as_form(rule),
        triggers=triggers if triggers is not None else rule.get("trigger_event_types", []),
        problem=problem_text(problem) if problem else None,
        condition_error=_condition_error(problem),
        notice=notice,
        may_edit=visit.may("PATCH", f"/v1/rules/{rule_id}"),
        may_decide=visit.may("POST", "/v1/rule-proposals/x/approve"),
        may_shadow=visit.may("POST", "/v1/rule-proposals/x/shadow"),
        shadow_chart=shadow_chart(
            shadow,
            visit.gettext("Live version"),
            visit.gettext("Shadow version"),
            visit.gettext("Day"),
        ),
        may_backtest=visit.may("POST", "/v1/backtest-jobs"),
        me=visit.session.subject,
        backtest_start=(today - timedelta(days=BACKTEST_DEFAULT_DAYS)).isoformat(),
        backtest_end=today.isoformat(),
        **_editor_context(catalogue),
    )


@page()
async def rule_page(visit: Visit) -> Response:
    """One rule: the editor, versions with their diff, backtests, shadow, proposals."""
    rule_id = path_uuid(visit, "rule_id")
    if rule_id is None:
        return _no_rule(visit)
    saved = visit.request.query_params.get("saved")
    notice = visit.gettext("Saved and proposed: a second person approves it.") if saved else None
    return await _rule_page(visit, rule_id, notice=notice)


@page()
async def update_rule(visit: Visit) -> Response:
    """The editor's changes: a new version (a draft changes at once; an active rule's change
    waits as a proposal for a second person)."""
    rule_id = path_uuid(visit, "rule_id")
    if rule_id is None:
        return _no_rule(visit)
    form = await visit.request.form()
    values = _form_values(form)
    triggers = [str(t) for t in form.getlist("trigger_event_types")]
    gateway, token = visit.console.gateway, visit.token
    try:
        rule = await gateway.get(f"/v1/rules/{rule_id}", token=token)
        changes = rule_changes(rule, rule_body(values, triggers))
        if changes:
            await gateway.patch(f"/v1/rules/{rule_id}", token=token, body=changes)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return refused_page(visit, problem)
        return await _rule_page(
            visit, rule_id, status_code=problem.status, problem=problem, values=values,
            triggers=triggers,
        )  # fmt: skip
    return redirect(f"/rules/{rule_id}?saved=1")


@page()
async def version_diff_page(visit: Visit) -> Response:
    """Two versions of a rule side by side: what changed, line by line."""
    rule_id = path_uuid(visit, "rule_id")
    query = visit.request.query_params
    newer = _version_param(query.get("to"))
    older = _version_param(query.get("from")) or (newer - 1 if newer and newer > 1 else None)
    if rule_id is None or newer is None or older is None:
        return _no_rule(visit)
    gateway, token = visit.console.gateway, visit.token
    try:
        rule, before, after = await asyncio.gather(
            gateway.get(f"/v1/rules/{rule_id}", token=token),
            gateway.get(f"/v1/rules/{rule_id}/versions/{older}", token=token),
            gateway.get(f"/v1/rules/{rule_id}/versions/{newer}", token=token),
        )
    except ApiProblem as refused:
        return refused_page(visit, refused, what=visit.gettext("There is no such version."))
    return visit.render(
        "studio_diff.html",
        rule=rule,
        before=before,
        after=after,
        diffs=version_diff(before.get("snapshot", {}), after.get("snapshot", {})),
    )


# --- templates --------------------------------------------------------------------------------


@page()
async def template_gallery(visit: Visit) -> Response:
    """The shipped rule templates, each with its tunable parameters and a form to create a
    rule from it (proposed for approval)."""
    try:
        templates = await visit.console.gateway.get("/v1/rule-templates", token=visit.token)
    except ApiProblem as refused:
        return refused_page(visit, refused)
    return visit.render(
        "studio_templates.html",
        templates=templates,
        severities=SEVERITIES,
        may_create=visit.may("POST", "/v1/rule-templates/x/rules"),
        problem=None,
        failed_key=None,
    )


@page()
async def create_from_template(visit: Visit) -> Response:
    key = str(visit.request.path_params["key"])[:80]
    form = await visit.request.form()
    body: dict[str, Any] = {}
    for name in ("name", "severity", "owner_team"):
        if form_text(form, name, limit=200):
            body[name] = form_text(form, name, limit=200)
    parameters = {}
    for name in form:
        if name.startswith("param."):
            value = form_text(form, name, limit=40)
            if value:
                parameters[name.removeprefix("param.")[:80]] = value
    body["parameters"] = parameters
    gateway, token = visit.console.gateway, visit.token
    try:
        created = await gateway.post(f"/v1/rule-templates/{key}/rules", token=token, body=body)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return refused_page(visit, problem)
        templates = await gateway.get("/v1/rule-templates", token=token)
        return visit.render(
            "studio_templates.html", status_code=problem.status, templates=templates,
            severities=SEVERITIES, may_create=True, problem=problem_text(problem),
            failed_key=key,
        )  # fmt: skip
    return redirect(f"/rules/{created['id']}?saved=1")


# --- backtests --------------------------------------------------------------------------------


def _day_start(raw: str, *, end: bool = False) -> str | None:
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError:
        return None
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if end:
        moment = min(moment + timedelta(days=1), datetime.now(UTC))
    return moment.isoformat()


@page()
async def backtest_rule(visit: Visit) -> Response:
    """Start a backtest job of the rule (its current or pending version): it runs in the
    background; its page follows the progress live, then shows the result."""
    rule_id = path_uuid(visit, "rule_id")
    if rule_id is None:
        return _no_rule(visit)
    form = await visit.request.form()
    start = _day_start(form_text(form, "start", limit=10))
    end = _day_start(form_text(form, "end", limit=10), end=True)
    version = _version_param(form_text(form, "version", limit=10) or None)
    if start is None or end is None:
        return await _rule_page(
            visit, rule_id, status_code=400,
            problem=ApiProblem(400, visit.gettext("Give the backtest's first and last day.")),
        )  # fmt: skip
    body: dict[str, Any] = {"rule_id": rule_id, "start": start, "end": end}
    if version is not None:
        body["rule_version"] = version
    try:
        job = await visit.console.gateway.post("/v1/backtest-jobs", token=visit.token, body=body)
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return refused_page(visit, problem)
        return await _rule_page(visit, rule_id, status_code=problem.status, problem=problem)
    return redirect(f"/backtests/{job['id']}")


def progress_view(job: dict[str, Any]) -> dict[str, Any]:
    """A job's progress as the page shows it: a percentage and its counts so far."""
    progress = job.get("progress")
    share = float(progress) if isinstance(progress, int | float) else 0.0
    return {**job, "percent": round(max(0.0, min(1.0, share)) * 100)}


@page()
async def backtest_job(visit: Visit) -> Response:
    """A backtest job: its progress while it runs (live), its result once it succeeded:
    alerts per day as a chart, sample hits and precision."""
    job_id = path_uuid(visit, "job_id")
    if job_id is None:
        return not_found_page(visit)
    gateway, token = visit.console.gateway, visit.token
    try:
        job = await gateway.get(f"/v1/backtest-jobs/{job_id}", token=token)
    except ApiProblem as refused:
        return refused_page(visit, refused, what=visit.gettext("There is no such backtest."))
    result = job.get("result")
    chart = None
    if result:
        chart = {
            **hits_chart(
                result.get("alerts_per_day", []),
                visit.gettext("Alerts"),
                result.get("start"),
                result.get("end"),
            ),
            "time_label": visit.gettext("Day"),
        }
    return visit.render(
        "studio_backtest.html",
        job=progress_view(job),
        result=result,
        chart=chart,
        finished=job.get("status") not in ("queued", "running"),
    )


@page()
async def live_backtest(visit: Visit) -> Response:
    """The job's progress as it moves (`event: progress`, the bar and counts as HTML), then
    `event: done` when it finished (the page then shows the result)."""
    job_id = path_uuid(visit, "job_id")
    if job_id is None:
        return Response(status_code=404)
    environment = visit.console.environments[visit.locale]
    fragment = environment.get_template("_studio_backtest_progress.html")

    async def events() -> AsyncIterator[str]:
        yield ": relaying\n\n"
        try:
            async with visit.console.gateway.stream(
                f"/v1/backtest-jobs/{job_id}/events", token=visit.token
            ) as upstream:
                async for event in read_events(upstream.aiter_lines()):
                    if event.name not in ("progress", "done"):
                        continue
                    job = progress_view(json.loads(event.data))
                    html = fragment.render(job=job, fmt=visit.fmt, label=label_for(visit.locale))
                    yield write_event("progress", html)
                    if event.name == "done":
                        yield write_event("done", str(job.get("status", "")))
                        return
        except (ApiProblem, SignedOut, httpx.HTTPError):
            return

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


@page()
async def cancel_backtest(visit: Visit) -> Response:
    job_id = path_uuid(visit, "job_id")
    if job_id is None:
        return not_found_page(visit)
    try:
        await visit.console.gateway.post(
            f"/v1/backtest-jobs/{job_id}/cancel", token=visit.token, body={}
        )
    except ApiProblem as problem:
        if problem.status != 409:  # finished meanwhile: its page says how
            return refused_page(visit, problem)
    return redirect(f"/backtests/{job_id}")


# --- proposals --------------------------------------------------------------------------------


@page()
async def decide_proposal(visit: Visit) -> Response:
    """Approve (its version goes live) or reject (with a reason) a pending proposal (the API
    refuses the proposal's own author), or put its version in shadow on live traffic."""
    proposal_id = path_uuid(visit, "proposal_id")
    decision = str(visit.request.path_params["decision"])
    if proposal_id is None or decision not in ("approve", "reject", "shadow"):
        return not_found_page(visit)
    form = await visit.request.form()
    comment = form_text(form, "comment", limit=2_000)
    back = local_path(form_text(form, "back", limit=2_000), "/rules")
    body = {"comment": comment} if comment and decision != "shadow" else {}
    try:
        await visit.console.gateway.post(
            f"/v1/rule-proposals/{proposal_id}/{decision}", token=visit.token, body=body
        )
    except ApiProblem as problem:
        return refused_page(visit, problem)
    separator = "&" if "?" in back else "?"
    return redirect(f"{back}{separator}decided={decision}")


def routes() -> list[Route]:
    return [
        Route("/rules", rules_index, methods=["GET"]),
        Route("/rules", create_rule, methods=["POST"]),
        Route("/rules/new", new_rule, methods=["GET"]),
        Route("/rules/validate", validate_condition, methods=["POST"]),
        Route("/rules/preview", preview_messages, methods=["GET"]),
        Route("/rules/templates", template_gallery, methods=["GET"]),
        Route("/rules/templates/{key}", create_from_template, methods=["POST"]),
        Route("/rules/{rule_id}", rule_page, methods=["GET"]),
        Route("/rules/{rule_id}", update_rule, methods=["POST"]),
        Route("/rules/{rule_id}/diff", version_diff_page, methods=["GET"]),
        Route("/rules/{rule_id}/backtest", backtest_rule, methods=["POST"]),
        Route("/backtests/{job_id}", backtest_job, methods=["GET"]),
        Route("/backtests/{job_id}/cancel", cancel_backtest, methods=["POST"]),
        Route("/live/backtests/{job_id}", live_backtest, methods=["GET"]),
        Route("/proposals/{proposal_id}/{decision}", decide_proposal, methods=["POST"]),
    ]
