"""The session cookie: who is signed in, their API token, their CSRF token and language.

Encrypted and authenticated with Fernet (AES-CBC + HMAC-SHA256): the browser holds it but can
neither read the API token in it nor change a byte of it. Pure apart from the cipher.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, field, replace

from cryptography.fernet import Fernet, InvalidToken

COOKIE_NAME = "rw_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class InvalidSessionKey(ValueError):
    """CONSOLE_SESSION_KEY is missing or not a Fernet key."""


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Session:
    """One browser's session; `token` is None until the person signs in."""

    csrf: str = field(default_factory=new_csrf_token)
    locale: str | None = None
    token: str | None = None
    token_expires_at: float = 0.0
    subject: str | None = None
    name: str | None = None
    roles: tuple[str, ...] = ()
    staff_id: str | None = None
    # Exchanged at the gateway for the next token (and the next refresh token) while the
    # person is active; the gateway refuses it once they are disabled or signed out.
    refresh_token: str | None = None
    # An SSO sign-in under way: what the provider's answer must match (state, nonce) and
    # the PKCE verifier only this session knows; where to go afterwards.
    sso: dict[str, str] | None = None
    # What the next page shows once and then forgets (a new API key's secret): kept only in
    # this encrypted cookie between the form's POST and the page it redirects to.
    once: dict[str, str] | None = None

    def signed_in(self, now: float) -> bool:
        return self.token is not None and now < self.token_expires_at

    def wants_refresh(self, now: float, ahead_seconds: float) -> bool:
        """Signed in (or just expired) with a refresh token, the token close to its end."""
        return (
            self.token is not None
            and self.refresh_token is not None
            and now > self.token_expires_at - ahead_seconds
        )

    def signed_out(self) -> Session:
        """Nothing of the person is kept; the language stays, the CSRF token is new."""
        return Session(locale=self.locale)

    def with_locale(self, locale: str) -> Session:
        return replace(self, locale=locale)

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented, self.csrf)


class SessionCodec:
    def __init__(self, key: str, *, max_age_seconds: int) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise InvalidSessionKey(
                "CONSOLE_SESSION_KEY is not a Fernet key (32 bytes, url-safe base64)"
            ) from None
        self.max_age_seconds = max_age_seconds

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encode(self, session: Session) -> str:
        payload = asdict(session)
        payload["roles"] = list(session.roles)
        return self._fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()

    def decode(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """The session the cookie holds; None when it is missing, forged, altered or too old."""
        if not cookie:
            return None
        try:
            raw = self._fernet.decrypt_at_time(
                cookie.encode(), ttl=self.max_age_seconds, current_time=int(now or time.time())
            )
            payload = json.loads(raw)
            payload["roles"] = tuple(payload.get("roles", ()))
            return Session(**payload)
        except (InvalidToken, ValueError, TypeError):
            return None
