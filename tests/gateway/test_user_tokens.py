"""User tokens: EdDSA with a `kid`, two live keys, a public JWKS document; no usable default
secret; a token stops working at once when its user is disabled, changed or deleted."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from riskwatch_gateway.config import Settings
from riskwatch_gateway.tokens import issue_access_token
from riskwatch_shared.security import (
    DEV_USER_TOKEN_KEY,
    generate_signing_key,
    load_public_keys,
)

from .conftest import Gateway, new_user_token

# What GATEWAY_JWT_SECRET defaulted to: anyone could sign themselves an admin token with it.
OLD_DEFAULT_SECRET = "riskwatch-dev-gateway-jwt-secret-change-me"


def claims(settings: Settings, subject: str, **extra: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
        "sub": subject,
        "roles": ["admin"],
        "ver": 0,
        **extra,
    }


async def status_of(gateway: Gateway, token: str, path: str = "/v1/users") -> int:
    async with gateway.client(Authorization=f"Bearer {token}") as client:
        return (await client.get(path)).status_code


async def test_self_made_admin_tokens_are_refused(gateway: Gateway) -> None:
    admin = str(gateway.admin_id)
    settings = gateway.settings
    old_default = jwt.encode(claims(settings, admin), OLD_DEFAULT_SECRET, "HS256")
    key = settings.user_token_keys()[0]
    # The public key (from the JWKS document) as an HMAC secret: algorithm confusion.
    public_as_secret = jwt.encode(
        claims(settings, admin), key.public_jwk()["x"], "HS256", headers={"kid": key.kid}
    )
    unknown_key = generate_signing_key(key.kid)  # right kid, not our key
    signed_elsewhere = jwt.encode(
        claims(settings, admin), unknown_key.private_key, "EdDSA", headers={"kid": key.kid}
    )
    dev_key = jwt.encode(
        claims(settings, admin),
        DEV_USER_TOKEN_KEY.private_key,
        "EdDSA",
        headers={"kid": DEV_USER_TOKEN_KEY.kid},
    )
    for forged in (old_default, public_as_secret, signed_elsewhere, dev_key):
        assert await status_of(gateway, forged) == 401
    assert await status_of(gateway, gateway.token("admin")) == 200


async def test_the_jwks_document_publishes_both_live_keys_and_verifies_tokens(
    gateway: Gateway,
) -> None:
    async with gateway.client() as client:
        response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    document = response.json()
    assert [k["kid"] for k in document["keys"]] == ["test-user-1", "test-user-2"]
    assert all("d" not in k and k["alg"] == "EdDSA" for k in document["keys"])
    keys = load_public_keys(response.text)
    token = gateway.token("viewer")
    assert jwt.get_unverified_header(token)["kid"] == "test-user-1"  # the first key signs
    public = keys.keys["test-user-1"]
    assert jwt.decode(token, public, ["EdDSA"], audience=gateway.settings.jwt_audience)["ver"] == 0


async def test_a_token_signed_by_the_second_key_works_during_a_rotation(gateway: Gateway) -> None:
    second = gateway.settings.user_token_keys()[1]
    user_id, _ = await new_user_token(gateway.settings, gateway.database_url, "viewer")
    token = jwt.encode(
        claims(gateway.settings, str(user_id), roles=["viewer"]),
        second.private_key,
        "EdDSA",
        headers={"kid": second.kid},
    )
    assert await status_of(gateway, token, "/v1/auth/me") == 200


async def test_local_tokens_carry_only_user_roles(gateway: Gateway) -> None:
    user_id, _ = await new_user_token(gateway.settings, gateway.database_url, "viewer")
    token = issue_access_token(gateway.settings, subject=str(user_id), roles=("viewer", "system"))
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["viewer"]
    key = gateway.settings.user_token_keys()[0]
    smuggled = jwt.encode(
        claims(gateway.settings, str(user_id), roles=["viewer", "system"]),
        key.private_key,
        "EdDSA",
        headers={"kid": key.kid},
    )
    async with gateway.client(Authorization=f"Bearer {smuggled}") as client:
        me = await client.get("/v1/auth/me")
        proxied = await client.get("/v1/alerts")
    assert me.json()["roles"] == ["viewer"]
    assert proxied.json()["identity"]["roles"] == ["viewer"]


@pytest.mark.parametrize(
    "change",
    [{"active": False}, {"roles": ["viewer"]}, {"password": "a-new-password-1234"}, "delete"],
)
async def test_a_change_to_the_user_takes_effect_at_once(
    gateway: Gateway, change: dict[str, object] | str
) -> None:
    user_id, token = await new_user_token(
        gateway.settings, gateway.database_url, "analyst", staff_id=None
    )
    assert await status_of(gateway, token, "/v1/alerts") == 200
    assert await status_of(gateway, token, "/v1/alerts") == 200  # verified token cached
    admin = gateway.client(Authorization=f"Bearer {gateway.token('admin')}")
    async with admin:
        if change == "delete":
            done = await admin.delete(f"/v1/users/{user_id}")
        else:
            done = await admin.patch(f"/v1/users/{user_id}", json=change)
    assert done.status_code in (200, 204), done.text
    assert await status_of(gateway, token, "/v1/alerts") == 401  # no waiting for expiry


async def test_a_token_of_an_unknown_user_is_refused(gateway: Gateway) -> None:
    token = issue_access_token(gateway.settings, subject=str(uuid.uuid4()), roles=("admin",))
    assert await status_of(gateway, token) == 401
    not_a_user = issue_access_token(gateway.settings, subject="root", roles=("admin",))
    assert await status_of(gateway, not_a_user) == 401
