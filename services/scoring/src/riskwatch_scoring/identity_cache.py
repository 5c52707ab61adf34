"""Gateway identity tokens verified once, then trusted until they expire.

The gateway reuses a caller's signed token for many requests; verifying it (HMAC, claims)
on every call cost a noticeable share of a pre-authorisation. A token's claims cannot change,
so the identity it verified to is kept, keyed by the exact token, until its `exp`.
"""

from __future__ import annotations

import time

import jwt
from starlette.requests import Request

from riskwatch_shared.app import get_identity
from riskwatch_shared.security import IDENTITY_HEADER, Identity


class VerifiedTokens:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._verified: dict[str, tuple[Identity, float]] = {}

    def identity(self, request: Request) -> Identity:
        """`get_identity(request)`, skipping the verification of a token seen before."""
        token = request.headers.get(IDENTITY_HEADER)
        if token is not None:
            known = self._verified.get(token)
            if known is not None and time.time() < known[1]:
                return known[0]
        identity = get_identity(request)  # verifies, or refuses with the usual error
        if token is not None:
            self._remember(token, identity)
        return identity

    def _remember(self, token: str, identity: Identity) -> None:
        claims = jwt.decode(token, options={"verify_signature": False})  # verified just now
        if len(self._verified) >= self.capacity:
            self._verified.clear()
        self._verified[token] = (identity, float(claims["exp"]))
