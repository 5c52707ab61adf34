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
from riskwatch_gateway.state import GatewayState
from riskwatch_gateway.tokens import issue_access_token
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .upstreams import Upstream, serve

ALEMBIC_INI = Path(riskwatch_gateway.__file__).parent / "alembic.ini"
SECRET = "gateway-tests-internal-secret-0123456789"
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
    _admin_token: str | None = None

    @property
    def state(self) -> GatewayState:
        state: GatewayState = self.app.state.gateway
        return state

    def client(self, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30.0)

    def token(self, role: str, *, staff_id: str | None = None, subject: str | None = None) -> str:
        return issue_access_token(
            self.settings,
            subject=subject or f"user-{role}",
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
        "RISKWATCH_INTERNAL_SECRET": SECRET,
        "RISKWATCH_ADMIN_EMAIL": ADMIN_EMAIL,
        "RISKWATCH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RISKWATCH_LOG_LEVEL": "WARNING",
        "auto_migrate": False,
        "upstream_timeout_seconds": 1.0,
        "max_body_bytes": 64 * 1024,
        "openapi_ttl_seconds": 0.2,
        "audit_flush_interval_seconds": 0.05,
        "cors_origins": [CORS_ORIGIN],
        "sign_in_attempts_per_minute": 5,
        **{f"{name}_url": url for name, url in upstream_urls.items()},
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
async def gateway(gateway_database: str) -> AsyncIterator[Gateway]:
    upstreams = {name: Upstream(name, SECRET) for name in SERVICES}
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
        yield Gateway(url, app, settings, upstreams, oidc, gateway_database)
