"""What the rules studio's and the managed lists' pages share: reading a form or a path
parameter, and the page shown when the API refuses (403: not for your role; 404: not there)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from riskwatch_console.gateway import ApiProblem
from riskwatch_console.web import Visit

MAX_TEXT = 4_000


def form_text(form: Any, name: str, *, limit: int = MAX_TEXT) -> str:
    """A form field, trimmed, its line breaks `\n` (a browser sends a textarea's as CRLF);
    one character over `limit` is kept so the API says it is long."""
    value = form.get(name)
    return value.replace("\r\n", "\n").strip()[: limit + 1] if isinstance(value, str) else ""


def path_uuid(visit: Visit, name: str) -> str | None:
    try:
        return str(uuid.UUID(str(visit.request.path_params[name])))
    except ValueError:
        return None


def problem_text(problem: ApiProblem) -> str:
    parts = [problem.detail or problem.title, *problem.field_errors]
    return "; ".join(part for part in parts if part)


def refused_page(visit: Visit, problem: ApiProblem, *, what: str | None = None) -> Response:
    """The API's refusal as a page: 403 says the role may not, 404 that there is no such
    thing (or it may not be seen), anything else the API's own words."""
    if problem.status == 403:
        return visit.render(
            "error.html",
            status_code=403,
            title=visit.gettext("Not for your role"),
            message=visit.gettext("Your role may not see or do this. Ask an administrator."),
        )
    if problem.status == 404:
        return not_found_page(visit, what)
    return visit.render(
        "error.html",
        status_code=problem.status if 400 <= problem.status < 500 else 502,
        title=visit.gettext("The request was refused"),
        message=problem_text(problem),
    )


def not_found_page(visit: Visit, what: str | None = None) -> Response:
    return visit.render(
        "error.html",
        status_code=404,
        title=visit.gettext("Not found"),
        message=what or visit.gettext("There is no such page, or you may not see it."),
    )
