"""The gateway identity token: asymmetric (EdDSA with a `kid`), verified with public keys only,
cached once verified; and services that refuse to start without a usable key."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from riskwatch_shared.security import (
    DEV_IDENTITY_KEY,
    IDENTITY_AUDIENCE,
    IDENTITY_ISSUER,
    VERIFIED_TOKENS,
    Identity,
    InvalidIdentity,
    InvalidKey,
    PublicKeySet,
    VerifiedTokens,
    generate_signing_key,
    load_public_keys,
    load_signing_keys,
    mint_identity_token,
    verify_identity_token,
)
from riskwatch_shared.settings import ServiceSettings

KEY = generate_signing_key("k-1")
KEYS = PublicKeySet.of([KEY])
ANALYST = Identity(
    subject="u-1", roles=("analyst",), scopes=("customers:read",), staff_id="s-1", name="Ann"
)
# What RISKWATCH_INTERNAL_SECRET defaulted to: anyone could sign an identity with it.
OLD_DEFAULT_SECRET = "riskwatch-dev-internal-secret-change-me"
KEY_VARIABLES = (
    "RISKWATCH_IDENTITY_PUBLIC_KEYS",
    "RISKWATCH_IDENTITY_SIGNING_KEY",
    "GATEWAY_JWT_SIGNING_KEYS",
    "RISKWATCH_DEV_MODE",
)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    VERIFIED_TOKENS.clear()
    yield
    VERIFIED_TOKENS.clear()


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    body: dict[str, object] = {
        "iss": IDENTITY_ISSUER,
        "aud": IDENTITY_AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "sub": "mallory",
        "roles": ["admin"],
        **overrides,
    }
    return {k: v for k, v in body.items() if v is not None}


def test_a_cached_verification_gives_the_identity_a_fresh_one_gives() -> None:
    token = mint_identity_token(ANALYST, KEY)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": "k-1", "typ": "JWT"}
    first = verify_identity_token(token, KEYS)
    assert len(VERIFIED_TOKENS) == 1
    cached = verify_identity_token(token, KEYS)
    VERIFIED_TOKENS.clear()
    fresh = verify_identity_token(token, KEYS)
    assert first == cached == fresh == ANALYST
    assert cached.may_unmask
    assert not cached.is_relationship_manager_only


def test_an_hs256_token_with_the_old_default_secret_is_refused() -> None:
    forged = jwt.encode(claims(), OLD_DEFAULT_SECRET, "HS256", headers={"kid": "k-1"})
    with pytest.raises(InvalidIdentity, match="EdDSA"):
        verify_identity_token(forged, KEYS)


def test_the_public_key_used_as_an_hmac_secret_is_refused() -> None:
    """Algorithm confusion: whoever has the public key must not be able to sign with it."""
    public = KEY.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    forged = jwt.encode(claims(), public, "HS256", headers={"kid": "k-1"})
    with pytest.raises(InvalidIdentity):
        verify_identity_token(forged, KEYS)


def test_a_token_signed_by_any_other_key_is_refused_even_under_a_known_kid() -> None:
    for other in (generate_signing_key("k-1"), generate_signing_key("k-2"), DEV_IDENTITY_KEY):
        with pytest.raises(InvalidIdentity):
            verify_identity_token(mint_identity_token(ANALYST, other), KEYS)
    assert len(VERIFIED_TOKENS) == 0


def test_two_live_keys_verify_during_a_rotation() -> None:
    new = generate_signing_key("k-2")
    both = load_public_keys(PublicKeySet.of([KEY, new]).to_json())
    assert verify_identity_token(mint_identity_token(ANALYST, KEY), both) == ANALYST
    assert verify_identity_token(mint_identity_token(ANALYST, new), both) == ANALYST
    only_new = load_public_keys(PublicKeySet.of([new]).to_json())
    with pytest.raises(InvalidIdentity, match="unknown key"):
        verify_identity_token(mint_identity_token(ANALYST, KEY), only_new)


def test_keys_round_trip_and_a_verifier_refuses_a_private_key() -> None:
    (loaded,) = load_signing_keys(KEY.to_json())
    assert loaded.kid == KEY.kid
    assert verify_identity_token(mint_identity_token(ANALYST, loaded), KEYS) == ANALYST
    with pytest.raises(InvalidKey, match="private part"):
        load_public_keys(KEY.to_json())
    with pytest.raises(InvalidKey, match="Ed25519"):
        load_public_keys('{"kty": "oct", "k": "c2VjcmV0", "kid": "x"}')


def test_a_cached_token_is_refused_with_other_keys() -> None:
    token = mint_identity_token(ANALYST, KEY)
    verify_identity_token(token, KEYS)
    with pytest.raises(InvalidIdentity):
        verify_identity_token(token, PublicKeySet.of([generate_signing_key("k-1")]))


def test_a_cached_token_is_refused_once_it_expires() -> None:
    token = mint_identity_token(ANALYST, KEY, ttl_seconds=1)
    assert verify_identity_token(token, KEYS) == ANALYST
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    while time.time() < expires_at:  # the token's own clock, not a guess
        time.sleep(0.05)
    with pytest.raises(InvalidIdentity, match="expired"):
        verify_identity_token(token, KEYS)
    assert len(VERIFIED_TOKENS) == 0


@pytest.mark.parametrize(
    "overrides", [{"aud": "someone-else"}, {"iss": "not-the-gateway"}, {"exp": None}]
)
def test_invalid_tokens_are_refused_every_time_and_never_cached(
    overrides: dict[str, object],
) -> None:
    token = jwt.encode(claims(**overrides), KEY.private_key, "EdDSA", headers={"kid": KEY.kid})
    for _ in range(2):
        with pytest.raises(InvalidIdentity):
            verify_identity_token(token, KEYS)
    assert len(VERIFIED_TOKENS) == 0


def test_a_tampered_token_is_refused_even_when_the_original_is_cached() -> None:
    token = mint_identity_token(ANALYST, KEY)
    verify_identity_token(token, KEYS)
    header, _payload, signature = token.split(".")
    other = mint_identity_token(ANALYST.model_copy(update={"roles": ("admin",)}), KEY)
    with pytest.raises(InvalidIdentity):
        verify_identity_token(f"{header}.{other.split('.')[1]}.{signature}", KEYS)


def test_the_cache_stays_within_its_capacity() -> None:
    cache = VerifiedTokens(capacity=3)
    for n in range(10):
        cache.put(f"token-{n}", KEYS.fingerprint, ANALYST, time.time() + 60)
        assert len(cache) <= 3
    assert cache.get("token-9", KEYS.fingerprint) == ANALYST
    assert cache.get("token-0", KEYS.fingerprint) is None


def test_settings_name_each_unusable_key_and_dev_mode_uses_the_dev_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert ServiceSettings().secret_problems() == ["RISKWATCH_IDENTITY_PUBLIC_KEYS is not set"]
    assert not ServiceSettings().identity_keys()  # verifies nothing
    dev_public = PublicKeySet.of([DEV_IDENTITY_KEY]).to_json()
    monkeypatch.setenv("RISKWATCH_IDENTITY_PUBLIC_KEYS", dev_public)
    assert "development key" in ServiceSettings().secret_problems()[0]
    monkeypatch.setenv("RISKWATCH_IDENTITY_PUBLIC_KEYS", KEY.to_json())
    assert "private part" in ServiceSettings().secret_problems()[0]
    monkeypatch.delenv("RISKWATCH_IDENTITY_PUBLIC_KEYS")
    monkeypatch.setenv("RISKWATCH_DEV_MODE", "true")
    token = mint_identity_token(ANALYST, DEV_IDENTITY_KEY)
    assert verify_identity_token(token, ServiceSettings().identity_keys()) == ANALYST


def start(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", module, "serve"],
        env={**clean, "RISKWATCH_LOG_JSON": "false", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_service_without_a_usable_key_refuses_to_start_with_one_clear_line() -> None:
    missing = start("riskwatch_customer")
    dev_key = start(
        "riskwatch_alerting",
        RISKWATCH_IDENTITY_PUBLIC_KEYS=PublicKeySet.of([DEV_IDENTITY_KEY]).to_json(),
    )
    gateway = start("riskwatch_gateway")
    assert missing.returncode == dev_key.returncode == gateway.returncode == 2
    for done in (missing, dev_key, gateway):
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "refusing to start" in done.stderr
        assert "RISKWATCH_DEV_MODE" in done.stderr
    assert "RISKWATCH_IDENTITY_PUBLIC_KEYS is not set" in missing.stderr
    assert "publicly known development key" in dev_key.stderr
    assert "RISKWATCH_IDENTITY_SIGNING_KEY is not set" in gateway.stderr
    assert "GATEWAY_JWT_SIGNING_KEYS is not set" in gateway.stderr
