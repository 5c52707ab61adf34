"""Gateway identity tokens already verified, kept until they expire.

A token is immutable and carries its expiry, and the gateway reuses one per caller while it
has life left, so checking its HS256 signature again on every request only burns CPU. A hit
is a token string already verified with this service's secret and not yet expired.
"""

from __future__ import annotations

import base64
import json
import time

from riskwatch_shared.security import Identity, verify_identity_token


def _expiry(token: str) -> float:
    """The `exp` claim of a token whose signature was verified (it is required there)."""
    claims = token.split(".")[1]
    exp = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["exp"]
    return float(exp)


class VerifiedTokens:
    def __init__(self, secret: str, *, max_entries: int = 10_000) -> None:
        self._secret = secret
        self._max_entries = max_entries
        self._verified: dict[str, tuple[Identity, float]] = {}

    def identity(self, token: str) -> Identity:
        """The token's identity; raises `InvalidIdentity` as `verify_identity_token` does."""
        hit = self._verified.get(token)
        if hit is not None and time.time() < hit[1]:
            return hit[0]
        identity = verify_identity_token(token, self._secret)
        if len(self._verified) >= self._max_entries:
            now = time.time()
            self._verified = {t: v for t, v in self._verified.items() if now < v[1]}
            if len(self._verified) >= self._max_entries:
                self._verified.clear()
        self._verified[token] = (identity, _expiry(token))
        return identity
