"""The console's pages and forms (Starlette, Jinja2): sign-in, the language switch, the alert
desk and the case page. Every datum comes from the gateway's public API with the signed-in
person's token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from riskwatch_console import (
    admin,
    approvals,
    dashboards,
    managed_lists,
    models,
    notifications,
    studio,
)
from riskwatch_console.actions import (
    ACTION_FIELDS,
    CONTACT_CHANNELS,
    MEASURE_KINDS,
    OUTCOMES,
    action_body,
    offered_actions,
)
from riskwatch_console.config import Settings, get_settings
from riskwatch_console.customer360 import (
    CHANNELS,
    DIRECTIONS,
    TRANSACTION_FIELDS,
    TransactionQuery,
    credit_series,
    financial_series,
    latest_by_kind,
    open_cases,
    parse_transaction_query,
    reviews_due,
    risk_series,
    watchlist_status,
)
from riskwatch_console.desk import (
    QUEUES,
    SEVERITIES,
    SLA_STATES,
    SORTS,
    STATUSES,
    TYPES,
    InvalidFilter,
    parse_desk_query,
    sla_badge,
)
from riskwatch_console.gateway import ApiProblem, Gateway, SignedOut
from riskwatch_console.headers import SecurityHeaders
from riskwatch_console.i18n import chosen_locale, parse_instant
from riskwatch_console.inbox import RELAY_SECONDS, inbox, live_badge, mark_read
from riskwatch_console.labels import N_, label_for
from riskwatch_console.sse import read_events, write_event
from riskwatch_console.sso import SsoFailed, SsoProvider
from riskwatch_console.web import (
    Console,
    Visit,
    local_path,
    page,
    redirect,
    template_environments,
)

STATIC = Path(__file__).parent / "static"
MAX_CREDENTIAL = 320
MAX_BULK = 500
# The start page's watch-list reviews due: mine, active, due today or overdue (the total
# says when there are more than shown).
REVIEWS_DUE_QUERY = {"owner": "me", "review_due": "true", "status": "active", "limit": "20"}


def _form_text(form: Any, name: str, *, limit: int = MAX_CREDENTIAL) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


# --- sign-in, sign-out, language ------------------------------------------------------------


@page(signed_in=False)
async def sign_in_form(visit: Visit) -> Response:
    """The sign-in page."""
    target = local_path(visit.request.query_params.get("next"))
    return visit.render("sign_in.html", next=target, email="", error=None)


@page(signed_in=False)
async def sign_in(visit: Visit) -> Response:
    """Password sign-in against the gateway; the token goes into the encrypted cookie."""
    form = await visit.request.form()
    email, password = _form_text(form, "email"), _form_text(form, "password", limit=1024)
    target = local_path(_form_text(form, "next", limit=2000))
    if not email or not password:
        error = visit.gettext("Enter your email and password.")
        return visit.render("sign_in.html", status_code=400, next=target, email=email, error=error)
    client = visit.request.client
    try:
        signed = await visit.console.gateway.sign_in(
            email, password, client_ip=client.host if client else None
        )
    except ApiProblem as problem:
        error = (
            visit.gettext("Wrong email or password, or the account is disabled.")
            if problem.status == 401
            else visit.gettext("Too many attempts: wait a moment and try again.")
            if problem.status == 429
            else problem.detail or problem.title
        )
        status = problem.status if 400 <= problem.status < 500 else 502
        return visit.render(
            "sign_in.html", status_code=status, next=target, email=email, error=error
        )
    visit.sign_in(signed)
    return redirect(target)


@page(signed_in=False)
async def sso_begin(visit: Visit) -> Response:
    """Sign in with the bank's SSO: off to the provider, with a state, a nonce and a PKCE
    challenge this session keeps."""
    sso = visit.console.sso
    if sso is None:
        return _not_found(visit, visit.gettext("Sign-in with SSO is not configured."))
    redirect_uri = visit.console.settings.oidc_redirect_url or str(
        visit.request.url_for("sso_callback")
    )
    target = local_path(visit.request.query_params.get("next"))
    try:
        url, pending = await sso.begin(redirect_uri=redirect_uri, next_path=target)
    except SsoFailed:
        return _sso_failed(visit, target, status_code=502)
    visit.update(replace(visit.session, sso=pending))
    return redirect(url)


@page(signed_in=False)
async def sso_callback(visit: Visit) -> Response:
    """The provider's answer: the state checked here, the code redeemed for an id_token, which
    the gateway verifies (with the nonce) and exchanges for the person's RiskWatch token."""
    sso, pending = visit.console.sso, visit.session.sso
    if sso is None:
        return _not_found(visit, visit.gettext("Sign-in with SSO is not configured."))
    query = visit.request.query_params
    # Whatever happens next, this sign-in's state, nonce and verifier are spent.
    visit.update(replace(visit.session, sso=None))
    target = local_path(pending.get("next") if pending else None)
    code = query.get("code")
    if pending is None or not code or query.get("error"):
        return _sso_failed(visit, target)
    client = visit.request.client
    try:
        id_token = await sso.finish(pending, state=query.get("state"), code=code[:2048])
        signed = await visit.console.gateway.sign_in_with_id_token(
            id_token, pending["nonce"], client_ip=client.host if client else None
        )
    except (SsoFailed, ApiProblem):
        return _sso_failed(visit, target)
    visit.sign_in(signed)
    return redirect(target)


def _sso_failed(visit: Visit, target: str, *, status_code: int = 400) -> Response:
    error = visit.gettext(
        "Sign-in with SSO failed, or your account is not enabled in RiskWatch. Try again, or "
        "ask your administrator."
    )
    return visit.render("sign_in.html", status_code=status_code, next=target, email="", error=error)


@page(signed_in=False)
async def sign_out(visit: Visit) -> Response:
    """End the session: the cookie forgets the token, the gateway ends the sign-in."""
    refresh_token = visit.session.refresh_token
    visit.update(visit.session.signed_out())
    if refresh_token is not None:
        with contextlib.suppress(ApiProblem, httpx.HTTPError):
            await visit.console.gateway.revoke(refresh_token)
    return redirect("/sign-in")


@page(signed_in=False)
async def choose_language(visit: Visit) -> Response:
    """The language switch: kept in the session, for this person."""
    form = await visit.request.form()
    locale = chosen_locale(_form_text(form, "locale"))
    if locale is not None:
        visit.update(visit.session.with_locale(locale))
    return redirect(local_path(_form_text(form, "back", limit=2000)))


# --- the desk -------------------------------------------------------------------------------


@page()
async def home(visit: Visit) -> Response:
    """The start page: my open cases and alerts by SLA badge, what came in today, and the
    watch-list entries I own whose review is due (today or overdue), soonest first."""
    gateway, token = visit.console.gateway, visit.token
    summary, reviews = await asyncio.gather(
        gateway.get("/v1/desk/summary", token=token),
        gateway.get("/v1/watchlist", token=token, params=REVIEWS_DUE_QUERY),
    )
    return visit.render(
        "home.html",
        summary=summary,
        reviews=reviews_due(reviews.get("items", [])),
        reviews_total=int(reviews.get("total", 0)),
    )


@page()
async def bulk_assign(visit: Visit) -> Response:
    """Assign the alerts ticked on the desk (to me, a person or a team) in one call."""
    form = await visit.request.form()
    alert_ids = [str(value)[:40] for value in form.getlist("alert_ids")][:MAX_BULK]
    back = local_path(_form_text(form, "back", limit=2000), "/desk")
    body: dict[str, Any] = {"alert_ids": alert_ids}
    if _form_text(form, "to_me"):
        body["assignee"] = visit.session.staff_id or visit.session.subject
    for name in ("assignee", "team"):
        if _form_text(form, name, limit=201) and name not in body:
            body[name] = _form_text(form, name, limit=201)
    try:
        done = await visit.console.gateway.post("/v1/alerts/assign", token=visit.token, body=body)
    except ApiProblem as problem:
        message = "; ".join([problem.detail or problem.title, *problem.field_errors])
        return visit.render(
            "error.html",
            status_code=problem.status if 400 <= problem.status < 500 else 502,
            title=visit.gettext("The alerts were not assigned"),
            message=message,
        )
    separator = "&" if "?" in back else "?"
    return redirect(f"{back}{separator}assigned={int(done.get('assigned', 0))}")


def _alert_rows(items: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for alert in items:
        # The API's badge (alerting's clock and rules); computed here only if it sends none.
        badge = alert.get("sla_state") or sla_badge(
            status=str(alert.get("status")),
            raised_at=parse_instant(alert.get("raised_at")),
            sla_due_at=parse_instant(alert.get("sla_due_at")),
            resolved_at=parse_instant(alert.get("resolved_at")),
            now=now,
        )
        rows.append({**alert, "sla": badge})
    return rows


@page()
async def desk(visit: Visit) -> Response:
    """The alert desk: a queue with filters, sort, totals and SLA badges."""
    request = visit.request
    options = {
        "queues": QUEUES,
        "types": TYPES,
        "severities": SEVERITIES,
        "statuses": STATUSES,
        "sorts": SORTS,
        "sla_states": SLA_STATES,
    }
    try:
        query = parse_desk_query(request.query_params)
    except InvalidFilter as invalid:
        return visit.render(
            "desk.html",
            status_code=400,
            query=parse_desk_query({}),
            options=options,
            rows=[],
            page=None,
            error=visit.gettext("This filter is not valid:") + f" {invalid.field}",
        )
    error = None
    alerts: dict[str, Any] = {"items": [], "total": 0, "total_is_estimate": False}
    status = 200
    try:
        alerts = await visit.console.gateway.get(
            "/v1/alerts", token=visit.token, params=query.api_params()
        )
    except ApiProblem as problem:
        error, status = problem.detail or problem.title, problem.status
    next_link = None
    if alerts.get("next_cursor"):
        next_link = "/desk?" + urlencode(query.link_params(cursor=alerts["next_cursor"]))
    # htmx asks for the table only; a history restore asks for the whole page.
    partial = request.headers.get("hx-request") and not request.headers.get(
        "hx-history-restore-request"
    )
    response = visit.render(
        "_desk_table.html" if partial else "desk.html",
        status_code=status,
        query=query,
        options=options,
        rows=_alert_rows(alerts.get("items", []), datetime.now(UTC)),
        page=alerts,
        next_link=next_link,
        error=error,
        assigned=_count_param(request.query_params.get("assigned")),
        may_assign=visit.may("POST", "/v1/alerts/assign"),
        live_query=urlencode(query.stream_params()),
    )
    response.headers["vary"] = "HX-Request"
    return response


def _next_open(items: list[dict[str, Any]], after: str | None) -> str | None:
    for alert in items:
        if alert.get("status") != "resolved" and alert.get("id") != after:
            return str(alert["id"])
    return None


@page()
async def next_alert(visit: Visit) -> Response:
    """The next alert to work on (one key, `n`): the first open one in my queue, else the
    newest new one; the desk when there is none."""
    after = visit.request.query_params.get("after")
    gateway, token = visit.console.gateway, visit.token
    for params in (
        {"assignee": "me", "sort": "sla_due_at", "limit": "50"},
        {"assignee": "none", "status": "new", "sort": "sla_due_at", "limit": "50"},
        {"status": "new", "limit": "50"},
    ):
        page_of = await gateway.get("/v1/alerts", token=token, params=params)
        found = _next_open(page_of.get("items", []), after)
        if found is not None:
            return redirect(f"/alerts/{found}")
    return redirect("/desk")


def _count_param(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 6 else None


@page()
async def live_desk(visit: Visit) -> Response:
    """New and changed alerts of a desk view as they happen: `event: alert` with the row."""
    try:
        query = parse_desk_query(visit.request.query_params)
    except InvalidFilter:
        return Response(status_code=400)
    environment = visit.console.environments[visit.locale]
    row_template = environment.get_template("_desk_row.html")

    async def events() -> AsyncIterator[str]:
        yield ": relaying\n\n"
        deadline = time.monotonic() + RELAY_SECONDS
        try:
            async with visit.console.gateway.stream(
                "/v1/alerts/stream", token=visit.token, params=query.stream_params()
            ) as upstream:
                async for event in read_events(upstream.aiter_lines()):
                    if event.name == "alert":
                        alert = json.loads(event.data)
                        row = _alert_rows([alert], datetime.now(UTC))[0]
                        html = row_template.render(
                            row=row, fmt=visit.fmt, session=visit.session,
                            may_assign=visit.may("POST", "/v1/alerts/assign"),
                        )  # fmt: skip
                        yield write_event("alert", html, event_id=event.id)
                    if time.monotonic() > deadline:
                        break
        except (ApiProblem, SignedOut, httpx.HTTPError):
            return

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


# --- the case page --------------------------------------------------------------------------


def _uuid_of(visit: Visit, name: str) -> str | None:
    try:
        return str(uuid.UUID(str(visit.request.path_params[name])))
    except ValueError:
        return None


def _alert_id(visit: Visit) -> str | None:
    return _uuid_of(visit, "alert_id")


def _not_found(visit: Visit, message: str | None = None) -> Response:
    return visit.render(
        "error.html",
        status_code=404,
        title=visit.gettext("Not found"),
        message=message or visit.gettext("There is no such alert, or you may not see it."),
    )


async def _case_page(
    visit: Visit,
    alert_id: str,
    *,
    status_code: int = 200,
    failed: str | None = None,
    problem: ApiProblem | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    gateway, token = visit.console.gateway, visit.token
    try:
        alert, timeline = await asyncio.gather(
            gateway.get(f"/v1/alerts/{alert_id}", token=token),
            gateway.get(f"/v1/alerts/{alert_id}/timeline", token=token),
        )
    except ApiProblem as refused:
        if refused.status in (403, 404):
            return _not_found(visit)
        raise
    now = datetime.now(UTC)
    return visit.render(
        "case.html",
        status_code=status_code,
        alert=_alert_rows([alert], now)[0],
        timeline=timeline,
        actions=offered_actions(alert_id, alert.get("allowed_actions", []), visit.session.roles),
        fields=ACTION_FIELDS,
        channels=CONTACT_CHANNELS,
        outcomes=OUTCOMES,
        measure_kinds=MEASURE_KINDS,
        failed=failed,
        problem=problem,
        form=form or {},
    )


@page()
async def case(visit: Visit) -> Response:
    """The case page of one alert: summary, evidence, reasons, timeline and actions."""
    alert_id = _alert_id(visit)
    if alert_id is None:
        return _not_found(visit)
    return await _case_page(visit, alert_id)


@page()
async def act(visit: Visit) -> Response:
    """One action on an alert (a form of the case page); the API's refusal is shown inline."""
    alert_id, action = _alert_id(visit), str(visit.request.path_params["action"])
    if alert_id is None or action not in ACTION_FIELDS:
        return _not_found(visit)
    form = await visit.request.form()
    values = {name: _form_text(form, name, limit=4_001) for name in form if name != "csrf_token"}
    body = action_body(action, values)
    if action == "assign" and values.get("to_me"):
        body = {"assignee": visit.session.staff_id or visit.session.subject}
    try:
        await visit.console.gateway.post(
            f"/v1/alerts/{alert_id}/{action}", token=visit.token, body=body
        )
    except ApiProblem as problem:
        if problem.status == 404:
            return _not_found(visit)
        status = problem.status if 400 <= problem.status < 500 else 502
        return await _case_page(
            visit, alert_id, status_code=status, failed=action, problem=problem, form=values
        )
    return redirect(f"/alerts/{alert_id}#{action}")


# --- the customer 360 ------------------------------------------------------------------------


def _labels(visit: Visit, *messages: str) -> tuple[str, ...]:
    return tuple(visit.gettext(message) for message in messages)


@page()
async def customer(visit: Visit) -> Response:
    """The customer 360: profile (masked per role), risk levels and their history, credit and
    financial history, watch-list status, open cases, alerts, accounts, measures in force,
    interactions and the transactions (filtered)."""
    customer_id = _uuid_of(visit, "customer_id")
    not_found = visit.gettext("There is no such customer, or you may not see it.")
    if customer_id is None:
        return _not_found(visit, not_found)
    filter_error, status = None, 200
    try:
        transaction_query = parse_transaction_query(visit.request.query_params)
    except InvalidFilter as invalid:
        named = label_for(visit.locale)(invalid.field)
        filter_error = visit.gettext("This filter is not valid:") + f" {named}"
        transaction_query, status = TransactionQuery(), 400
    gateway, token, path = visit.console.gateway, visit.token, f"/v1/customers/{customer_id}"
    about = {"customer_id": customer_id}
    try:
        view, credit, risk, alerts, financial, watch, cases, transactions = await asyncio.gather(
            gateway.get(f"{path}/360", token=token),
            gateway.get(f"{path}/credit-records", token=token, params={"limit": "100"}),
            gateway.get(f"{path}/risk/history", token=token, params={"limit": "200"}),
            gateway.get("/v1/alerts", token=token, params={**about, "limit": "20"}),
            gateway.get(f"{path}/financial-profile/history", token=token),
            gateway.get("/v1/watchlist", token=token, params={**about, "limit": "5"}),
            gateway.get("/v1/cases", token=token, params={**about, "limit": "20"}),
            gateway.get(f"{path}/transactions", token=token, params=transaction_query.api_params()),
        )
    except ApiProblem as refused:
        if refused.status in (403, 404):
            return _not_found(visit, not_found)
        raise
    assessments = risk.get("items", [])
    credit_labels = _labels(visit, N_("Credit score"), N_("Utilisation (%)"))
    money_labels = _labels(visit, N_("Annual income"), N_("Assets"), N_("Liabilities"),
                           N_("Net worth"))  # fmt: skip
    risk_chart = risk_series(assessments)
    risk_chart["labels"] = [label_for(visit.locale)(kind) for kind in risk_chart["labels"]]
    time_label = visit.gettext("Time")
    return visit.render(
        "customer.html",
        status_code=status,
        customer_id=customer_id,
        view=view,
        person=view["customer"],
        credit_records=credit.get("items", []),
        credit_chart={
            **credit_series(credit.get("items", []), (credit_labels[0], credit_labels[1])),
            "time_label": time_label,
        },
        financial_points=list(reversed(financial.get("points", []))),
        financial_chart={**financial_series(financial, money_labels), "time_label": time_label},
        risk_chart={**risk_chart, "time_label": time_label},
        latest_risk=latest_by_kind(assessments),
        alerts=_alert_rows(alerts.get("items", []), datetime.now(UTC)),
        watch=watchlist_status(watch.get("items", [])),
        cases=open_cases(cases.get("items", [])),
        transactions=transactions.get("items", []),
        transactions_more=bool(transactions.get("next_cursor")),
        transaction_query=transaction_query,
        filter_values={k: visit.request.query_params.get(k, "")[:40] for k in TRANSACTION_FIELDS},
        filter_error=filter_error,
        directions=DIRECTIONS,
        channels=CHANNELS,
    )


# --- the app --------------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the gateway answers: without it the console can show nothing."""
    console: Console = request.app.state.console
    try:
        response = await console.gateway.client.get("/healthz")
        ready = response.status_code == 200
    except httpx.HTTPError:
        ready = False
    return JSONResponse({"status": "ok" if ready else "gateway unreachable"}, 200 if ready else 503)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    codec = settings.session_codec()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            base_url=settings.gateway_url,
            timeout=settings.gateway_timeout_seconds,
            follow_redirects=False,
        ) as client:
            sso = SsoProvider(settings) if settings.oidc_enabled else None
            app.state.console = Console(
                settings, Gateway(client), codec, template_environments(), sso
            )
            try:
                yield
            finally:
                if sso is not None:
                    await sso.aclose()

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/", home),
        Route("/sign-in", sign_in_form, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-in/sso", sso_begin, methods=["GET"]),
        Route("/sign-in/sso/callback", sso_callback, methods=["GET"], name="sso_callback"),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/language", choose_language, methods=["POST"]),
        Route("/desk", desk),
        Route("/desk/assign", bulk_assign, methods=["POST"]),
        Route("/live/desk", live_desk),
        Route("/next", next_alert),
        Route("/alerts/{alert_id}", case),
        Route("/alerts/{alert_id}/{action}", act, methods=["POST"]),
        Route("/customers/{customer_id}", customer),
        Route("/inbox", inbox),
        Route("/inbox/{message_id}/read", mark_read, methods=["POST"]),
        Route("/live/inbox", live_badge),
        *studio.routes(),
        *managed_lists.routes(),
        *dashboards.routes(),
        *admin.routes(),
        *approvals.routes(),
        *notifications.routes(),
        *models.routes(),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
