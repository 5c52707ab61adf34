"""Who is calling, may they, and not too often: authentication, the role policy, rate limits."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers

from riskwatch_gateway.audit import AuditLog
from riskwatch_gateway.backoff import Backoff
from riskwatch_gateway.config import Settings
from riskwatch_gateway.credentials import api_secret_matches, parse_api_key
from riskwatch_gateway.errors import RateLimited
from riskwatch_gateway.models import ApiKey
from riskwatch_gateway.policy import Policy, decide
from riskwatch_gateway.ratelimit import RateLimiter
from riskwatch_gateway.repository import get_api_key, user_token_state
from riskwatch_gateway.tokens import InvalidToken, TokenVerifier, VerifiedToken
from riskwatch_shared.errors import Forbidden, ServiceUnavailable, Unauthorized
from riskwatch_shared.messaging.faults import is_transient
from riskwatch_shared.security import Identity, mint_identity_token

API_KEY_HEADER = "x-api-key"
# The internal identity token lives 60 s; one minted token is reused for half of that.
IDENTITY_TTL_SECONDS = 60
IDENTITY_REUSE_SECONDS = 30.0


@dataclass(frozen=True)
class Caller:
    identity: Identity
    rate_limit_per_minute: int
    key_id: str | None = None


@dataclass(frozen=True)
class CachedKey:
    record: ApiKey | None
    caller: Caller | None
    expires_at: float


class Gatekeeper:
    def __init__(
        self,
        settings: Settings,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        verifier: TokenVerifier,
        audit: AuditLog,
        policy: Policy,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.verifier = verifier
        self.audit = audit
        self.policy = policy
        self.limiter = limiter or RateLimiter(burst_seconds=settings.rate_limit_burst_seconds)
        self.trusted_networks = settings.trusted_networks
        free = settings.sign_in_free_failures
        base, longest = settings.sign_in_backoff_base_seconds, settings.sign_in_backoff_max_seconds
        self.account_from_client = Backoff(
            free_failures=free, base_seconds=base, max_seconds=longest
        )
        self.client_backoff = Backoff(
            free_failures=free * 4, base_seconds=base, max_seconds=longest
        )
        self.account_backoff = Backoff(
            free_failures=free * 10,
            base_seconds=base,
            max_seconds=settings.sign_in_account_max_seconds,
        )
        self._keys: dict[str, CachedKey] = {}
        self._key_lookups: dict[str, asyncio.Future[CachedKey]] = {}
        self._minted: dict[Identity, tuple[str, float]] = {}
        self.identity_key = settings.identity_signer()

    async def admit(
        self, method: str, path: str, headers: Headers, client_ip: str | None
    ) -> Identity | None:
        """The caller's identity when they may call `method path`; None for a public operation.

        Raises Unauthorized (401), Forbidden (403) or RateLimited (429); every refusal is audited.
        """
        rule = self.policy.rule_for(method, path)
        if rule is not None and rule.is_public:
            return None
        try:
            caller = await self.authenticate(headers)
        except Unauthorized as exc:
            await self.audit.record(
                "access.denied", method=method, path=path, status=401, client_ip=client_ip,
                reason=exc.detail,
            )  # fmt: skip
            raise
        identity = caller.identity
        if not decide(rule, identity.roles, identity.scopes):
            await self.audit.record(
                "access.denied", subject=identity.subject, method=method, path=path, status=403,
                client_ip=client_ip, roles=list(identity.roles),
            )  # fmt: skip
            raise Forbidden(f"{', '.join(identity.roles) or 'no role'} may not {method} {path}")
        wait = self.limiter.take(identity.subject, caller.rate_limit_per_minute)
        if wait > 0:
            await self.audit.record(
                "rate_limited", subject=identity.subject, method=method, path=path, status=429,
                client_ip=client_ip,
            )  # fmt: skip
            raise RateLimited(wait)
        if caller.key_id is not None:
            await self.audit.record_key_use(
                caller.key_id, method=method, path=path, client_ip=client_ip
            )
        return identity

    async def authenticate(self, headers: Headers) -> Caller:
        authorization = headers.get("authorization")
        presented_key = headers.get(API_KEY_HEADER)
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credentials:
                raise Unauthorized("use `Authorization: Bearer <token>` or `X-API-Key`")
            if credentials.startswith("rw_"):
                return await self._api_key_caller(credentials.strip())
            try:
                verified = await self.verifier.verify(credentials.strip())
            except InvalidToken as exc:
                raise Unauthorized(f"invalid token: {exc}") from exc
            if verified.token_version is not None:
                await self._check_user(verified)
            identity = verified.identity
            return Caller(identity, self.role_rate_limit(identity.roles))
        if presented_key:
            return await self._api_key_caller(presented_key.strip())
        raise Unauthorized("credentials required (bearer token or API key)")

    async def _check_user(self, verified: VerifiedToken) -> None:
        """A local user's token works only while the user exists, is enabled and the token
        carries their current version: one primary-key lookup per request, never cached, so a
        disabled user or a role change bites at once."""
        try:
            user_id = uuid.UUID(verified.identity.subject)
        except ValueError as exc:
            raise Unauthorized("invalid token: unknown user") from exc
        async with self.session_factory() as session:
            state = await user_token_state(session, user_id)
        if state is None or not state[0] or state[1] != verified.token_version:
            raise Unauthorized("token no longer valid (user disabled or changed): sign in again")

    def _sign_in_keys(self, email: str, client_ip: str | None) -> list[tuple[Backoff, str]]:
        account = email.lower()
        return [
            (self.account_from_client, f"{account}|{client_ip}"),
            (self.client_backoff, f"{client_ip}"),
            (self.account_backoff, account),
        ]

    async def throttle_sign_in(self, email: str, client_ip: str | None) -> None:
        """Before the password is checked: 429 + Retry-After while a back-off runs."""
        wait = max(backoff.wait(key) for backoff, key in self._sign_in_keys(email, client_ip))
        if wait > 0:
            await self.audit.record(
                "sign_in.throttled", subject=email.lower(), status=429, client_ip=client_ip
            )
            raise RateLimited(wait)

    def sign_in_failed(self, email: str, client_ip: str | None) -> None:
        for backoff, key in self._sign_in_keys(email, client_ip):
            backoff.failed(key)

    def sign_in_succeeded(self, email: str, client_ip: str | None) -> None:
        """The account's back-off ends (the client's own, over every account, only decays)."""
        account_from_client, _client, account = self._sign_in_keys(email, client_ip)
        for backoff, key in (account_from_client, account):
            backoff.succeeded(key)

    def role_rate_limit(self, roles: tuple[str, ...]) -> int:
        limits = self.settings.rate_limits_per_minute
        return max((limits.get(role, 0) for role in roles), default=0) or min(limits.values())

    async def _api_key_caller(self, presented: str) -> Caller:
        parsed = parse_api_key(presented)
        if parsed is None:
            raise Unauthorized("malformed API key")
        cached = await self._cached_key(parsed.key_id)
        record = cached.record
        if record is None or cached.caller is None or record.revoked_at is not None:
            raise Unauthorized("unknown or revoked API key")
        if api_secret_matches(parsed.secret, record.secret_hash):
            return cached.caller
        in_grace = (
            record.previous_valid_until is not None
            and record.previous_valid_until > datetime.now(UTC)
            and api_secret_matches(parsed.secret, record.previous_secret_hash)
        )
        if not in_grace:
            raise Unauthorized("unknown or revoked API key")
        return cached.caller

    def _key_caller(self, record: ApiKey) -> Caller:
        roles = tuple(record.roles)
        identity = Identity(
            subject=f"api_key:{record.id}",
            kind="api_key",
            roles=roles,
            scopes=tuple(record.scopes),
            name=record.name,
        )
        limit = record.rate_limit_per_minute or self.role_rate_limit(roles)
        return Caller(identity, limit, key_id=record.id)

    async def _cached_key(self, key_id: str) -> CachedKey:
        """Keys (and misses) are cached briefly so intake does not query PostgreSQL per call;
        concurrent misses for one key share a single query."""
        cached = self._keys.get(key_id)
        if cached is not None and cached.expires_at > time.monotonic():
            return cached
        pending = self._key_lookups.get(key_id)
        if pending is None:
            pending = asyncio.ensure_future(self._load_key(key_id))
            self._key_lookups[key_id] = pending
            pending.add_done_callback(lambda _: self._key_lookups.pop(key_id, None))
        return await asyncio.shield(pending)

    async def _load_key(self, key_id: str) -> CachedKey:
        try:
            async with self.session_factory() as session:
                record = await get_api_key(session, key_id)
        except Exception as exc:
            if is_transient(exc):  # the database is restarting: 503 + Retry-After, not 500
                raise ServiceUnavailable("API keys cannot be checked right now") from exc
            raise
        if len(self._keys) > 100_000:
            self._keys.clear()
        expires_at = time.monotonic() + self.settings.api_key_cache_seconds
        caller = self._key_caller(record) if record is not None else None
        cached = self._keys[key_id] = CachedKey(record, caller, expires_at)
        return cached

    def forget_key(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    def identity_token(self, identity: Identity) -> str:
        """The signed header the services trust; reused while it has life left."""
        now = time.monotonic()
        minted = self._minted.get(identity)
        if minted is not None and minted[1] > now:
            return minted[0]
        token = mint_identity_token(identity, self.identity_key, ttl_seconds=IDENTITY_TTL_SECONDS)
        if len(self._minted) > 50_000:
            self._minted.clear()
        self._minted[identity] = (token, now + IDENTITY_REUSE_SECONDS)
        return token
