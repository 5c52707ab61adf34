"""Caller identity as the gateway asserts it: a short-lived HS256 token signed with the
internal secret. Services trust nothing else."""

from __future__ import annotations

import time
from typing import Any, Literal

import jwt
from pydantic import BaseModel, ConfigDict

IDENTITY_HEADER = "x-riskwatch-identity"
IDENTITY_AUDIENCE = "riskwatch-internal"
IDENTITY_ISSUER = "riskwatch-gateway"

Role = Literal[
    "admin", "risk_manager", "analyst", "relationship_manager", "viewer", "ingest", "system"
]
ALL_ROLES: tuple[str, ...] = (
    "admin",
    "risk_manager",
    "analyst",
    "relationship_manager",
    "viewer",
    "ingest",
    "system",
)
# Roles that may see personal data (identity documents, full phone/email) unmasked.
UNMASKING_ROLES = frozenset({"admin", "risk_manager", "analyst", "system"})


class Identity(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    kind: Literal["user", "api_key", "service"] = "user"
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    staff_id: str | None = None
    name: str | None = None

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def may_unmask(self) -> bool:
        return any(role in UNMASKING_ROLES for role in self.roles)

    @property
    def is_relationship_manager_only(self) -> bool:
        """An RM (and nothing broader) sees only their own customers."""
        broader = {"admin", "risk_manager", "analyst", "viewer", "system"}
        return "relationship_manager" in self.roles and not broader.intersection(self.roles)


SYSTEM_IDENTITY = Identity(subject="system", kind="service", roles=("system",))


class InvalidIdentity(Exception):
    pass


def mint_identity_token(identity: Identity, secret: str, *, ttl_seconds: int = 60) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": IDENTITY_ISSUER,
        "aud": IDENTITY_AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "sub": identity.subject,
        "kind": identity.kind,
        "roles": list(identity.roles),
        "scopes": list(identity.scopes),
        "staff_id": identity.staff_id,
        "name": identity.name,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class VerifiedTokens:
    """Identities of tokens already verified, by (token, secret), until the token expires.

    The gateway reuses one minted token for many calls, and a service verifies it on each:
    the HMAC check and claim parsing are done once per token instead. Only the expiry is
    time-dependent (`iat`, `aud`, `iss` and the signature cannot change), and it is checked on
    every hit. Failures are never cached. Bounded: full, it starts afresh.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._entries: dict[tuple[str, str], tuple[Identity, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, secret: str) -> Identity | None:
        entry = self._entries.get((token, secret))
        if entry is None:
            return None
        if time.time() < entry[1]:  # PyJWT: expired once now >= exp
            return entry[0]
        self._entries.pop((token, secret), None)
        return None

    def put(self, token: str, secret: str, identity: Identity, expires_at: float) -> None:
        if len(self._entries) >= self.capacity:
            self._entries.clear()
        self._entries[(token, secret)] = (identity, expires_at)

    def clear(self) -> None:
        self._entries.clear()


VERIFIED_TOKENS = VerifiedTokens()


def verify_identity_token(token: str, secret: str) -> Identity:
    identity = VERIFIED_TOKENS.get(token, secret)
    if identity is not None:
        return identity
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=IDENTITY_AUDIENCE,
            issuer=IDENTITY_ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidIdentity(str(exc)) from exc
    identity = Identity(
        subject=claims["sub"],
        kind=claims.get("kind", "user"),
        roles=tuple(claims.get("roles") or ()),
        scopes=tuple(claims.get("scopes") or ()),
        staff_id=claims.get("staff_id"),
        name=claims.get("name"),
    )
    VERIFIED_TOKENS.put(token, secret, identity, float(claims["exp"]))
    return identity
