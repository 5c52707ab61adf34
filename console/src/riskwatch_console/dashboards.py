"""The dashboards (issue 24, screen 3): alert volume, time to acknowledge and SLA breaches,
false positives per rule; the watch list's size and movements; customers by risk level and
segment with this week's top risers; the serving models' drift (PSI). Each chart has its numbers one
click away (a table under it) and a CSV export of that same table.

Every figure comes from a read-only aggregate of the gateway's API with the person's token:
an RM's figures cover their own customers (the API scopes them), a role the API refuses gets
a 403 page and no link."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from riskwatch_console.charts import (
    Figure,
    alert_figures,
    drift_figures,
    risk_figures,
    watchlist_figures,
)
from riskwatch_console.gateway import ApiProblem
from riskwatch_console.labels import N_, label_for
from riskwatch_console.web import Visit, page, redirect

Fetch = Callable[[Visit, dict[str, str]], Awaitable[list[Figure]]]


async def _alerts(visit: Visit, period: dict[str, str]) -> list[Figure]:
    stats = await visit.console.gateway.get(
        "/v1/alerts/stats/daily", token=visit.token, params=period
    )
    return alert_figures(stats, visit.gettext, _label(visit))


async def _watchlist(visit: Visit, period: dict[str, str]) -> list[Figure]:
    stats = await visit.console.gateway.get("/v1/watchlist/stats", token=visit.token, params=period)
    return watchlist_figures(stats, visit.gettext)


RISK_KINDS = ("credit", "anomaly", "churn")
SERVING = ("champion", "challenger")


def risk_kind(query: Any) -> str:
    kind = str(query.get("kind") or "credit")
    return kind if kind in RISK_KINDS else "credit"


async def _customers(visit: Visit, period: dict[str, str]) -> list[Figure]:
    kind = risk_kind(visit.request.query_params)
    distribution = await visit.console.gateway.get(
        "/v1/customers/risk-distribution", token=visit.token, params={"kind": kind}
    )
    return risk_figures(distribution, kind, visit.gettext, _label(visit))


async def _models(visit: Visit, period: dict[str, str]) -> list[Figure]:
    gateway, token = visit.console.gateway, visit.token
    models = (await gateway.get("/v1/models", token=token)).get("items", [])
    serving = [m for m in models if m.get("status") in SERVING]
    drifts = await asyncio.gather(
        *(gateway.get(f"/v1/models/{m['id']}/drift", token=token) for m in serving)
    )
    rows = [
        {**drift, "version": model["version"], "model_status": model["status"]}
        for model, drift in zip(serving, drifts, strict=True)
    ]
    return drift_figures(rows, visit.gettext, _label(visit))


def _label(visit: Visit) -> Callable[[str], str]:
    return label_for(visit.locale)


@dataclass(frozen=True)
class Board:
    key: str
    title: str
    # The API call whose role rule decides who sees the board (and its nav link).
    api_path: str
    fetch: Fetch
    has_period: bool = True


BOARDS: dict[str, Board] = {
    board.key: board
    for board in (
        Board("alerts", N_("Alerts"), "/v1/alerts/stats/daily", _alerts),
        Board("watchlist", N_("Watch list"), "/v1/watchlist/stats", _watchlist),
        Board(
            "customers",
            N_("Customers by risk"),
            "/v1/customers/risk-distribution",
            _customers,
            has_period=False,
        ),
        Board("models", N_("Model drift"), "/v1/models", _models, has_period=False),
    )
}


class InvalidPeriod(ValueError):
    """A dashboard period that is not a pair of UTC days in order (answered with a 400)."""


def period_params(query: Any) -> dict[str, str]:
    """`since` / `until` as ISO days (both optional: the API's default is the last 30 days)."""
    params = {}
    for name in ("since", "until"):
        value = str(query.get(name) or "").strip()[:20]
        if value:
            try:
                params[name] = date.fromisoformat(value).isoformat()
            except ValueError as invalid:
                raise InvalidPeriod(name) from invalid
    return params


def visible_boards(visit: Visit) -> list[Board]:
    return [board for board in BOARDS.values() if visit.may("GET", board.api_path)]


def _refused(visit: Visit) -> Response:
    return visit.render(
        "error.html",
        status_code=403,
        title=visit.gettext("Not allowed"),
        message=visit.gettext("Your role may not see this dashboard."),
    )


async def _figures(
    visit: Visit, board: Board
) -> tuple[list[Figure], dict[str, str], str | None, int]:
    """The board's figures, the period asked for, and an error to show (with its status)."""
    try:
        period = period_params(visit.request.query_params)
    except InvalidPeriod as invalid:
        return [], {}, visit.gettext("This date is not valid:") + f" {invalid}", 400
    try:
        return await board.fetch(visit, period), period, None, 200
    except ApiProblem as problem:
        status = problem.status if 400 <= problem.status < 500 else 502
        return [], period, problem.detail or problem.title, status


@page()
async def dashboards_home(visit: Visit) -> Response:
    """The first dashboard this person may see."""
    boards = visible_boards(visit)
    return redirect(f"/dashboards/{boards[0].key}") if boards else _refused(visit)


@page()
async def dashboard(visit: Visit) -> Response:
    """One dashboard: its charts, each with its table and CSV link, for a period of days."""
    board = BOARDS.get(str(visit.request.path_params["board"]))
    if board is None:
        return visit.render("error.html", status_code=404, title=visit.gettext("Not found"),
                            message=visit.gettext("There is no such dashboard."))  # fmt: skip
    if not visit.may("GET", board.api_path):
        return _refused(visit)
    figures, period, error, status = await _figures(visit, board)
    if status == 403:
        return _refused(visit)
    return visit.render(
        "dash_board.html",
        status_code=status,
        board=board,
        boards=visible_boards(visit),
        figures=figures,
        period=period,
        kinds=RISK_KINDS,
        kind=risk_kind(visit.request.query_params),
        query=visit.request.url.query,
        error=error,
    )


@page()
async def dashboard_csv(visit: Visit) -> Response:
    """One chart's table as CSV (the numbers the chart was drawn from)."""
    board = BOARDS.get(str(visit.request.path_params["board"]))
    if board is None or not visit.may("GET", board.api_path):
        return Response(status_code=404 if board is None else 403)
    figures, period, error, status = await _figures(visit, board)
    wanted = str(visit.request.path_params["figure"])
    figure = next((f for f in figures if f.key == wanted), None)
    if error is not None or figure is None:
        return Response(error or "no such chart", status_code=status if error else 404,
                        media_type="text/plain; charset=utf-8")  # fmt: skip
    suffix = "-".join(period[name] for name in ("since", "until") if name in period)
    filename = f"riskwatch-{board.key}-{figure.key}{'-' + suffix if suffix else ''}.csv"
    return Response(
        figure.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def routes() -> list[Route]:
    return [
        Route("/dashboards", dashboards_home),
        Route("/dashboards/{board}", dashboard),
        Route("/dashboards/{board}/{figure}.csv", dashboard_csv),
    ]
