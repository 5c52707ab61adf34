"""Sign-in with the bank's SSO: the OpenID Connect authorization-code flow with PKCE, a state
and a nonce (Authlib's OAuth 2 client), the provider reached through netguard.

The console only runs the flow: it sends the browser to the provider, checks the state when
it comes back, and redeems the code (with its client secret and PKCE verifier) for an id_token.
Whether that id_token is genuine and whom it names is the gateway's decision
(`POST /v1/auth/oidc`, with the nonce): the console trusts nothing it was handed.
"""

from __future__ import annotations

import hmac
import ssl
import time
import warnings
from typing import Any

import httpx
from authlib.common.security import generate_token

from riskwatch_console.config import Settings
from riskwatch_shared.netguard import GuardedTransport, OutboundPolicy

with warnings.catch_warnings():
    # Authlib 1.9 would rather drive the `httpx2` fork; httpx is what every RiskWatch
    # process uses, and Authlib still supports it. (Its own "always" filter comes first.)
    import authlib.deprecate  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

DISCOVERY_PATH = "/.well-known/openid-configuration"
# A sign-in at the provider must come back within this long.
FLOW_SECONDS = 600
# How long the provider's discovery document is kept.
METADATA_SECONDS = 3600.0


class SsoFailed(Exception):
    """The SSO sign-in did not complete (a wrong state, an error from the provider...)."""


class SsoProvider:
    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer is not None
        self.issuer = settings.oidc_issuer.rstrip("/")
        context = (
            ssl.create_default_context(cafile=settings.oidc_ca_file)
            if settings.oidc_ca_file
            else None
        )
        transport = GuardedTransport(OutboundPolicy.from_settings(settings), ssl_context=context)
        self.client = AsyncOAuth2Client(
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            token_endpoint_auth_method="client_secret_basic",
            scope=settings.oidc_scope,
            code_challenge_method="S256",
            transport=transport,
            timeout=10.0,
            trust_env=False,
            follow_redirects=False,
        )
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0

    async def aclose(self) -> None:
        await self.client.aclose()

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (its endpoints), for the configured issuer only."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_SECONDS:
            return self._metadata
        try:
            response = await self.client.request(
                "GET", self.issuer + DISCOVERY_PATH, withhold_token=True
            )
            response.raise_for_status()
            metadata = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoFailed(f"the provider's discovery document is unavailable: {exc}") from exc
        if not isinstance(metadata, dict) or str(metadata.get("issuer")).rstrip("/") != self.issuer:
            raise SsoFailed("the provider's discovery document names another issuer")
        for endpoint in ("authorization_endpoint", "token_endpoint"):
            if not isinstance(metadata.get(endpoint), str):
                raise SsoFailed(f"the provider's discovery document has no {endpoint}")
        self._metadata, self._metadata_at = metadata, time.monotonic()
        return metadata

    async def begin(self, *, redirect_uri: str, next_path: str) -> tuple[str, dict[str, str]]:
        """The provider's URL to send the browser to, and what the session keeps for the way
        back: state, nonce, PKCE verifier (never leaves the console but to the token endpoint)."""
        metadata = await self.metadata()
        pending = {
            "state": generate_token(32),
            "nonce": generate_token(32),
            "verifier": generate_token(64),
            "redirect_uri": redirect_uri,
            "next": next_path,
            "started": str(int(time.time())),
        }
        url, _state = self.client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=pending["state"],
            code_verifier=pending["verifier"],
            nonce=pending["nonce"],
            redirect_uri=redirect_uri,
        )
        return str(url), pending

    async def finish(self, pending: dict[str, str], *, state: str | None, code: str) -> str:
        """The id_token for the code, when the answer belongs to this session's sign-in."""
        if not state or not hmac.compare_digest(state, pending.get("state", "")):
            raise SsoFailed("the provider's answer does not belong to this sign-in (state)")
        if time.time() - int(pending.get("started", "0")) > FLOW_SECONDS:
            raise SsoFailed("the sign-in took too long")
        metadata = await self.metadata()
        try:
            token = await self.client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=pending["verifier"],
                redirect_uri=pending["redirect_uri"],
            )
        except (OAuthError, httpx.HTTPError, ValueError) as exc:
            raise SsoFailed(f"the provider refused the code: {exc}") from exc
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise SsoFailed("the provider sent no id_token")
        return id_token
