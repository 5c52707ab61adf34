"""Sign-in through the institution's OpenID Connect provider: the id_token a client (the
console) obtained with the authorization-code flow is verified here, never trusted from the
client: its signature against the issuer's JWKS, its issuer, audience (our client id), expiry,
age and nonce. The provider's documents are fetched through netguard."""

from __future__ import annotations

import hmac
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from riskwatch_gateway.config import Settings
from riskwatch_gateway.tokens import OIDC_ALGORITHMS, InvalidToken, JwksCache
from riskwatch_shared.netguard import OutboundPolicy, guarded_client

DISCOVERY_PATH = "/.well-known/openid-configuration"
# The IdP's and our clocks may differ this much.
LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class VerifiedIdToken:
    subject: str
    claims: dict[str, Any]


def idp_client(settings: Settings) -> httpx.AsyncClient:
    """The client the IdP is reached with: netguard's (https, no private address unless the
    operator allows its network), trusting the bank's own CA when one is configured."""
    context = (
        ssl.create_default_context(cafile=settings.oidc_ca_file) if settings.oidc_ca_file else None
    )
    return guarded_client(OutboundPolicy.from_settings(settings), ssl_context=context)


class IdTokenVerifier:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        assert settings.oidc_issuer
        assert settings.oidc_client_id
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.max_age_seconds = settings.oidc_max_age_seconds
        self.http = http
        self.jwks_ttl_seconds = settings.oidc_jwks_ttl_seconds
        self._jwks = (
            JwksCache(http, settings.oidc_jwks_url, settings.oidc_jwks_ttl_seconds)
            if settings.oidc_jwks_url
            else None
        )

    async def _keys(self) -> JwksCache:
        if self._jwks is None:
            url = self.issuer.rstrip("/") + DISCOVERY_PATH
            try:
                response = await self.http.get(url, timeout=5.0)
                response.raise_for_status()
                metadata = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise InvalidToken(f"cannot read the provider's discovery document: {exc}") from exc
            if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
                raise InvalidToken("the discovery document names another issuer")
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise InvalidToken("the discovery document has no jwks_uri")
            self._jwks = JwksCache(self.http, jwks_uri, self.jwks_ttl_seconds)
        return self._jwks

    async def verify(self, id_token: str, *, nonce: str) -> VerifiedIdToken:
        """The id_token's claims when it is genuine, ours, fresh and answers `nonce`."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed id_token: {exc}") from exc
        kid = header.get("kid")
        signing_key = await (await self._keys()).key(kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(
                id_token,
                signing_key.key,
                algorithms=OIDC_ALGORITHMS,
                audience=self.client_id,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return VerifiedIdToken(str(claims["sub"]), self._checked(claims, nonce))

    def _checked(self, claims: dict[str, Any], nonce: str) -> dict[str, Any]:
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise InvalidToken("id_token issued to another party (azp)")
        if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise InvalidToken("id_token nonce does not match")
        issued_at = claims["iat"]
        if not isinstance(issued_at, int | float) or (
            time.time() - issued_at > self.max_age_seconds + LEEWAY_SECONDS
        ):
            raise InvalidToken("id_token too old")
        return claims


def user_key(settings: Settings, claims: dict[str, Any]) -> str:
    """The value naming the RiskWatch user (the configured claim), or InvalidToken."""
    value = claims.get(settings.oidc_user_claim)
    if not isinstance(value, str) or not value.strip():
        raise InvalidToken(f"id_token has no {settings.oidc_user_claim} claim")
    if settings.oidc_user_claim == "email" and claims.get("email_verified") is False:
        raise InvalidToken("the provider has not verified this email address")
    return value.strip()
