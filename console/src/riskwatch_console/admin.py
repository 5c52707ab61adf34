"""Administration: users and their roles, API keys (a new or rotated secret is shown once and
then forgotten), the audit log with its filters and a CSV export. Admins only: the gateway
refuses everyone else, and these pages say so before asking it."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from riskwatch_console.gateway import ApiProblem
from riskwatch_console.labels import N_
from riskwatch_console.web import Visit, page, redirect

# The roles a person can hold (a machine's key may also be `ingest`).
USER_ROLES = ("admin", "risk_manager", "analyst", "relationship_manager", "viewer")
KEY_ROLES = (*USER_ROLES, "ingest")
ROLE_NAMES = {
    "admin": N_("Administrator"),
    "risk_manager": N_("Risk manager"),
    "analyst": N_("Analyst"),
    "relationship_manager": N_("Relationship manager"),
    "viewer": N_("Viewer"),
    "ingest": N_("Data intake (machine)"),
}
MAX_TEXT = 320
PAGE_SIZE = 50
# One CSV export: at most this many entries (the API's pages of 500, newest first).
EXPORT_PAGE = 500
EXPORT_MAX_ROWS = 50_000
AUDIT_COLUMNS = ("id", "occurred_at", "action", "subject", "method", "path", "status",
                 "request_id", "client_ip", "detail")  # fmt: skip
# Common audit actions offered in the filter (any `family.*` or exact action may be typed).
AUDIT_ACTIONS = (
    "sign_in.*", "sign_in.succeeded", "sign_in.failed", "access.denied", "rate_limited",
    "api_key.*", "api_key.created", "api_key.rotated", "api_key.revoked", "api_key.used",
    "user.*", "user.created", "user.updated", "user.roles_changed", "user.disabled",
    "user.deleted",
)  # fmt: skip


def _text(form: Mapping[str, Any], name: str, limit: int = MAX_TEXT) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def role_names(visit: Visit) -> dict[str, str]:
    return {code: visit.gettext(name) for code, name in ROLE_NAMES.items()}


def _problem_text(problem: ApiProblem) -> str:
    return "; ".join([problem.detail or problem.title, *problem.field_errors])


def _status(problem: ApiProblem) -> int:
    return problem.status if 400 <= problem.status < 500 else 502


def refused(visit: Visit) -> Response:
    """The page of a role that may not see this screen (no link to it was shown either)."""
    return visit.render(
        "error.html",
        status_code=403,
        title=visit.gettext("Not allowed"),
        message=visit.gettext("Your role may not open this page. Ask an administrator."),
    )


def _valid_uuid(raw: object) -> str | None:
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        return None


def _valid_key_id(raw: object) -> str | None:
    text = str(raw)
    plain = text.replace("_", "").replace("-", "")
    return text if 0 < len(text) <= 32 and plain.isascii() and plain.isalnum() else None


def spreadsheet_safe(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text beginning with = + - @ (or a tab / CR)
    is a formula there, so it is written with a leading apostrophe."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- users ---------------------------------------------------------------------------------


@page()
async def users(visit: Visit) -> Response:
    """Users with their roles, staff id and status; the form for a new one."""
    if not visit.may("GET", "/v1/users"):
        return refused(visit)
    return await _users_page(visit)


async def _users_page(
    visit: Visit, *, status_code: int = 200, problem: str | None = None,
    form: Mapping[str, Any] | None = None,
) -> Response:  # fmt: skip
    after = _valid_uuid(visit.request.query_params.get("after"))
    params = {"limit": str(PAGE_SIZE), **({"after": after} if after else {})}
    listed = await visit.console.gateway.get("/v1/users", token=visit.token, params=params)
    once = _take_once(visit, "user")
    return visit.render(
        "admin_users.html",
        status_code=status_code,
        tab="users",
        users=listed.get("items", []),
        total=int(listed.get("total", 0)),
        next_cursor=listed.get("next_cursor"),
        roles=USER_ROLES,
        role_names=role_names(visit),
        problem=problem,
        form=form or {},
        once=once,
    )


@page()
async def create_user(visit: Visit) -> Response:
    if not visit.may("POST", "/v1/users"):
        return refused(visit)
    form = await visit.request.form()
    body: dict[str, Any] = {
        "email": _text(form, "email"),
        "roles": [r for r in form.getlist("roles") if r in USER_ROLES],
    }
    for name in ("name", "staff_id"):
        if _text(form, name, 200):
            body[name] = _text(form, name, 200)
    try:
        created = await visit.console.gateway.post("/v1/users", token=visit.token, body=body)
    except ApiProblem as problem:
        shown = {"email": body["email"], "name": body.get("name", ""),
                 "staff_id": body.get("staff_id", ""), "roles": body["roles"]}  # fmt: skip
        return await _users_page(visit, status_code=_status(problem),
                                 problem=_problem_text(problem), form=shown)  # fmt: skip
    if created.get("generated_password"):
        _keep_once(visit, kind="user", id=str(created["id"]), email=str(created["email"]),
                   secret=str(created["generated_password"]))  # fmt: skip
    return redirect("/admin/users#created")


@page()
async def user(visit: Visit) -> Response:
    """One user: their roles, staff id, name, and whether they may sign in."""
    if not visit.may("GET", "/v1/users/{id}"):
        return refused(visit)
    user_id = _valid_uuid(visit.request.path_params["user_id"])
    if user_id is None:
        return _missing(visit)
    return await _user_page(visit, user_id)


async def _user_page(
    visit: Visit, user_id: str, *, status_code: int = 200, problem: str | None = None
) -> Response:
    try:
        found = await visit.console.gateway.get(f"/v1/users/{user_id}", token=visit.token)
    except ApiProblem as refusal:
        if refusal.status in (404, 422):
            return _missing(visit)
        raise
    return visit.render("admin_user.html", status_code=status_code, tab="users", user=found,
                        roles=USER_ROLES, role_names=role_names(visit), problem=problem,
                        saved=visit.request.query_params.get("saved") == "1")  # fmt: skip


@page()
async def update_user(visit: Visit) -> Response:
    """Save a user's name, roles, staff id and status (their older tokens stop working)."""
    if not visit.may("PATCH", "/v1/users/{id}"):
        return refused(visit)
    user_id = _valid_uuid(visit.request.path_params["user_id"])
    if user_id is None:
        return _missing(visit)
    form = await visit.request.form()
    body: dict[str, Any] = {
        "name": _text(form, "name", 200) or None,
        "staff_id": _text(form, "staff_id", 200) or None,
        "roles": [r for r in form.getlist("roles") if r in USER_ROLES],
        "active": _text(form, "active") == "true",
    }
    try:
        await visit.console.gateway.patch(f"/v1/users/{user_id}", token=visit.token, body=body)
    except ApiProblem as problem:
        if problem.status == 404:
            return _missing(visit)
        return await _user_page(visit, user_id, status_code=_status(problem),
                                problem=_problem_text(problem))  # fmt: skip
    return redirect(f"/admin/users/{user_id}?saved=1")


def _missing(visit: Visit) -> Response:
    return visit.render("error.html", status_code=404, title=visit.gettext("Not found"),
                        message=visit.gettext("There is no such item."))  # fmt: skip


# --- API keys ------------------------------------------------------------------------------


def _keep_once(visit: Visit, **shown: str) -> None:
    visit.update(replace(visit.session, once=dict(shown)))


def _take_once(visit: Visit, kind: str) -> dict[str, str] | None:
    """What to show once (a secret): read, then forgotten by the cookie this page sets."""
    once = visit.session.once
    if not once or once.get("kind") != kind:
        return None
    visit.update(replace(visit.session, once=None))
    return once


@page()
async def api_keys(visit: Visit) -> Response:
    """API keys (never their secrets, except a new one, once), the form for a new key."""
    if not visit.may("GET", "/v1/api-keys"):
        return refused(visit)
    return await _keys_page(visit)


async def _keys_page(
    visit: Visit, *, status_code: int = 200, problem: str | None = None,
    form: Mapping[str, Any] | None = None,
) -> Response:  # fmt: skip
    after = _valid_key_id(visit.request.query_params.get("after", ""))
    params = {"limit": str(PAGE_SIZE), **({"after": after} if after else {})}
    listed = await visit.console.gateway.get("/v1/api-keys", token=visit.token, params=params)
    return visit.render(
        "admin_keys.html",
        status_code=status_code,
        tab="keys",
        keys=listed.get("items", []),
        total=int(listed.get("total", 0)),
        next_cursor=listed.get("next_cursor"),
        roles=KEY_ROLES,
        role_names=role_names(visit),
        problem=problem,
        form=form or {"roles": ["ingest"]},
        once=_take_once(visit, "api_key"),
    )


@page()
async def create_api_key(visit: Visit) -> Response:
    if not visit.may("POST", "/v1/api-keys"):
        return refused(visit)
    form = await visit.request.form()
    scopes = [s for s in _text(form, "scopes", 2000).replace(",", " ").split() if s][:50]
    body: dict[str, Any] = {
        "name": _text(form, "name", 200),
        "roles": [r for r in form.getlist("roles") if r in KEY_ROLES] or ["ingest"],
        "scopes": scopes,
    }
    rate = _text(form, "rate_limit_per_minute", 12)
    if rate:
        body["rate_limit_per_minute"] = int(rate) if rate.isdigit() else rate
    try:
        issued = await visit.console.gateway.post("/v1/api-keys", token=visit.token, body=body)
    except ApiProblem as problem:
        shown = {**body, "scopes": " ".join(scopes), "rate_limit_per_minute": rate}
        return await _keys_page(visit, status_code=_status(problem),
                                problem=_problem_text(problem), form=shown)  # fmt: skip
    _keep_once(visit, kind="api_key", id=str(issued["id"]), name=str(issued["name"]),
               secret=str(issued["secret"]), action="created")  # fmt: skip
    return redirect("/admin/api-keys#new-secret")


@page()
async def change_api_key(visit: Visit) -> Response:
    """Rotate (a new secret, shown once; the old one works for the grace period) or revoke."""
    key_id = _valid_key_id(visit.request.path_params["key_id"])
    action = str(visit.request.path_params["action"])
    if key_id is None or action not in ("rotate", "revoke"):
        return _missing(visit)
    if not visit.may("POST", f"/v1/api-keys/{key_id}/{action}"):
        return refused(visit)
    try:
        changed = await visit.console.gateway.post(
            f"/v1/api-keys/{key_id}/{action}", token=visit.token, body={}
        )
    except ApiProblem as problem:
        if problem.status == 404 and action == "revoke":
            return _missing(visit)
        return await _keys_page(visit, status_code=_status(problem),
                                problem=_problem_text(problem))  # fmt: skip
    if action == "rotate":
        _keep_once(visit, kind="api_key", id=key_id, name=str(changed["name"]),
                   secret=str(changed["secret"]), action="rotated")  # fmt: skip
        return redirect("/admin/api-keys#new-secret")
    return redirect(f"/admin/api-keys#key-{key_id}")


# --- the audit log -------------------------------------------------------------------------


class InvalidAuditFilter(ValueError):
    """An audit-log filter the form cannot send to the gateway (shown to the user, not sent)."""


@dataclass(frozen=True)
class AuditQuery:
    """The audit log's filters as the page's form has them (days are whole UTC days)."""

    action: str = ""
    subject: str = ""
    path: str = ""
    since: date | None = None
    until: date | None = None

    def api_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for name in ("action", "subject", "path"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.since is not None:
            params["since"] = datetime.combine(self.since, time(), UTC).isoformat()
        if self.until is not None:  # the last day shown is whole
            next_day = self.until + timedelta(days=1)
            params["until"] = datetime.combine(next_day, time(), UTC).isoformat()
        return params

    def link_params(self) -> dict[str, str]:
        names = ("action", "subject", "path")
        params = {name: getattr(self, name) for name in names if getattr(self, name)}
        for name in ("since", "until"):
            if getattr(self, name) is not None:
                params[name] = getattr(self, name).isoformat()
        return params


def parse_audit_query(raw: Mapping[str, str]) -> AuditQuery:
    """The filters of a request (pure); InvalidAuditFilter names the field that is wrong."""
    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        value = raw.get(name, "").strip()
        try:
            days[name] = date.fromisoformat(value) if value else None
        except ValueError:
            raise InvalidAuditFilter(name) from None
    if days["since"] and days["until"] and days["until"] < days["since"]:
        raise InvalidAuditFilter("until")
    path = raw.get("path", "").strip()[:200]
    if path and not path.startswith("/"):
        raise InvalidAuditFilter("path")
    return AuditQuery(
        action=raw.get("action", "").strip()[:60],
        subject=raw.get("subject", "").strip()[:200],
        path=path,
        since=days["since"],
        until=days["until"],
    )


@page()
async def audit(visit: Visit) -> Response:
    """The audit log, newest first: filters, pages, and the export of what the filters find."""
    if not visit.may("GET", "/v1/audit-log"):
        return refused(visit)
    query_params = visit.request.query_params
    error: str | None = None
    status = 200
    listed: dict[str, Any] = {"items": [], "total": 0}
    who: dict[str, str] = {}
    try:
        query = parse_audit_query(query_params)
    except InvalidAuditFilter as invalid:
        query, status = AuditQuery(), 400
        error = visit.gettext("This filter is not valid:") + f" {invalid}"
    before = query_params.get("before", "")
    if error is None:
        params = {**query.api_params(), "limit": str(PAGE_SIZE)}
        if before.isdigit() and len(before) < 20:
            params["before"] = before
        try:
            found: list[dict[str, Any]] = await asyncio.gather(
                visit.console.gateway.get("/v1/audit-log", token=visit.token, params=params),
                visit.console.gateway.get("/v1/users", token=visit.token,
                                          params={"limit": "500"}),
            )  # fmt: skip
            listed = found[0]
            who = {str(u["id"]): u.get("name") or u["email"] for u in found[1].get("items", [])}
        except ApiProblem as problem:
            error, status = _problem_text(problem), _status(problem)
    links = query.link_params()
    next_cursor = listed.get("next_cursor")
    return visit.render(
        "admin_audit.html",
        status_code=status,
        tab="audit",
        query=query,
        actions=AUDIT_ACTIONS,
        entries=[{**e, "detail_text": _detail_text(e.get("detail"))} for e in listed["items"]],
        total=int(listed.get("total", 0)),
        total_is_estimate=bool(listed.get("total_is_estimate")),
        next_link=(
            f"/admin/audit?{urlencode({**links, 'before': next_cursor})}" if next_cursor else None
        ),
        export_link="/admin/audit.csv" + (f"?{urlencode(links)}" if links else ""),
        error=error,
        who=who,
    )


def _detail_text(detail: object) -> str:
    if not isinstance(detail, dict) or not detail:
        return ""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True)[:400]


def audit_csv_rows(entries: list[dict[str, Any]]) -> str:
    """CSV lines of audit entries (pure), every cell spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for entry in entries:
        row = [entry.get(c) for c in AUDIT_COLUMNS[:-1]]
        detail = json.dumps(entry.get("detail") or {}, ensure_ascii=False, sort_keys=True)
        writer.writerow([spreadsheet_safe(cell) for cell in (*row, detail)])
    return out.getvalue()


@page()
async def audit_export(visit: Visit) -> Response:
    """The entries the filters find as CSV (UTF-8 with a BOM, for spreadsheets), newest first,
    read page by page from the API (at most EXPORT_MAX_ROWS)."""
    if not visit.may("GET", "/v1/audit-log"):
        return refused(visit)
    try:
        query = parse_audit_query(visit.request.query_params)
    except InvalidAuditFilter as invalid:
        return visit.render("error.html", status_code=400,
                            title=visit.gettext("This filter is not valid:"),
                            message=str(invalid))  # fmt: skip
    gateway, token = visit.console.gateway, visit.token
    params = {**query.api_params(), "limit": str(EXPORT_PAGE)}
    # The first page before answering: a refusal is a page, not a broken download.
    first = await gateway.get("/v1/audit-log", token=token, params=params)

    async def lines() -> AsyncIterator[str]:
        yield "\ufeff" + ",".join(AUDIT_COLUMNS) + "\r\n"
        listed, written = first, 0
        while True:
            items = listed.get("items", [])[: EXPORT_MAX_ROWS - written]
            yield audit_csv_rows(items)
            written += len(items)
            cursor = listed.get("next_cursor")
            if not cursor or written >= EXPORT_MAX_ROWS:
                return
            listed = await gateway.get("/v1/audit-log", token=token,
                                       params={**params, "before": str(cursor)})  # fmt: skip

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="riskwatch-audit-{stamp}.csv"'},
    )


# --- configuration as code ------------------------------------------------------------------

CONFIG_SECTIONS = ("alerting", "notify", "scoring")


def merged_bundle(sections: list[dict[str, Any]]) -> str:
    """The services' sections as one bundle in the canonical encoding (keys sorted, two-space
    indent, UTF-8, one final newline): the same configuration is always the same bytes."""
    bundle: dict[str, Any] = {}
    for section in sections:
        bundle.update(section)
    return json.dumps(bundle, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@page()
async def configuration(visit: Visit) -> Response:
    """Configuration as code: what is exported (and never), and the export."""
    if not all(visit.may("GET", f"/v1/config/{s}/export") for s in CONFIG_SECTIONS):
        return refused(visit)
    return _config_page(visit)


@page()
async def configuration_export(visit: Visit) -> Response:
    """The whole bundle (every service's section) as one canonical JSON file."""
    if not all(visit.may("GET", f"/v1/config/{s}/export") for s in CONFIG_SECTIONS):
        return refused(visit)
    gateway, token = visit.console.gateway, visit.token
    sections = await asyncio.gather(
        *(gateway.get(f"/v1/config/{s}/export", token=token) for s in CONFIG_SECTIONS)
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        merged_bundle(list(sections)),
        media_type="application/json; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="riskwatch-config-{stamp}.json"'},
    )


# The largest bundle the console forwards (the services refuse larger ones: 413).
MAX_BUNDLE_BYTES = 8 * 1024 * 1024


def bundle_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


async def _import(visit: Visit, raw: bytes, mode: str) -> list[dict[str, Any]]:
    """Each service's answer for its section, in order; an ApiProblem names the service that
    refused (a dry run stores nothing anywhere; an apply stops at the first refusal)."""
    reports = []
    for section in CONFIG_SECTIONS:
        try:
            reports.append(await visit.console.gateway.post_content(
                f"/v1/config/{section}/import", token=visit.token, content=raw,
                content_type="application/json", params={"mode": mode}, timeout=120.0,
            ))  # fmt: skip
        except ApiProblem as problem:
            problem.detail = f"{section}: {problem.detail or problem.title}"
            problem.field_errors = problem.field_errors[:20]
            raise problem from None
    return reports


async def _bundle_of(visit: Visit) -> tuple[bytes | None, str | None]:
    form = await visit.request.form(max_part_size=MAX_BUNDLE_BYTES + 1)
    upload = form.get("bundle")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_BUNDLE_BYTES + 1)
    else:
        text = form.get("bundle_text")
        raw = text[: MAX_BUNDLE_BYTES + 1].encode() if isinstance(text, str) else b""
    # A form sends a textarea's lines as CRLF: the same bundle (JSON ignores the difference).
    raw = raw.replace(b"\r\n", b"\n")
    digest = _text(form, "digest", 64) or None
    return (raw if raw else None), digest


@page()
async def configuration_dry_run(visit: Visit) -> Response:
    """Import, step one: each service's diff of the uploaded bundle; nothing is stored."""
    if not all(visit.may("POST", f"/v1/config/{s}/import") for s in CONFIG_SECTIONS):
        return refused(visit)
    raw, _ = await _bundle_of(visit)
    if raw is None or len(raw) > MAX_BUNDLE_BYTES:
        message = visit.gettext("Choose a bundle file (JSON, at most 8 MiB).")
        return _config_page(visit, status_code=413 if raw else 400, problem=message)
    try:
        reports = await _import(visit, raw, "dry-run")
    except ApiProblem as problem:
        return _config_page(visit, status_code=_status(problem), problem=_problem_text(problem))
    return _config_page(visit, reports=reports, bundle=raw.decode("utf-8", "replace"),
                        digest=bundle_digest(raw))  # fmt: skip


@page()
async def configuration_apply(visit: Visit) -> Response:
    """Import, step two: exactly the bundle whose diff was shown (its digest must match)."""
    if not all(visit.may("POST", f"/v1/config/{s}/import") for s in CONFIG_SECTIONS):
        return refused(visit)
    raw, digest = await _bundle_of(visit)
    if raw is None or digest is None or not hmac.compare_digest(bundle_digest(raw), digest):
        message = visit.gettext("Run the dry run again: apply takes exactly the bundle shown.")
        return _config_page(visit, status_code=400, problem=message)
    try:
        reports = await _import(visit, raw, "apply")
    except ApiProblem as problem:
        return _config_page(visit, status_code=_status(problem), problem=_problem_text(problem))
    return _config_page(visit, reports=reports, applied=True)


def _config_page(
    visit: Visit, *, status_code: int = 200, problem: str | None = None,
    reports: list[dict[str, Any]] | None = None, bundle: str | None = None,
    digest: str | None = None, applied: bool = False,
) -> Response:  # fmt: skip
    return visit.render("admin_config.html", status_code=status_code, tab="config",
                        sections=CONFIG_SECTIONS, problem=problem, reports=reports or [],
                        bundle=bundle, digest=digest, applied=applied,
                        may_import=visit.may("POST", "/v1/config/alerting/import"))  # fmt: skip


@page()
async def admin_home(visit: Visit) -> Response:
    return redirect("/admin/users")


def routes() -> list[Route]:
    return [
        Route("/admin", admin_home),
        Route("/admin/users", users, methods=["GET"]),
        Route("/admin/users", create_user, methods=["POST"]),
        Route("/admin/users/{user_id}", user, methods=["GET"]),
        Route("/admin/users/{user_id}", update_user, methods=["POST"]),
        Route("/admin/api-keys", api_keys, methods=["GET"]),
        Route("/admin/api-keys", create_api_key, methods=["POST"]),
        Route("/admin/api-keys/{key_id}/{action}", change_api_key, methods=["POST"]),
        Route("/admin/audit", audit),
        Route("/admin/audit.csv", audit_export),
        Route("/admin/config", configuration),
        Route("/admin/config/export", configuration_export),
        Route("/admin/config/dry-run", configuration_dry_run, methods=["POST"]),
        Route("/admin/config/apply", configuration_apply, methods=["POST"]),
    ]
