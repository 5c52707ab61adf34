"""Bearer tokens: our own short-lived EdDSA tokens (a `kid`, two live keys while rotating, the
public halves served as a JWKS document), or the institution's OIDC tokens."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from riskwatch_gateway.config import Settings
from riskwatch_shared.security import (
    SIGNING_ALGORITHM,
    USER_ROLES,
    Identity,
    InvalidIdentity,
    InvalidKey,
    public_key_for,
)

OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
# A token signed by an unknown key triggers a JWKS refetch at most this often.
JWKS_REFETCH_MIN_SECONDS = 10.0

# The claim holding a local user's token version: bumped when the user is disabled, changes
# roles or password, so older tokens stop working at once.
VERSION_CLAIM = "ver"


class InvalidToken(Exception):
    pass


def issue_access_token(
    settings: Settings,
    *,
    subject: str,
    roles: tuple[str, ...],
    staff_id: str | None = None,
    name: str | None = None,
    token_version: int = 0,
) -> str:
    """A user's token: only user roles ever ("system" is never a caller's), signed with the
    first of the gateway's user-token keys."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + settings.jwt_ttl_seconds,
        "sub": subject,
        "roles": [role for role in roles if role in USER_ROLES],
        "staff_id": staff_id,
        "name": name,
        VERSION_CLAIM: token_version,
    }
    key = settings.user_token_keys()[0]
    return jwt.encode(
        claims, key.private_key, algorithm=SIGNING_ALGORITHM, headers={"kid": key.kid}
    )


@dataclass(frozen=True)
class VerifiedToken:
    identity: Identity
    expires_at: float
    # Set for our own user tokens: the user's token version the token was issued at, checked
    # against the user's current one on every request.
    token_version: int | None = None


class JwksCache:
    """The OIDC provider's signing keys, fetched with the gateway's HTTP client and cached."""

    def __init__(self, http: httpx.AsyncClient, url: str, ttl_seconds: float) -> None:
        self.http = http
        self.url = url
        self.ttl_seconds = ttl_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -1e9

    async def key(self, kid: str | None) -> jwt.PyJWK:
        age = time.monotonic() - self._fetched_at
        if age > self.ttl_seconds or (kid not in self._keys and age > JWKS_REFETCH_MIN_SECONDS):
            await self._fetch()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if kid is None or kid not in self._keys:
            raise InvalidToken("token signed by an unknown key")
        return self._keys[kid]

    async def _fetch(self) -> None:
        try:
            response = await self.http.get(self.url, timeout=5.0)
            response.raise_for_status()
            key_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            if not self._keys:
                raise InvalidToken(f"cannot fetch the OIDC keys: {exc}") from exc
            return  # keep serving with the keys we have
        self._keys = {k.key_id: k for k in key_set.keys if k.key_id}
        if not self._keys and key_set.keys:
            self._keys = {"": key_set.keys[0]}
        self._fetched_at = time.monotonic()


class TokenVerifier:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.cache_size = settings.token_cache_size
        self._verified: dict[str, VerifiedToken] = {}
        self.jwks = (
            JwksCache(http, settings.oidc_jwks_url, settings.oidc_jwks_ttl_seconds)
            if settings.oidc_jwks_url and settings.oidc_issuer
            else None
        )

    async def verify(self, token: str) -> VerifiedToken:
        """What a token carries; verified tokens are remembered until they expire (whether
        its user still may use it is the gatekeeper's check, on every request)."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                return cached
            del self._verified[token]
        verified = await self._verify(token)
        if len(self._verified) >= self.cache_size:
            self._verified.clear()
        self._verified[token] = verified
        return verified

    async def _verify(self, token: str) -> VerifiedToken:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        issuer = unverified.get("iss")
        if issuer == self.settings.jwt_issuer:
            return self._verify_local(token)
        if not isinstance(issuer, str):
            raise InvalidToken("token without an issuer")
        if self.jwks is not None and issuer == self.settings.oidc_issuer:
            return await self._verify_oidc(token, header.get("kid"))
        raise InvalidToken("token from an unknown issuer")

    def _verify_local(self, token: str) -> VerifiedToken:
        try:
            public_key = public_key_for(token, self.settings.user_token_public_keys())
            claims = jwt.decode(
                token,
                public_key,
                algorithms=[SIGNING_ALGORITHM],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "iat", "sub", VERSION_CLAIM]},
            )
        except (InvalidIdentity, InvalidKey, jwt.PyJWTError) as exc:
            raise InvalidToken(str(exc)) from exc
        version = claims[VERSION_CLAIM]
        if not isinstance(version, int):
            raise InvalidToken("token without a valid version")
        identity = Identity(
            subject=str(claims["sub"]),
            kind="user",
            roles=tuple(role for role in claims.get("roles") or () if role in USER_ROLES),
            staff_id=claims.get("staff_id"),
            name=claims.get("name"),
        )
        return VerifiedToken(identity, float(claims["exp"]), version)

    async def _verify_oidc(self, token: str, kid: object) -> VerifiedToken:
        assert self.jwks is not None
        signing_key = await self.jwks.key(kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=OIDC_ALGORITHMS,
                audience=self.settings.oidc_audience,
                issuer=self.settings.oidc_issuer,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": bool(self.settings.oidc_audience),
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        raw_roles = claims.get(self.settings.oidc_role_claim) or ()
        roles = (raw_roles,) if isinstance(raw_roles, str) else tuple(str(r) for r in raw_roles)
        known_roles = tuple(role for role in roles if role in USER_ROLES)
        identity = Identity(
            subject=f"oidc:{claims['sub']}",
            kind="user",
            roles=known_roles,
            staff_id=claims.get(self.settings.oidc_staff_id_claim),
            name=claims.get("name") or claims.get("email"),
        )
        return VerifiedToken(identity, float(claims["exp"]))
