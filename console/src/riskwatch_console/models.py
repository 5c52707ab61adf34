"""Models: the registry of each kind (champion, challenger, candidates, retired), each
version's report with its ROC and calibration charts, training from the stored labels or a
CSV, and proposing a version as champion or challenger (maker-checker: a second person
approves). Readers see; managers train, propose, decide and retire."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import Route

from riskwatch_console.admin import refused
from riskwatch_console.gateway import ApiProblem
from riskwatch_console.labels import N_
from riskwatch_console.web import Visit, page, redirect

KINDS = ("credit", "churn", "transaction")
TRAINABLE = ("credit", "churn")
ALGORITHMS = ("auto", "linear", "binned", "woe", "lightgbm")
STATUS_ORDER = ("champion", "challenger", "candidate", "retired")
STATUS_NAMES = {
    "champion": N_("Champion"),
    "challenger": N_("Challenger (shadow)"),
    "candidate": N_("Candidate"),
    "retired": N_("Retired"),
}
# The largest CSV the console forwards (the API refuses larger ones anyway).
MAX_CSV_BYTES = 20 * 1024 * 1024
# Training cross-validates every algorithm asked for: minutes, not the usual API call.
TRAIN_TIMEOUT_SECONDS = 600.0


def _uuid(raw: object) -> str | None:
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        return None


def _problem_text(problem: ApiProblem) -> str:
    return "; ".join([problem.detail or problem.title, *problem.field_errors])


def _status(problem: ApiProblem) -> int:
    return problem.status if 400 <= problem.status < 500 else 502


def _text(form: Mapping[str, Any], name: str, limit: int = 100) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def registry(models: list[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Models by kind, then status (champion first), newest version first (pure)."""
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for model in sorted(models, key=lambda m: -int(m.get("version", 0))):
        statuses = grouped.setdefault(str(model.get("kind")), {s: [] for s in STATUS_ORDER})
        statuses.setdefault(str(model.get("status")), []).append(model)
    return grouped


def roc_chart(metrics: Mapping[str, Any], labels: tuple[str, str, str, str]) -> dict[str, Any]:
    """The ROC curve as the chart's series (pure): x = false positive rate, the model's true
    positive rate and the diagonal of a model that guesses."""
    points = metrics.get("roc") or []
    xs = [float(p["fpr"]) for p in points]
    return {
        "x": xs,
        "series": [[float(p["tpr"]) for p in points], xs],
        "labels": [labels[0], labels[1]],
        "x_label": labels[2],
        "y_label": labels[3],
    }


def calibration_chart(
    metrics: Mapping[str, Any], labels: tuple[str, str, str, str]
) -> dict[str, Any]:
    """Predicted against observed rate per equal-count bin, and the diagonal (pure)."""
    bins = sorted(metrics.get("calibration") or [], key=lambda b: float(b["mean_predicted"]))
    xs = [float(b["mean_predicted"]) for b in bins]
    return {
        "x": xs,
        "series": [[float(b["observed_rate"]) for b in bins], xs],
        "labels": [labels[0], labels[1]],
        "x_label": labels[2],
        "y_label": labels[3],
    }


def _status_names(visit: Visit) -> dict[str, str]:
    return {code: visit.gettext(name) for code, name in STATUS_NAMES.items()}


@page()
async def models(visit: Visit) -> Response:
    """The registry of every kind, the changes awaiting a second person, the training form."""
    if not visit.may("GET", "/v1/models"):
        return refused(visit)
    return await _models_page(visit)


async def _models_page(
    visit: Visit, *, status_code: int = 200, problem: str | None = None,
    trained: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    gateway, token = visit.console.gateway, visit.token
    listed, pending = await asyncio.gather(
        gateway.get("/v1/models", token=token),
        gateway.get("/v1/model-proposals", token=token, params={"status": "pending"}),
    )
    query = visit.request.query_params
    return visit.render(
        "models.html",
        status_code=status_code,
        registry=registry(listed.get("items", [])),
        statuses=STATUS_ORDER,
        status_names=_status_names(visit),
        pending=pending if isinstance(pending, list) else pending.get("items", []),
        kinds=TRAINABLE,
        algorithms=ALGORITHMS,
        problem=problem,
        trained=trained,
        decided=query.get("decided") if query.get("decided") in ("approve", "reject") else None,
        may_train=visit.may("POST", "/v1/models/credit/train"),
        may_decide=visit.may("POST", "/v1/model-proposals/x/approve"),
        me=visit.session.subject,
    )


@page()
async def model(visit: Visit) -> Response:
    """One version's report: figures, ROC and calibration, features, governance history."""
    if not visit.may("GET", "/v1/models/{id}"):
        return refused(visit)
    model_id = _uuid(visit.request.path_params["model_id"])
    if model_id is None:
        return _missing(visit)
    return await _model_page(visit, model_id)


async def _model_page(
    visit: Visit, model_id: str, *, status_code: int = 200, problem: str | None = None
) -> Response:
    gateway, token = visit.console.gateway, visit.token
    try:
        found, history = await asyncio.gather(
            gateway.get(f"/v1/models/{model_id}", token=token),
            gateway.get(f"/v1/models/{model_id}/history", token=token),
        )
    except ApiProblem as refusal:
        if refusal.status in (404, 422):
            return _missing(visit)
        raise
    metrics = found.get("metrics") or {}
    g = visit.gettext
    query = visit.request.query_params
    return visit.render(
        "model.html",
        status_code=status_code,
        model=found,
        metrics=metrics,
        history=history,
        status_names=_status_names(visit),
        roc=roc_chart(
            metrics,
            (g("This model"), g("Guessing"), g("False positive rate"), g("True positive rate")),
        ),
        calibration=calibration_chart(
            metrics,
            (
                g("Observed"),
                g("Perfect calibration"),
                g("Predicted probability"),
                g("Observed bad rate"),
            ),
        ),
        problem=problem,
        proposed=query.get("proposed") if query.get("proposed") in ("activate", "shadow") else None,
        may_propose=visit.may("POST", f"/v1/models/{model_id}/activate"),
        may_retire=visit.may("POST", f"/v1/models/{model_id}/retire"),
    )


def _missing(visit: Visit) -> Response:
    return visit.render("error.html", status_code=404, title=visit.gettext("Not found"),
                        message=visit.gettext("There is no such item."))  # fmt: skip


@page()
async def train(visit: Visit) -> Response:
    """Train a new version: from the stored labels (JSON) or an uploaded CSV. The API trains
    while the page waits (the form shows its progress); the new version is a candidate."""
    kind = str(visit.request.path_params["kind"])
    if kind not in TRAINABLE:
        return _missing(visit)
    if not visit.may("POST", f"/v1/models/{kind}/train"):
        return refused(visit)
    form = await visit.request.form(max_part_size=MAX_CSV_BYTES)
    algorithm = _text(form, "algorithm", 16)
    folds = _text(form, "folds", 2)
    upload = form.get("csv")
    gateway, token = visit.console.gateway, visit.token
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(MAX_CSV_BYTES + 1)
            params = {"target": _text(form, "target") or "default"}
            for name in ("bad_value", "categorical", "features"):
                if _text(form, name, 2000):
                    params[name] = _text(form, name, 2000)
            if algorithm in ALGORITHMS:
                params["algorithm"] = algorithm
            if folds.isdigit():
                params["folds"] = folds
            trained = await gateway.post_content(f"/v1/models/{kind}/train", token=token,
                                                 content=content, content_type="text/csv",
                                                 params=params,
                                                 timeout=TRAIN_TIMEOUT_SECONDS)  # fmt: skip
        else:
            body: dict[str, Any] = {}
            if algorithm in ALGORITHMS:
                body["algorithm"] = algorithm
            if folds.isdigit():
                body["folds"] = int(folds)
            trained = await gateway.post(f"/v1/models/{kind}/train", token=token, body=body,
                                         timeout=TRAIN_TIMEOUT_SECONDS)  # fmt: skip
    except ApiProblem as problem:
        return await _models_page(visit, status_code=_status(problem),
                                  problem=_problem_text(problem))  # fmt: skip
    return redirect(f"/models/{trained['model']['id']}?trained=1")


@page()
async def propose(visit: Visit) -> Response:
    """Propose a version as champion (activate) or challenger (shadow), or retire it."""
    model_id = _uuid(visit.request.path_params["model_id"])
    action = str(visit.request.path_params["action"])
    if model_id is None or action not in ("activate", "shadow", "retire"):
        return _missing(visit)
    if not visit.may("POST", f"/v1/models/{model_id}/{action}"):
        return refused(visit)
    try:
        await visit.console.gateway.post(f"/v1/models/{model_id}/{action}", token=visit.token,
                                         body={})  # fmt: skip
    except ApiProblem as problem:
        if problem.status == 404:
            return _missing(visit)
        return await _model_page(visit, model_id, status_code=_status(problem),
                                 problem=_problem_text(problem))  # fmt: skip
    if action == "retire":
        return redirect(f"/models/{model_id}")
    return redirect(f"/models/{model_id}?proposed={action}")


@page()
async def decide(visit: Visit) -> Response:
    """Approve or reject a proposal (never one's own: the API refuses it)."""
    proposal_id = _uuid(visit.request.path_params["proposal_id"])
    decision = str(visit.request.path_params["decision"])
    if proposal_id is None or decision not in ("approve", "reject"):
        return _missing(visit)
    path = f"/v1/model-proposals/{proposal_id}/{decision}"
    if not visit.may("POST", path):
        return refused(visit)
    form = await visit.request.form()
    comment = _text(form, "comment", 2000)
    body = {"comment": comment} if comment else {}
    try:
        await visit.console.gateway.post(path, token=visit.token, body=body)
    except ApiProblem as problem:
        return await _models_page(visit, status_code=_status(problem),
                                  problem=_problem_text(problem))  # fmt: skip
    return redirect(f"/models?decided={decision}")


def routes() -> list[Route]:
    return [
        Route("/models", models),
        Route("/models/train/{kind}", train, methods=["POST"]),
        Route("/models/proposals/{proposal_id}/{decision}", decide, methods=["POST"]),
        Route("/models/{model_id}", model),
        Route("/models/{model_id}/{action}", propose, methods=["POST"]),
    ]
