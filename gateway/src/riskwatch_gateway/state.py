"""What the gateway's lifespan builds, shared by the proxy path and the gateway's own routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from riskwatch_gateway.audit import AuditLog
from riskwatch_gateway.catalog import ServiceCatalog
from riskwatch_gateway.clientip import Network, client_address
from riskwatch_gateway.config import Settings
from riskwatch_gateway.gatekeeper import Gatekeeper
from riskwatch_gateway.proxy import CALLER_STATE_KEY
from riskwatch_gateway.sso import IdTokenVerifier
from riskwatch_gateway.upstream_client import UpstreamPool
from riskwatch_shared.db.unit_of_work import unit_of_work
from riskwatch_shared.errors import Unauthorized
from riskwatch_shared.security import Identity


@dataclass
class GatewayState:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    pool: UpstreamPool
    gatekeeper: Gatekeeper
    audit: AuditLog
    catalog: ServiceCatalog
    # Sign-in through the institution's OIDC provider, when configured.
    sso: IdTokenVerifier | None = None

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return self.gatekeeper.trusted_networks


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work (`riskwatch_shared.db.unit_of_work`): committed by the kit
    before the response is sent; routes only flush."""
    async with unit_of_work(get_state(request).session_factory) as session:
        yield session


def client_ip(request: Request) -> str | None:
    """The caller's address (X-Forwarded-For only from a trusted proxy)."""
    peer = request.client.host if request.client else None
    networks = get_state(request).trusted_networks
    return client_address(peer, request.headers.get("x-forwarded-for"), networks)


def get_caller(request: Request) -> Identity:
    """The caller the gateway middleware admitted (by the same policy as proxied calls)."""
    identity = getattr(request.state, CALLER_STATE_KEY, None)
    if not isinstance(identity, Identity):  # a public operation asking for a caller
        raise Unauthorized("credentials required")
    return identity


StateDep = Annotated[GatewayState, Depends(get_state)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
CallerDep = Annotated[Identity, Depends(get_caller)]
