"""Request and response bodies of the gateway's own operations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from riskwatch_shared.db.totals import PageTotal


def _printable(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("control characters are not allowed")
    return value


# Text that is stored: PostgreSQL refuses NUL, and nobody needs control characters.
Text = Annotated[str, AfterValidator(_printable)]

RoleName = Literal["admin", "risk_manager", "analyst", "relationship_manager", "viewer", "ingest"]


class TokenRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "risk.analyst@bank.example", "password": "correct horse battery staple"}
            ]
        }
    )
    email: Text = Field(min_length=3, max_length=320)
    password: Text = Field(min_length=1, max_length=1024)


class PasswordGrant(BaseModel):
    """The OAuth2 password grant (RFC 6749, 4.3), form-encoded: what Swagger UI's "Authorize"
    dialog and OAuth2 client libraries send. `username` is the e-mail address."""

    grant_type: Literal["password"]
    username: Text = Field(min_length=3, max_length=320)
    password: Text = Field(min_length=1, max_length=1024)
    scope: Text = Field(default="", max_length=1024, description="Ignored: roles decide.")
    client_id: Text | None = Field(default=None, max_length=200, description="Ignored.")

    def as_token_request(self) -> TokenRequest:
        return TokenRequest(email=self.username, password=self.password)


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1LTQyIn0.c2ln",
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    refresh_token: str | None = Field(
        default=None,
        description="Exchanged at `POST /v1/auth/refresh` for the next access token (and the "
        "next refresh token: each is used once). Ends at sign-out (`POST /v1/auth/revoke`), "
        "when the user is disabled or changed, and at most 12 hours after the sign-in.",
    )


class IdTokenExchange(BaseModel):
    """An id_token of the institution's OpenID Connect provider, obtained by the client with
    the authorization-code flow, and the nonce the client sent in that flow."""

    model_config = ConfigDict(extra="forbid")
    id_token: str = Field(min_length=20, max_length=16_384)
    nonce: str = Field(min_length=16, max_length=256)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=10, max_length=200)


class Jwk(BaseModel):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class Jwks(BaseModel):
    keys: list[Jwk]


class Me(BaseModel):
    subject: str
    kind: str
    roles: list[str]
    scopes: list[str]
    staff_id: str | None
    name: str | None
    may_unmask: bool = Field(description="Whether personal data is shown unmasked.")


def _clean_roles(roles: list[RoleName]) -> list[RoleName]:
    return sorted(set(roles))


class UserCreate(BaseModel):
    email: Text = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: Text | None = Field(default=None, max_length=200)
    password: Text | None = Field(
        default=None, min_length=12, max_length=1024, description="Generated when omitted."
    )
    roles: list[RoleName] = Field(min_length=1)
    staff_id: Text | None = Field(
        default=None, max_length=64, description="A relationship manager's own customers."
    )

    _roles = field_validator("roles")(_clean_roles)


class UserUpdate(BaseModel):
    name: Text | None = Field(default=None, max_length=200)
    password: Text | None = Field(default=None, min_length=12, max_length=1024)
    roles: list[RoleName] | None = Field(default=None, min_length=1)
    staff_id: Text | None = Field(default=None, max_length=64)
    active: bool | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str | None
    roles: list[str]
    staff_id: str | None
    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class UserCreated(UserOut):
    generated_password: str | None = Field(
        default=None, description="Shown once when the password was generated."
    )


class UserPage(PageTotal):
    items: list[UserOut]
    next_cursor: str | None


def _ingest_only() -> list[RoleName]:
    return ["ingest"]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Core banking intake",
                    "roles": ["ingest"],
                    "scopes": ["transactions:write"],
                    "rate_limit_per_minute": 6000,
                }
            ]
        }
    )
    name: Text = Field(min_length=1, max_length=200)
    roles: list[RoleName] = Field(default_factory=_ingest_only, min_length=1)
    scopes: list[Text] = Field(
        default_factory=list,
        max_length=50,
        description="`<area>:read` / `<area>:write` (e.g. `transactions:write`); empty: all "
        "its roles allow.",
    )
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=10_000_000)

    _roles = field_validator("roles")(_clean_roles)

    @field_validator("scopes")
    @classmethod
    def _scopes_shape(cls, scopes: list[Text]) -> list[Text]:
        for scope in scopes:
            area, sep, access = scope.partition(":")
            if scope != "*" and (not sep or not area or access not in ("read", "write")):
                raise ValueError(f"scope {scope!r} is not `<area>:read|write` or `*`")
        return sorted(set(scopes))


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    roles: list[str]
    scopes: list[str]
    rate_limit_per_minute: int | None
    created_by: str | None
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    previous_valid_until: datetime | None


class ApiKeyWithSecret(ApiKeyOut):
    secret: str = Field(description="The key itself (`rw_<id>_<secret>`), shown only once.")


class ApiKeyPage(PageTotal):
    items: list[ApiKeyOut]
    next_cursor: str | None


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    action: str
    subject: str | None
    method: str | None
    path: str | None
    status: int | None
    request_id: str | None
    client_ip: str | None
    detail: dict[str, object]


class AuditPage(PageTotal):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(default=None, description="`before` of the next page.")
