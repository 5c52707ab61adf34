"""Managed lists (countries, counterparties, accounts, devices the rules name with
`list("...")`): browse, search, add, remove, and a bulk CSV upload with a report per row."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import Route

from riskwatch_console.gateway import ApiProblem
from riskwatch_console.list_upload import (
    MAX_UPLOAD_BYTES,
    UnreadableUpload,
    UploadPlan,
    loaded,
    proposed,
    read_upload,
)
from riskwatch_console.studio_kit import (
    form_text,
    not_found_page,
    path_uuid,
    problem_text,
    refused_page,
)
from riskwatch_console.web import Visit, local_path, page, redirect

LIST_KINDS = ("countries", "counterparties", "accounts", "devices", "other")
PAGE_SIZE = 50
MAX_REMOVE = 500
MAX_SEARCH = 200


def is_proposal(result: Any) -> bool:
    """Whether the API answered a write with a proposal (202: an active rule names the list,
    so a second person approves the change) rather than doing it."""
    return isinstance(result, dict) and "change" in result and "list_id" in result


def _no_list(visit: Visit) -> Response:
    return not_found_page(visit, visit.gettext("There is no such list, or you may not see it."))


@page()
async def lists_index(visit: Visit) -> Response:
    """Every managed list with its size and last change; a form to create one."""
    return await _lists_view(visit)


async def _lists_view(
    visit: Visit, *, problem: ApiProblem | None = None, form: dict[str, str] | None = None
) -> Response:
    try:
        found = await visit.console.gateway.get("/v1/lists", token=visit.token)
    except ApiProblem as refused:
        return refused_page(visit, refused)
    return visit.render(
        "studio_lists.html",
        status_code=problem.status if problem and 400 <= problem.status < 500 else 200,
        lists=found,
        kinds=LIST_KINDS,
        may_write=visit.may("POST", "/v1/lists"),
        problem=problem_text(problem) if problem else None,
        form=form or {},
    )


@page()
async def create_list(visit: Visit) -> Response:
    form = await visit.request.form()
    values = {name: form_text(form, name) for name in ("name", "kind", "description")}
    body: dict[str, Any] = {"name": values["name"], "kind": values["kind"]}
    if values["description"]:
        body["description"] = values["description"]
    try:
        created = await visit.console.gateway.post("/v1/lists", token=visit.token, body=body)
    except ApiProblem as problem:
        if problem.status == 403:
            return refused_page(visit, problem)
        return await _lists_view(visit, problem=problem, form=values)
    return redirect(f"/lists/{created['id']}")


async def _list_view(
    visit: Visit,
    list_id: str,
    *,
    status_code: int = 200,
    report: UploadPlan | None = None,
    problem: str | None = None,
    notice: str | None = None,
) -> Response:
    query = visit.request.query_params
    search = (query.get("q") or "").strip()[:MAX_SEARCH]
    cursor = (query.get("cursor") or "")[:MAX_SEARCH] or None
    params = {"limit": str(PAGE_SIZE)}
    if search:
        params["search"] = search
    if cursor:
        params["cursor"] = cursor
    gateway, token = visit.console.gateway, visit.token
    try:
        managed, entries, proposals = await asyncio.gather(
            gateway.get(f"/v1/lists/{list_id}", token=token),
            gateway.get(f"/v1/lists/{list_id}/entries", token=token, params=params),
            gateway.get(
                "/v1/list-proposals", token=token, params={"list_id": list_id, "status": "pending"}
            ),
        )
    except ApiProblem as refused:
        if refused.status == 404:
            return _no_list(visit)
        if refused.status == 403:
            return refused_page(visit, refused)
        # A search the API refuses (a control character): said, with the list unfiltered.
        managed = await gateway.get(f"/v1/lists/{list_id}", token=token)
        entries = {"items": [], "total": 0, "next_cursor": None}
        proposals = []
        problem, status_code = problem_text(refused), refused.status
    next_link = None
    if entries.get("next_cursor"):
        next_link = f"/lists/{list_id}?" + urlencode(
            {**({"q": search} if search else {}), "cursor": entries["next_cursor"]}
        )
    return visit.render(
        "studio_list.html",
        status_code=status_code,
        managed=managed,
        entries=entries,
        search=search,
        paged=cursor is not None,
        next_link=next_link,
        may_write=visit.may("POST", f"/v1/lists/{list_id}/entries"),
        report=report,
        problem=problem,
        notice=notice,
        proposals=proposals,
        may_decide=visit.may("POST", "/v1/list-proposals/x/approve"),
        me=visit.session.subject,
        max_upload_mb=MAX_UPLOAD_BYTES // 1_000_000,
    )


@page()
async def list_page(visit: Visit) -> Response:
    """One list: its entries (search, pages), add and remove, the CSV upload."""
    list_id = path_uuid(visit, "list_id")
    if list_id is None:
        return _no_list(visit)
    notice = None
    added = visit.request.query_params.get("added")
    if added:
        notice = visit.gettext("Added to the list:") + f" {added[:200]}"
    removed = visit.request.query_params.get("removed")
    if removed and removed.isdigit() and len(removed) < 7:
        notice = visit.gettext("Entries removed:") + f" {visit.fmt.number(int(removed))}"
    decided = visit.request.query_params.get("decided")
    if visit.request.query_params.get("proposed"):
        notice = visit.gettext(
            "An active rule names this list: the change is proposed, and a second person "
            "approves it before the rules see it."
        )
    elif decided == "approve":
        notice = visit.gettext("Approved: the change is applied.")
    elif decided == "reject":
        notice = visit.gettext("Rejected: the list stays as it is.")
    return await _list_view(visit, list_id, notice=notice)


@page()
async def add_entry(visit: Visit) -> Response:
    """One entry (value and note) into the list."""
    list_id = path_uuid(visit, "list_id")
    if list_id is None:
        return _no_list(visit)
    form = await visit.request.form()
    value, note = form_text(form, "value", limit=200), form_text(form, "note", limit=1_000)
    entry: dict[str, Any] = {"value": value}
    if note:
        entry["note"] = note
    try:
        done = await visit.console.gateway.post(
            f"/v1/lists/{list_id}/entries",
            token=visit.token,
            body={"entries": [entry], "mode": "merge"},
        )
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return refused_page(visit, problem)
        return await _list_view(
            visit, list_id, status_code=problem.status, problem=problem_text(problem)
        )
    if is_proposal(done):
        return redirect(f"/lists/{list_id}?proposed=1")
    return redirect(f"/lists/{list_id}?" + urlencode({"added": value}))


@page()
async def remove_entries(visit: Visit) -> Response:
    """The ticked entries out of the list."""
    list_id = path_uuid(visit, "list_id")
    if list_id is None:
        return _no_list(visit)
    form = await visit.request.form()
    values = [str(v)[:200] for v in form.getlist("values") if isinstance(v, str)][:MAX_REMOVE]
    if not values:
        return redirect(f"/lists/{list_id}")
    try:
        done = await visit.console.gateway.post(
            f"/v1/lists/{list_id}/entries/remove", token=visit.token, body={"values": values}
        )
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return refused_page(visit, problem)
        return await _list_view(
            visit, list_id, status_code=problem.status, problem=problem_text(problem)
        )
    if is_proposal(done):
        return redirect(f"/lists/{list_id}?proposed=1")
    return redirect(f"/lists/{list_id}?removed={int(done.get('removed', 0))}")


@page()
async def upload_entries(visit: Visit) -> Response:
    """A CSV of entries merged into the list; the page reports each row: added, already in
    the list, a duplicate of an earlier line, or invalid with its reason (nothing invalid is
    sent; a file that is not a list's CSV loads nothing)."""
    list_id = path_uuid(visit, "list_id")
    if list_id is None:
        return _no_list(visit)
    gateway, token = visit.console.gateway, visit.token
    try:
        managed = await gateway.get(f"/v1/lists/{list_id}", token=token)
    except ApiProblem as problem:
        return refused_page(visit, problem)
    form = await visit.request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return await _list_view(
            visit, list_id, status_code=400, problem=visit.gettext("Choose a CSV file.")
        )
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        plan = read_upload(data, kind=str(managed.get("kind")))
    except UnreadableUpload as unreadable:
        status = 413 if len(data) > MAX_UPLOAD_BYTES else 400
        return await _list_view(
            visit, list_id, status_code=status, problem=visit.gettext(str(unreadable))
        )
    entries = [{"value": value, **({"note": note} if note else {})} for value, note in plan.to_load]
    if entries:
        try:
            result = await gateway.post(
                f"/v1/lists/{list_id}/entries",
                token=token,
                body={"entries": entries, "mode": "merge"},
            )
        except ApiProblem as problem:
            if problem.status in (403, 404):
                return refused_page(visit, problem)
            return await _list_view(
                visit, list_id, status_code=problem.status, report=plan,
                problem=visit.gettext("Nothing was loaded:") + " " + problem_text(problem),
            )  # fmt: skip
        if is_proposal(result):
            plan = proposed(plan)
        else:
            plan = loaded(plan, result.get("already_present", []))
    return await _list_view(visit, list_id, report=plan)


@page()
async def decide_list_proposal(visit: Visit) -> Response:
    """Approve (the change is applied) or reject (with a reason) a list's pending change;
    the API refuses its own author."""
    proposal_id = path_uuid(visit, "proposal_id")
    decision = str(visit.request.path_params["decision"])
    if proposal_id is None or decision not in ("approve", "reject"):
        return not_found_page(visit)
    form = await visit.request.form()
    comment = form_text(form, "comment", limit=2_000)
    back = local_path(form_text(form, "back", limit=2_000), "/lists")
    try:
        await visit.console.gateway.post(
            f"/v1/list-proposals/{proposal_id}/{decision}",
            token=visit.token,
            body={"comment": comment} if comment else {},
        )
    except ApiProblem as problem:
        return refused_page(visit, problem)
    separator = "&" if "?" in back else "?"
    return redirect(f"{back}{separator}decided={decision}")


def routes() -> list[Route]:
    return [
        Route("/lists", lists_index, methods=["GET"]),
        Route("/lists", create_list, methods=["POST"]),
        Route("/lists/{list_id}", list_page, methods=["GET"]),
        Route("/lists/{list_id}/entries", add_entry, methods=["POST"]),
        Route("/lists/{list_id}/remove", remove_entries, methods=["POST"]),
        Route("/lists/{list_id}/upload", upload_entries, methods=["POST"]),
        Route("/list-proposals/{proposal_id}/{decision}", decide_list_proposal, methods=["POST"]),
    ]
