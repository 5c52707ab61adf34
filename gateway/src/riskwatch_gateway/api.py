"""The gateway's own operations: sign-in, the caller, users, API keys, the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_gateway import accounts, refresh_tokens, repository
from riskwatch_gateway.config import Settings
from riskwatch_gateway.errors import SignInFailed, SsoNotConfigured
from riskwatch_gateway.models import ApiKey, User
from riskwatch_gateway.schemas import (
    ApiKeyCreate,
    ApiKeyOut,
    ApiKeyPage,
    ApiKeyWithSecret,
    AuditEntryOut,
    AuditPage,
    IdTokenExchange,
    Jwks,
    Me,
    PasswordGrant,
    RefreshRequest,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserCreated,
    UserOut,
    UserPage,
    UserUpdate,
)
from riskwatch_gateway.sso import user_key
from riskwatch_gateway.state import CallerDep, GatewayState, SessionDep, StateDep, client_ip
from riskwatch_gateway.tokens import InvalidToken, issue_access_token
from riskwatch_shared.db.unit_of_work import after_commit
from riskwatch_shared.errors import problem_response

router = APIRouter(prefix="/v1")


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    titles = {404: "Not found", 409: "Conflict", 422: "Validation failed", 401: "Unauthorized"}
    return {code: {"description": f"{titles.get(code, 'Error')} (problem+json)"} for code in codes}


LimitQuery = Annotated[int, Query(ge=1, le=500, description="Page size.")]
KEY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
KeyId = Annotated[str, Path(pattern=KEY_ID_PATTERN, description="The key's public id.")]


FORM = "application/x-www-form-urlencoded"
MAX_FIELDS = 20
TOKEN_EXAMPLE = {"email": "analyst@bank.example", "password": "correct horse battery staple"}
FORM_EXAMPLE = {"grant_type": "password", "username": TOKEN_EXAMPLE["email"], "password": "..."}


def _body_schema(model: type[BaseModel], example: dict[str, str]) -> dict[str, Any]:
    return {"schema": model.model_json_schema(), "example": example}


def _form_fields(raw: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(raw.decode("utf-8", errors="replace"), max_num_fields=MAX_FIELDS))
    except ValueError:  # more fields than any client sends
        error = {"type": "too_many_fields", "loc": ("form",), "msg": "too many fields"}
        raise RequestValidationError([error]) from None


def is_oauth2(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return content_type == FORM


async def read_credentials(request: Request) -> TokenRequest:
    """JSON `{email, password}`, or the OAuth2 password grant, form-encoded."""
    raw = await request.body()
    form = is_oauth2(request)
    try:
        if form:
            return PasswordGrant.model_validate(_form_fields(raw)).as_token_request()
        return TokenRequest.model_validate_json(raw or b"null")
    except ValidationError as exc:
        where = "form" if form else "body"
        raise RequestValidationError(
            [{**error, "loc": (where, *error["loc"])} for error in exc.errors()]
        ) from None


@router.post(
    "/auth/token",
    operation_id="gateway-auth-token",
    tags=["auth"],
    response_model=TokenResponse,
    responses=problems(401, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": _body_schema(TokenRequest, TOKEN_EXAMPLE),
                FORM: _body_schema(PasswordGrant, FORM_EXAMPLE),
            },
        }
    },
)
async def sign_in(request: Request, state: StateDep, session: SessionDep) -> TokenResponse:
    """Sign in with email and password; returns a short-lived bearer token. Either JSON
    `{"email", "password"}` or, as OAuth2 clients and the "Authorize" dialog of `/docs` send
    it, the password grant form-encoded (`grant_type=password&username=...&password=...`).
    Wrong passwords make the next attempts wait, longer each time (429 with Retry-After);
    never a lock."""
    body = await read_credentials(request)
    ip = client_ip(request)
    await state.gatekeeper.throttle_sign_in(body.email, ip)
    user = await accounts.sign_in(session, email=body.email, password=body.password)
    if user is None:
        state.gatekeeper.sign_in_failed(body.email, ip)
        await state.audit.record(
            "sign_in.failed", subject=body.email.lower(), status=401, client_ip=ip
        )
        reason = "wrong email or password, or the account is disabled"
        # An OAuth2 client (the docs' Authorize dialog) reads RFC 6749's error members.
        oauth2 = {"error": "invalid_grant", "error_description": reason}
        raise SignInFailed(reason, **(oauth2 if is_oauth2(request) else {}))
    after_commit(session, lambda: state.gatekeeper.sign_in_succeeded(body.email, ip))
    after_commit(
        session,
        lambda: state.audit.record(
            "sign_in.succeeded", subject=str(user.id), status=200, client_ip=ip
        ),
    )
    return await _signed_in(state, session, user, method="password")


async def _signed_in(
    state: GatewayState, session: AsyncSession, user: User, *, method: str, nonce: str | None = None
) -> TokenResponse:
    """An access token for the user, and the first refresh token of this sign-in."""
    settings = state.settings
    refresh = await refresh_tokens.start_family(
        session, user=user, method=method, ttl_seconds=settings.refresh_token_ttl_seconds,
        nonce=nonce,
    )  # fmt: skip
    return _token_response(settings, user, refresh)


def _token_response(settings: Settings, user: User, refresh_token: str) -> TokenResponse:
    token = issue_access_token(
        settings,
        subject=str(user.id),
        roles=tuple(user.roles),
        staff_id=user.staff_id,
        name=user.name or user.email,
        token_version=user.token_version,
    )
    return TokenResponse(
        access_token=token, expires_in=settings.jwt_ttl_seconds, refresh_token=refresh_token
    )


@router.post(
    "/auth/oidc",
    operation_id="gateway-auth-oidc",
    tags=["auth"],
    response_model=TokenResponse,
    responses=problems(401, 404, 422),
)
async def sign_in_with_oidc(
    body: IdTokenExchange, request: Request, state: StateDep, session: SessionDep
) -> TokenResponse:
    """Sign in through the institution's OpenID Connect provider: an id_token it issued to our
    client id (the console's authorization-code flow) and the flow's nonce, for a RiskWatch
    token of the enabled user the id_token names (by email or staff id, as configured). The
    gateway checks the signature against the provider's JWKS, the issuer, audience, expiry,
    age and nonce; an id_token is exchanged once."""
    if state.sso is None:
        raise SsoNotConfigured("sign-in through an OIDC provider is not configured")
    ip = client_ip(request)
    try:
        verified = await state.sso.verify(body.id_token, nonce=body.nonce)
        key = user_key(state.settings, verified.claims)
    except InvalidToken as exc:
        await state.audit.record(
            "sign_in.failed", status=401, client_ip=ip, method="oidc", reason=str(exc)
        )
        raise SignInFailed(f"the id_token was refused: {exc}") from None
    if await repository.nonce_used(session, refresh_tokens.token_hash(body.nonce)):
        raise SignInFailed("this id_token was already exchanged")
    user = await accounts.sso_user(session, field=state.settings.oidc_user_field, key=key)
    if user is None:
        await state.audit.record(
            "sign_in.failed", subject=f"oidc:{verified.subject}", status=401, client_ip=ip,
            method="oidc", reason="no enabled RiskWatch user",
        )  # fmt: skip
        raise SignInFailed("no enabled RiskWatch user for this identity")
    after_commit(
        session,
        lambda: state.audit.record(
            "sign_in.succeeded", subject=str(user.id), status=200, client_ip=ip, method="oidc"
        ),
    )
    return await _signed_in(state, session, user, method="oidc", nonce=body.nonce)


@router.post(
    "/auth/refresh",
    operation_id="gateway-auth-refresh",
    tags=["auth"],
    response_model=TokenResponse,
    responses=problems(401, 422),
)
async def refresh(
    body: RefreshRequest, request: Request, state: StateDep, session: SessionDep
) -> Response:
    """The next access token and refresh token for a refresh token (used once: a used one
    presented again ends the sign-in). Refused once the user is disabled or changed."""
    outcome = await refresh_tokens.rotate(
        session,
        presented=body.refresh_token,
        grace_seconds=state.settings.refresh_reuse_grace_seconds,
    )
    if isinstance(outcome, refresh_tokens.Refusal):
        # Returned, not raised: the revocation of the sign-in is committed with the refusal.
        await state.audit.record(
            "refresh.refused", status=401, client_ip=client_ip(request), reason=outcome.reason
        )
        return problem_response(
            401, SignInFailed.title, outcome.reason, type_slug=SignInFailed.type_slug
        )
    issued = _token_response(state.settings, outcome.user, outcome.refresh_token)
    return JSONResponse(issued.model_dump(mode="json"))


@router.post(
    "/auth/revoke",
    operation_id="gateway-auth-revoke",
    tags=["auth"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(422),
)
async def revoke(body: RefreshRequest, session: SessionDep) -> Response:
    """Sign out: the refresh token's sign-in ends (every refresh token of it). Answers 204
    whether or not the token was known (RFC 7009)."""
    await refresh_tokens.revoke(session, presented=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/auth/jwks",
    operation_id="gateway-auth-jwks",
    tags=["auth"],
    response_model=Jwks,
)
async def jwks(state: StateDep) -> Jwks:
    """The public keys user tokens are signed with (JWK set, Ed25519; two while rotating):
    whoever must check a RiskWatch token needs nothing else."""
    return Jwks.model_validate(state.settings.user_token_public_keys().jwks())


@router.get("/auth/me", operation_id="gateway-auth-me", tags=["auth"], response_model=Me)
async def me(caller: CallerDep) -> Me:
    """Who the presented credentials say the caller is."""
    return Me(
        subject=caller.subject,
        kind=caller.kind,
        roles=list(caller.roles),
        scopes=list(caller.scopes),
        staff_id=caller.staff_id,
        name=caller.name,
        may_unmask=caller.may_unmask,
    )


@router.get("/users", operation_id="gateway-users-list", tags=["users"], response_model=UserPage)
async def list_users(
    _caller: CallerDep,
    session: SessionDep,
    limit: LimitQuery = 100,
    after: Annotated[uuid.UUID | None, Query(description="Cursor: the last id seen.")] = None,
) -> UserPage:
    """Users, by id (admins only)."""
    users = await repository.list_users(session, limit=limit + 1, after=after)
    items = [UserOut.model_validate(u) for u in users[:limit]]
    next_cursor = str(items[-1].id) if len(users) > limit else None
    total = await repository.total_users(session)
    return UserPage(items=items, next_cursor=next_cursor, **total.fields())


@router.post(
    "/users",
    operation_id="gateway-users-create",
    tags=["users"],
    response_model=UserCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problems(409, 422),
)
async def create_user(body: UserCreate, caller: CallerDep, session: SessionDep) -> UserCreated:
    """Create a user; a generated password is shown once."""
    user, generated = await accounts.create_user(session, data=body, actor=caller.subject)
    await session.flush()
    out = UserOut.model_validate(user).model_dump()
    return UserCreated(**out, generated_password=generated)


@router.get(
    "/users/{user_id}",
    operation_id="gateway-users-get",
    tags=["users"],
    response_model=UserOut,
    responses=problems(404, 422),
)
async def get_user(user_id: uuid.UUID, _caller: CallerDep, session: SessionDep) -> UserOut:
    """One user."""
    return UserOut.model_validate(await accounts.get_user(session, user_id=user_id))


@router.patch(
    "/users/{user_id}",
    operation_id="gateway-users-update",
    tags=["users"],
    response_model=UserOut,
    responses=problems(404, 409, 422),
)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, caller: CallerDep, session: SessionDep
) -> UserOut:
    """Change a user's name, roles, staff id, password or whether they may sign in; their
    tokens issued before a change of roles, staff id, password or status stop working."""
    user = await accounts.update_user(session, user_id=user_id, data=body, actor=caller.subject)
    await session.flush()
    return UserOut.model_validate(user)


@router.delete(
    "/users/{user_id}",
    operation_id="gateway-users-delete",
    tags=["users"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(404, 409, 422),
)
async def delete_user(user_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> Response:
    """Delete a user (never the last admin)."""
    await accounts.delete_user(session, user_id=user_id, actor=caller.subject)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api-keys", operation_id="gateway-api-keys-list", tags=["api-keys"], response_model=ApiKeyPage
)
async def list_api_keys(
    _caller: CallerDep,
    session: SessionDep,
    limit: LimitQuery = 100,
    after: Annotated[
        str | None, Query(pattern=KEY_ID_PATTERN, description="Cursor: the last id seen.")
    ] = None,
) -> ApiKeyPage:
    """API keys, without their secrets."""
    keys = await repository.list_api_keys(session, limit=limit + 1, after=after)
    items = [ApiKeyOut.model_validate(k) for k in keys[:limit]]
    next_cursor = items[-1].id if len(keys) > limit else None
    total = await repository.total_api_keys(session)
    return ApiKeyPage(items=items, next_cursor=next_cursor, **total.fields())


def _with_secret(record: ApiKey, secret: str) -> ApiKeyWithSecret:
    return ApiKeyWithSecret(**ApiKeyOut.model_validate(record).model_dump(), secret=secret)


@router.post(
    "/api-keys",
    operation_id="gateway-api-keys-create",
    tags=["api-keys"],
    response_model=ApiKeyWithSecret,
    status_code=status.HTTP_201_CREATED,
    responses=problems(422),
)
async def create_api_key(
    body: ApiKeyCreate, caller: CallerDep, session: SessionDep
) -> ApiKeyWithSecret:
    """Create a key for a machine client; its secret is shown only in this answer."""
    issued = await accounts.create_api_key(session, data=body, created_by=caller.subject)
    await session.flush()
    return _with_secret(issued.record, issued.secret)


@router.get(
    "/api-keys/{key_id}",
    operation_id="gateway-api-keys-get",
    tags=["api-keys"],
    response_model=ApiKeyOut,
    responses=problems(404),
)
async def get_api_key(key_id: KeyId, _caller: CallerDep, session: SessionDep) -> ApiKeyOut:
    """One API key, without its secret."""
    return ApiKeyOut.model_validate(await accounts.get_api_key(session, key_id=key_id))


@router.post(
    "/api-keys/{key_id}/rotate",
    operation_id="gateway-api-keys-rotate",
    tags=["api-keys"],
    response_model=ApiKeyWithSecret,
    responses=problems(404),
)
async def rotate_api_key(
    key_id: KeyId, caller: CallerDep, session: SessionDep, state: StateDep
) -> ApiKeyWithSecret:
    """A new secret; the previous one keeps working for the grace period."""
    grace = state.settings.api_key_rotation_grace_seconds
    issued = await accounts.rotate_api_key(
        session, key_id=key_id, grace_seconds=grace, actor=caller.subject
    )
    await session.flush()
    after_commit(session, lambda: state.gatekeeper.forget_key(key_id))
    return _with_secret(issued.record, issued.secret)


@router.post(
    "/api-keys/{key_id}/revoke",
    operation_id="gateway-api-keys-revoke",
    tags=["api-keys"],
    response_model=ApiKeyOut,
    responses=problems(404),
)
async def revoke_api_key(
    key_id: KeyId, caller: CallerDep, session: SessionDep, state: StateDep
) -> ApiKeyOut:
    """Revoke a key at once (other replicas forget it within the key cache's life)."""
    record = await accounts.revoke_api_key(session, key_id=key_id, actor=caller.subject)
    await session.flush()
    after_commit(session, lambda: state.gatekeeper.forget_key(key_id))
    return ApiKeyOut.model_validate(record)


@router.get(
    "/audit-log",
    operation_id="gateway-audit-log-list",
    tags=["audit"],
    response_model=AuditPage,
    responses=problems(422),
)
async def list_audit(
    _caller: CallerDep,
    session: SessionDep,
    action: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z_]{1,30}(\.[a-z_]{1,28}|\.\*)?$",
            description="e.g. `sign_in.failed`, `access.denied`; `api_key.*` for a family.",
        ),
    ] = None,
    subject: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Who: a user or `api_key:<id>`."),
    ] = None,
    path: Annotated[
        str | None,
        Query(pattern=r"^/[\x21-\x7e]{0,199}$", description="The request path begins with this."),
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="From this instant (inclusive).")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this instant.")] = None,
    before: Annotated[
        int | None, Query(ge=1, description="Cursor: the `next_cursor` of the page before.")
    ] = None,
    limit: LimitQuery = 100,
) -> AuditPage:
    """Sign-ins, key use, refusals and changes to users and keys, newest first, filtered."""
    if since is not None and until is not None and until <= since:
        raise RequestValidationError(
            [{"loc": ("query", "until"), "msg": "until must be after since", "type": "value_error"}]
        )
    where = repository.AuditFilter(action=action, subject=subject, path=path, since=since,
                                   until=until)  # fmt: skip
    entries = await repository.list_audit(session, where=where, limit=limit + 1, before=before)
    items = [AuditEntryOut.model_validate(e) for e in entries[:limit]]
    next_cursor = str(items[-1].id) if len(entries) > limit else None
    total = await repository.total_audit(session, where=where)
    return AuditPage(items=items, next_cursor=next_cursor, **total.fields())
