"""One gateway for the whole session, on a real socket, in front of four stand-in services,
with its own freshly migrated database and a local OIDC provider (JWKS over HTTP)."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import riskwatch_gateway
from riskwatch_gateway.config import Settings
from riskwatch_gateway.main import create_app
from riskwatch_gateway.models import User
from riskwatch_gateway.repository import get_user_by_email
from riskwatch_gateway.state import GatewayState
from riskwatch_gateway.tokens import issue_access_token
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.security import USER_ROLES, PublicKeySet
from riskwatch_shared.testing import throwaway_keys
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .upstreams import Upstream, serve

ALEMBIC_INI = Path(riskwatch_gateway.__file__).parent / "alembic.ini"
# What the services would hold: the public half of the test kit's identity key.
IDENTITY_KEYS = PublicKeySet.of([throwaway_keys().identity])
# Users every test may take a token for without creating one: role x staff id.
STAFF_IDS = (None, "RM-1", "RM-2")
# /metrics, /docs and /openapi.json need it (or, for the documents, credentials).
OPS_TOKEN = "ops-token-for-the-gateway-tests-0123456789"
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}
ADMIN_EMAIL = "root@bank.test"
ADMIN_PASSWORD = "correct horse battery staple"
OIDC_ISSUER = "https://idp.bank.test"
OIDC_AUDIENCE = "riskwatch"
CORS_ORIGIN = "https://app.bank.test"
SERVICES = ("customer", "scoring", "alerting", "notify")


@dataclass
class Oidc:
    key: rsa.RSAPrivateKey
    kid: str
    url: str

    def token(self, *, roles: list[str], sub: str = "jane", ttl: int = 300, **extra: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": OIDC_ISSUER,
            "aud": OIDC_AUDIENCE,
            "sub": sub,
            "iat": now,
            "exp": now + ttl,
            "roles": roles,
            **extra,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


@dataclass
class Gateway:
    url: str
    app: FastAPI
    settings: Settings
    upstreams: dict[str, Upstream]
    oidc: Oidc
    database_url: str
    admin_id: uuid.UUID
    _admin_token: str | None = None

    @property
    def state(self) -> GatewayState:
        state: GatewayState = self.app.state.gateway
        return state

    def client(self, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30.0)

    def token(self, role: str, *, staff_id: str | None = None) -> str:
        """A token of one of the users made at the start (`STAFF_IDS` x roles; for "admin",
        the configured admin: another one would make it no longer the last admin)."""
        assert staff_id in STAFF_IDS, f"use `await new_user_token(...)` for staff id {staff_id}"
        subject = seeded_user_id(role, staff_id)
        if role == "admin":
            assert staff_id is None, "the configured admin has no staff id"
            subject = self.admin_id
        return issue_access_token(
            self.settings,
            subject=str(subject),
            roles=(role,),
            staff_id=staff_id,
            name=f"{role} tester",
        )

    def bearer(self, role: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kwargs)}"}

    async def admin_token(self) -> str:
        """Signed in once per session (sign-in attempts are throttled per account)."""
        if self._admin_token is not None:
            return self._admin_token
        async with self.client() as client:
            response = await client.post(
                "/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        self._admin_token = token
        return token


def seeded_user_id(role: str, staff_id: str | None) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"riskwatch-test-user:{role}:{staff_id}")


async def add_test_users(database_url: str) -> uuid.UUID:
    """One enabled user per role but admin and staff id (never signing in with a password:
    the hash is not a valid one), idempotent. Returns the configured admin's id."""
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            for role in sorted(USER_ROLES - {"admin"}):
                for staff_id in STAFF_IDS:
                    user_id = seeded_user_id(role, staff_id)
                    if await session.get(User, user_id) is None:
                        session.add(User(id=user_id, email=f"{user_id}@users.test",
                                         name=f"{role} tester", password_hash="!", roles=[role],
                                         staff_id=staff_id, active=True))  # fmt: skip
            await session.commit()
            admin = await get_user_by_email(session, ADMIN_EMAIL)
            assert admin is not None
            return admin.id
    finally:
        await engine.dispose()


async def new_user_token(
    settings: Settings, database_url: str, role: str, *, staff_id: str | None = None
) -> tuple[uuid.UUID, str]:
    """A new enabled user and a token for it."""
    user_id = uuid.uuid4()
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            session.add(User(id=user_id, email=f"{user_id}@users.test", password_hash="!",
                             roles=[role], staff_id=staff_id, active=True))  # fmt: skip
            await session.commit()
    finally:
        await engine.dispose()
    token = issue_access_token(settings, subject=str(user_id), roles=(role,), staff_id=staff_id)
    return user_id, token


@pytest.fixture(scope="session")
async def gateway_database(infra: Infra) -> AsyncIterator[str]:
    async for url in migrated_database(infra, ALEMBIC_INI, "gateway"):
        yield url


@contextlib.asynccontextmanager
async def oidc_provider() -> AsyncIterator[Oidc]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = uuid.uuid4().hex[:8]
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})

    async def jwks(_: Request) -> Response:
        return JSONResponse({"keys": [jwk]})

    async with serve(Starlette(routes=[Route("/jwks.json", jwks)])) as url:
        yield Oidc(key, kid, f"{url}/jwks.json")


def gateway_settings(
    database_url: str, upstream_urls: dict[str, str], **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "RISKWATCH_ADMIN_EMAIL": ADMIN_EMAIL,
        "RISKWATCH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RISKWATCH_LOG_LEVEL": "WARNING",
        "auto_migrate": False,
        "upstream_timeout_seconds": 1.0,
        "max_body_bytes": 64 * 1024,
        "openapi_ttl_seconds": 0.2,
        "audit_flush_interval_seconds": 0.05,
        "cors_origins": [CORS_ORIGIN],
        "sign_in_free_failures": 5,
        "ops_token": OPS_TOKEN,
        # The test client connects from 127.0.0.1: as if through the ingress, it may say
        # whose address it forwards (X-Forwarded-For), so each test can be its own client.
        "trusted_proxies": "127.0.0.1/32",
        **{f"{name}_url": url for name, url in upstream_urls.items()},
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
async def gateway(gateway_database: str) -> AsyncIterator[Gateway]:
    upstreams = {name: Upstream(name, IDENTITY_KEYS) for name in SERVICES}
    async with contextlib.AsyncExitStack() as stack:
        for upstream in upstreams.values():
            upstream.url = await stack.enter_async_context(serve(upstream.app()))
        oidc = await stack.enter_async_context(oidc_provider())
        settings = gateway_settings(
            gateway_database,
            {name: u.url for name, u in upstreams.items()},
            oidc_issuer=OIDC_ISSUER,
            oidc_audience=OIDC_AUDIENCE,
            oidc_jwks_url=oidc.url,
        )
        app = create_app(settings)
        url = await stack.enter_async_context(serve(app, lifespan="on"))
        admin_id = await add_test_users(gateway_database)  # after the first admin was made
        yield Gateway(url, app, settings, upstreams, oidc, gateway_database, admin_id)
