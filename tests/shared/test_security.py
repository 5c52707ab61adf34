"""The gateway identity token: verification, and the cache of already-verified tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from riskwatch_shared.security import (
    IDENTITY_AUDIENCE,
    IDENTITY_ISSUER,
    VERIFIED_TOKENS,
    Identity,
    InvalidIdentity,
    VerifiedTokens,
    mint_identity_token,
    verify_identity_token,
)

SECRET = "internal-secret-for-tests-0123456789"
ANALYST = Identity(
    subject="u-1", roles=("analyst",), scopes=("customers:read",), staff_id="s-1", name="Ann"
)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    VERIFIED_TOKENS.clear()
    yield
    VERIFIED_TOKENS.clear()


def test_a_cached_verification_gives_the_identity_a_fresh_one_gives() -> None:
    token = mint_identity_token(ANALYST, SECRET)
    first = verify_identity_token(token, SECRET)
    assert len(VERIFIED_TOKENS) == 1
    cached = verify_identity_token(token, SECRET)
    VERIFIED_TOKENS.clear()
    fresh = verify_identity_token(token, SECRET)
    assert first == cached == fresh == ANALYST
    assert cached.may_unmask
    assert not cached.is_relationship_manager_only


def test_a_cached_token_is_refused_with_another_secret() -> None:
    token = mint_identity_token(ANALYST, SECRET)
    verify_identity_token(token, SECRET)
    with pytest.raises(InvalidIdentity, match="Signature verification failed"):
        verify_identity_token(token, "another-secret-0123456789abcdefgh")


def test_a_cached_token_is_refused_once_it_expires() -> None:
    token = mint_identity_token(ANALYST, SECRET, ttl_seconds=1)
    assert verify_identity_token(token, SECRET) == ANALYST
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    while time.time() < expires_at:  # the token's own clock, not a guess
        time.sleep(0.05)
    with pytest.raises(InvalidIdentity, match="expired"):
        verify_identity_token(token, SECRET)
    assert len(VERIFIED_TOKENS) == 0


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-else"},
        {"iss": "not-the-gateway"},
        {"exp": None},
    ],
)
def test_invalid_tokens_are_refused_every_time_and_never_cached(claims: dict[str, object]) -> None:
    now = int(time.time())
    body: dict[str, object] = {
        "iss": IDENTITY_ISSUER,
        "aud": IDENTITY_AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "sub": "u-1",
        **claims,
    }
    token = jwt.encode({k: v for k, v in body.items() if v is not None}, SECRET, "HS256")
    for _ in range(2):
        with pytest.raises(InvalidIdentity):
            verify_identity_token(token, SECRET)
    assert len(VERIFIED_TOKENS) == 0


def test_a_tampered_token_is_refused_even_when_the_original_is_cached() -> None:
    token = mint_identity_token(ANALYST, SECRET)
    verify_identity_token(token, SECRET)
    header, _payload, signature = token.split(".")
    forged = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False}), "roles": ["admin"]},
        "guessed-secret-0123456789abcdefghij",
        "HS256",
    )
    with pytest.raises(InvalidIdentity):
        verify_identity_token(f"{header}.{forged.split('.')[1]}.{signature}", SECRET)


def test_the_cache_stays_within_its_capacity() -> None:
    cache = VerifiedTokens(capacity=3)
    for n in range(10):
        cache.put(f"token-{n}", SECRET, ANALYST, time.time() + 60)
        assert len(cache) <= 3
    assert cache.get("token-9", SECRET) == ANALYST
    assert cache.get("token-0", SECRET) is None
