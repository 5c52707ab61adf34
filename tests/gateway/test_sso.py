"""Sign-in through the institution's OIDC provider (a real one, over HTTPS on loopback): the
gateway verifies the id_token itself (signature against the provider's JWKS found by
discovery, issuer, audience, expiry, age, nonce) and exchanges it once for a RiskWatch token of
the enabled user it names; refresh tokens rotate, are revocable and end with the user."""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from riskwatch_gateway.main import create_app
from riskwatch_shared.testing.oidc_provider import LocalIdp, running_idp

from .conftest import Gateway, gateway_settings
from .upstreams import serve


@dataclass
class SsoGateway:
    url: str
    idp: LocalIdp
    admin: Gateway

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30.0)

    async def create_user(self, *, role: str = "analyst", staff_id: str | None = None) -> str:
        email = f"sso.{uuid.uuid4().hex[:8]}@bank.test"
        body: dict[str, Any] = {"email": email, "name": "SSO person", "roles": [role]}
        if staff_id:
            body["staff_id"] = staff_id
        async with self.admin.client(Authorization=f"Bearer {await self.admin.admin_token()}") as c:
            response = await c.post("/v1/users", json=body)
        assert response.status_code == 201, response.text
        return email

    async def set_active(self, email: str, active: bool) -> None:
        async with self.admin.client(Authorization=f"Bearer {await self.admin.admin_token()}") as c:
            users = (await c.get("/v1/users", params={"limit": "500"})).json()["items"]
            user = next(u for u in users if u["email"] == email)
            response = await c.patch(f"/v1/users/{user['id']}", json={"active": active})
        assert response.status_code == 200, response.text

    async def exchange(self, id_token: str, nonce: str) -> httpx.Response:
        async with self.client() as client:
            return await client.post("/v1/auth/oidc", json={"id_token": id_token, "nonce": nonce})


@pytest.fixture(scope="module")
async def sso(gateway: Gateway) -> AsyncIterator[SsoGateway]:
    """A second gateway on the same database, configured for SSO sign-in with the provider."""
    with running_idp() as idp:
        settings = gateway_settings(
            gateway.database_url,
            {name: upstream.url for name, upstream in gateway.upstreams.items()},
            oidc_issuer=idp.issuer,
            oidc_client_id=idp.client_id,
            oidc_ca_file=idp.ca_file,
            # The provider is on loopback: allowed on purpose (netguard refuses it otherwise).
            RISKWATCH_OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
            refresh_reuse_grace_seconds=0,
        )
        async with contextlib.AsyncExitStack() as stack:
            url = await stack.enter_async_context(serve(create_app(settings), lifespan="on"))
            yield SsoGateway(url, idp, gateway)


def nonce() -> str:
    return secrets.token_urlsafe(24)


async def test_a_verified_id_token_of_an_enabled_user_signs_in_once(sso: SsoGateway) -> None:
    email = await sso.create_user(role="relationship_manager", staff_id="RM-SSO")
    flow_nonce = nonce()
    id_token = sso.idp.id_token(email=email.upper(), nonce=flow_nonce)
    response = await sso.exchange(id_token, flow_nonce)
    assert response.status_code == 200, response.text
    issued = response.json()
    assert issued["refresh_token"].startswith("rt_")
    async with sso.client() as client:
        me = await client.get(
            "/v1/auth/me", headers={"Authorization": f"Bearer {issued['access_token']}"}
        )
    assert me.status_code == 200
    assert me.json()["roles"] == ["relationship_manager"]
    assert me.json()["staff_id"] == "RM-SSO"
    again = await sso.exchange(id_token, flow_nonce)
    assert again.status_code == 401
    assert "already exchanged" in again.json()["detail"]


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ({"nonce": "another-nonce-entirely-0123"}, "nonce"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": "another-client"}, "audience"),
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"iat": int(time.time()) - 3600, "exp": int(time.time()) + 600}, "too old"),
        ({"email_verified": False}, "not verified"),
        ({"signing_key": rsa.generate_private_key(public_exponent=65537, key_size=2048)}, "sig"),
    ],
)
async def test_a_wrong_id_token_is_refused(
    sso: SsoGateway, tamper: dict[str, Any], why: str
) -> None:
    email = await sso.create_user()
    flow_nonce = nonce()
    sso.idp.tamper = tamper
    try:
        id_token = sso.idp.id_token(email=email, nonce=flow_nonce)
    finally:
        sso.idp.tamper = {}
    response = await sso.exchange(id_token, flow_nonce)
    assert response.status_code == 401, (why, response.text)
    assert response.json()["title"] == "Sign-in failed"
    assert "access_token" not in response.json()


async def test_an_unknown_or_disabled_user_cannot_sign_in(sso: SsoGateway) -> None:
    flow_nonce = nonce()
    unknown = sso.idp.id_token(email="nobody@bank.test", nonce=flow_nonce)
    assert (await sso.exchange(unknown, flow_nonce)).status_code == 401
    email = await sso.create_user()
    await sso.set_active(email, False)
    flow_nonce = nonce()
    disabled = await sso.exchange(sso.idp.id_token(email=email, nonce=flow_nonce), flow_nonce)
    assert disabled.status_code == 401
    assert "no enabled RiskWatch user" in disabled.json()["detail"]


async def test_without_configuration_there_is_no_sso_sign_in(gateway: Gateway) -> None:
    async with gateway.client() as client:
        response = await client.post("/v1/auth/oidc", json={"id_token": "x" * 40, "nonce": nonce()})
    assert response.status_code == 404


async def signed_in(sso: SsoGateway, email: str) -> dict[str, Any]:
    flow_nonce = nonce()
    response = await sso.exchange(sso.idp.id_token(email=email, nonce=flow_nonce), flow_nonce)
    assert response.status_code == 200, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def refresh(sso: SsoGateway, refresh_token: str) -> httpx.Response:
    async with sso.client() as client:
        return await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_sign_in(sso: SsoGateway) -> None:
    first = await signed_in(sso, await sso.create_user())
    second = await refresh(sso, first["refresh_token"])
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    async with sso.client() as client:
        me = await client.get(
            "/v1/auth/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}
        )
    assert me.status_code == 200
    # The first token presented again: someone else holds a copy. The sign-in ends for all.
    assert (await refresh(sso, first["refresh_token"])).status_code == 401
    assert (await refresh(sso, rotated["refresh_token"])).status_code == 401


async def test_sign_out_revokes_and_a_disabled_user_cannot_refresh(sso: SsoGateway) -> None:
    first = await signed_in(sso, await sso.create_user())
    async with sso.client() as client:
        revoked = await client.post(
            "/v1/auth/revoke", json={"refresh_token": first["refresh_token"]}
        )
        unknown = await client.post("/v1/auth/revoke", json={"refresh_token": "rt_" + "x" * 40})
    assert (revoked.status_code, unknown.status_code) == (204, 204)
    assert (await refresh(sso, first["refresh_token"])).status_code == 401

    email = await sso.create_user()
    issued = await signed_in(sso, email)
    await sso.set_active(email, False)
    refused = await refresh(sso, issued["refresh_token"])
    assert refused.status_code == 401
    assert "disabled" in refused.json()["detail"]
    await sso.set_active(email, True)  # enabled again: that sign-in stays ended
    assert (await refresh(sso, issued["refresh_token"])).status_code == 401


async def test_password_sign_in_gets_a_refresh_token_too(gateway: Gateway) -> None:
    await gateway.admin_token()
    async with gateway.client() as client:
        response = await client.post(
            "/v1/auth/token",
            json={"email": "root@bank.test", "password": "correct horse battery staple"},
        )
    assert response.status_code == 200, response.text
    refresh_token = response.json()["refresh_token"]
    async with gateway.client() as client:
        refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["access_token"]
    # A browser's parallel requests refresh with the same token at the same moment: within
    # the grace (30 s here) the second gets its own next token instead of ending the sign-in.
    async with gateway.client() as client:
        again = await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})
        assert again.status_code == 200, again.text
        assert again.json()["refresh_token"] != refreshed.json()["refresh_token"]
        for branch in (refreshed.json(), again.json()):
            response = await client.post(
                "/v1/auth/refresh", json={"refresh_token": branch["refresh_token"]}
            )
            assert response.status_code == 200, response.text


async def test_a_role_change_ends_the_sign_in(sso: SsoGateway) -> None:
    email = await sso.create_user(role="analyst")
    issued = await signed_in(sso, email)
    async with sso.admin.client(Authorization=f"Bearer {await sso.admin.admin_token()}") as c:
        users = (await c.get("/v1/users", params={"limit": "500"})).json()["items"]
        user = next(u for u in users if u["email"] == email)
        changed = await c.patch(f"/v1/users/{user['id']}", json={"roles": ["viewer"]})
    assert changed.status_code == 200, changed.text
    assert (await refresh(sso, issued["refresh_token"])).status_code == 401
    again = await signed_in(sso, email)  # a new sign-in carries the new role
    async with sso.client() as client:
        me = await client.get(
            "/v1/auth/me", headers={"Authorization": f"Bearer {again['access_token']}"}
        )
    assert me.json()["roles"] == ["viewer"]
