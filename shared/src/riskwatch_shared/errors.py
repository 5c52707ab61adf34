"""RFC 9457 problem+json errors shared by every service."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskwatch_shared.logging import get_logger, request_id_var

log = get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ServiceError(Exception):
    """Base of every expected error; a subclass fixes status_code and title."""

    status_code: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(ServiceError):
    status_code = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(ServiceError):
    status_code = 409
    title = "Conflict"
    type_slug = "conflict"


class Unauthorized(ServiceError):
    status_code = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(ServiceError):
    status_code = 403
    title = "Forbidden"
    type_slug = "forbidden"


class ServiceUnavailable(ServiceError):
    """A dependency (PostgreSQL, NATS) does not answer: the caller should retry the same
    request (intake is idempotent on `external_id`) after `Retry-After` seconds."""

    status_code = 503
    title = "Service unavailable"
    type_slug = "unavailable"
    retry_after = 2


class InvalidInput(ServiceError):
    status_code = 422
    title = "Invalid input"
    type_slug = "invalid-input"


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    type_slug: str,
    instance: str | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://riskwatch.dev/problems/{type_slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE)


def _json_safe_errors(errors: Any) -> list[dict[str, Any]]:
    safe = []
    for err in errors:
        safe.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return safe


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error as problem+json."""

    async def service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        response = problem_response(
            exc.status_code,
            exc.title,
            exc.detail,
            type_slug=exc.type_slug,
            instance=request.url.path,
            **exc.extra,
        )
        # A 429 says when to come back (the contract declares Retry-After on it).
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int) and exc.status_code == 429:
            response.headers["retry-after"] = str(retry_after)
        return response

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            422,
            "Validation failed",
            "The request does not match the schema.",
            type_slug="validation-failed",
            instance=request.url.path,
            errors=_json_safe_errors(exc.errors()),
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        response = problem_response(
            exc.status_code,
            str(exc.detail),
            str(exc.detail),
            type_slug=f"http-{exc.status_code}",
            instance=request.url.path,
        )
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    install_unavailable_handler(app)


def unavailable_response(request: Request, exc: BaseException) -> JSONResponse:
    """503 problem+json with `Retry-After`: nothing was stored (the request's one transaction
    rolled back with the connection), the same request may be sent again."""
    response = problem_response(
        ServiceUnavailable.status_code,
        ServiceUnavailable.title,
        "A dependency is unavailable (database or message bus); retry the same request.",
        type_slug=ServiceUnavailable.type_slug,
        instance=request.url.path,
    )
    response.headers["retry-after"] = str(ServiceUnavailable.retry_after)
    return response


def install_unavailable_handler(app: FastAPI) -> None:
    """503 + Retry-After, never 500, while PostgreSQL or NATS is unavailable.

    Registered for the connection-class exception types (a catch-all 500 handler, if any, stays
    separate); an error of those types that is not a dependency failure (a unique violation is
    a DBAPIError too) is raised on, to whatever handles unexpected errors.
    """
    # Imported here: the error vocabulary stays importable without the messaging kit.
    from riskwatch_shared.messaging.faults import TRANSIENT_HANDLER_TYPES, is_transient

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ServiceUnavailable) or is_transient(exc):
            return unavailable_response(request, exc)
        raise exc

    app.add_exception_handler(ServiceUnavailable, unavailable)
    for exc_type in TRANSIENT_HANDLER_TYPES:
        app.add_exception_handler(exc_type, unavailable)


def _data_error_of(exc: BaseException) -> asyncpg.DataError | None:
    """The database's refusal of a value (out of range, NUL, bad text) behind `exc`, if any."""
    if isinstance(exc, asyncpg.DataError):
        return exc
    if isinstance(exc, DBAPIError):
        cause = exc.orig.__cause__ if exc.orig is not None else None
        for candidate in (exc.orig, cause):
            if isinstance(candidate, asyncpg.DataError):
                return candidate
    return None


def unexpected_error_response(exc: BaseException, *, path: str) -> JSONResponse:
    """The answer to an exception no handler took: a value the database refused (one a
    request schema let through) is the caller's 422; a body nested too deeply to parse is a
    400; anything else is a 500 that says nothing of its cause, only the request id to quote.
    Logged with the request id and the exception's type, never its text or SQL parameters."""
    data_error = _data_error_of(exc)
    if data_error is not None:
        log.warning("request.refused_by_database", sqlstate=data_error.sqlstate, path=path)
        return problem_response(
            422,
            "Invalid input",
            "A value is out of range or holds characters that cannot be stored.",
            type_slug="invalid-input",
            instance=path,
        )
    if isinstance(exc, RecursionError):
        return problem_response(
            400, "Bad request", "The body is nested too deeply.", type_slug="bad-request"
        )
    log.error("request.failed", path=path, error_type=type(exc).__name__, exc_info=exc)
    return problem_response(
        500,
        "Internal server error",
        "The request could not be completed; quote the request id when reporting it.",
        type_slug="internal-error",
        instance=path,
        request_id=request_id_var.get(),
    )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "Validation failed (problem+json)"},
}
