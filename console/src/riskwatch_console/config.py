"""Settings of the console (environment prefix `CONSOLE_`)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from riskwatch_console.sessions import InvalidSessionKey, SessionCodec
from riskwatch_shared.settings import ServiceSettings

SESSION_KEY_VAR = "CONSOLE_SESSION_KEY"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    service_name: str = "console"
    port: int = 8005
    # The one API the console uses: the gateway's public one, with the signed-in user's token.
    gateway_url: str = "http://127.0.0.1:8000"
    gateway_timeout_seconds: float = 15.0
    # The key the session cookie is encrypted and authenticated with (a Fernet key: 32 bytes,
    # url-safe base64). No default: `riskwatch run` generates one into .riskwatch/secrets.env.
    session_key: str | None = Field(default=None, validation_alias=AliasChoices(SESSION_KEY_VAR))
    # A session lasts at most this long, and never longer than the API token inside it.
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    # Secure cookies need https; only `riskwatch run` on this machine (plain http) turns it off.
    cookie_secure: bool = True
    # A refresh is asked for when the API token has less than this left.
    refresh_ahead_seconds: int = Field(default=120, ge=10)

    # Sign-in with the bank's SSO (OpenID Connect, authorization code + PKCE): off until the
    # issuer, client id and client secret are all set; none has a default. The gateway must
    # be configured with the same issuer and client id (GATEWAY_OIDC_ISSUER/_CLIENT_ID): it
    # verifies the id_token and issues the RiskWatch token.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid email profile"
    # Where the provider sends the browser back (registered with the provider); by default
    # this console's own /sign-in/oidc/callback as the browser reached it.
    oidc_redirect_url: str | None = None
    # A CA bundle (PEM) the provider's certificate is checked against (a bank's own CA).
    oidc_ca_file: str | None = None
    # How the SSO button is labelled on the sign-in page (the bank's name for its SSO).
    oidc_provider_name: str = "SSO"

    @field_validator("gateway_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("CONSOLE_GATEWAY_URL must be an http(s) URL with a host")
        return value.rstrip("/")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)

    def secret_problems(self) -> list[str]:
        configured = [self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret]
        if any(configured) and not all(configured):
            return [
                "CONSOLE_OIDC_ISSUER, CONSOLE_OIDC_CLIENT_ID and CONSOLE_OIDC_CLIENT_SECRET "
                "go together: set all three or none"
            ]
        if not self.session_key:
            return [f"{SESSION_KEY_VAR} is not set"]
        try:
            SessionCodec(self.session_key, max_age_seconds=self.session_max_age_seconds)
        except InvalidSessionKey as exc:
            return [str(exc)]
        return []

    def session_codec(self) -> SessionCodec:
        if not self.session_key:
            raise InvalidSessionKey(f"{SESSION_KEY_VAR} is not set")
        return SessionCodec(self.session_key, max_age_seconds=self.session_max_age_seconds)


@lru_cache
def get_settings() -> Settings:
    return Settings()
