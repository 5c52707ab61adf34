"""Caller identity as the gateway asserts it: a short-lived EdDSA (Ed25519) token with a `kid`.

Only the gateway holds a private signing key; services hold public keys (two during a rotation)
and only verify, so no service — nor anyone who reaches a service port — can mint an identity.
Keys travel as JSON Web Keys (RFC 8037 OKP/Ed25519): the gateway's one private JWK, the
services' public JWK set. The same helpers serve the gateway's user tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ConfigDict

IDENTITY_HEADER = "x-riskwatch-identity"
IDENTITY_AUDIENCE = "riskwatch-internal"
IDENTITY_ISSUER = "riskwatch-gateway"
SIGNING_ALGORITHM = "EdDSA"

Role = Literal[
    "admin", "risk_manager", "analyst", "relationship_manager", "viewer", "ingest", "system"
]
ALL_ROLES: tuple[str, ...] = (
    "admin",
    "risk_manager",
    "analyst",
    "relationship_manager",
    "viewer",
    "ingest",
    "system",
)
# Roles a person or a machine client may hold ("system" is the services' own, never a caller's).
USER_ROLES = frozenset(role for role in ALL_ROLES if role != "system")
# Roles that may see personal data (identity documents, full phone/email) unmasked.
UNMASKING_ROLES = frozenset({"admin", "risk_manager", "analyst", "system"})


class Identity(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    kind: Literal["user", "api_key", "service"] = "user"
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    staff_id: str | None = None
    name: str | None = None

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def may_unmask(self) -> bool:
        return any(role in UNMASKING_ROLES for role in self.roles)

    @property
    def is_relationship_manager_only(self) -> bool:
        """An RM (and nothing broader) sees only their own customers."""
        broader = {"admin", "risk_manager", "analyst", "viewer", "system"}
        return "relationship_manager" in self.roles and not broader.intersection(self.roles)


SYSTEM_IDENTITY = Identity(subject="system", kind="service", roles=("system",))


class InvalidIdentity(Exception):
    pass


class InvalidKey(ValueError):
    """A key setting that cannot be used (malformed, not Ed25519, private where public belongs)."""


# --- keys -------------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key and its id: only the gateway holds one."""

    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64(_raw_public(self.public_key)),
            "kid": self.kid,
            "alg": SIGNING_ALGORITHM,
            "use": "sig",
        }

    def private_jwk(self) -> dict[str, str]:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return {**self.public_jwk(), "d": _b64(seed)}

    def to_json(self) -> str:
        """The private JWK as one line (what a `..._SIGNING_KEY` setting holds)."""
        return json.dumps(self.private_jwk(), separators=(",", ":"))


def generate_signing_key(kid: str | None = None) -> SigningKey:
    return SigningKey(kid or secrets.token_hex(8), Ed25519PrivateKey.generate())


@dataclass(frozen=True)
class PublicKeySet:
    """Public keys by `kid`: what a verifier holds. Two are live while a key is rotated."""

    keys: Mapping[str, Ed25519PublicKey]

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for kid in sorted(self.keys):
            digest.update(kid.encode() + b"\0" + _raw_public(self.keys[kid]))
        return digest.hexdigest()[:16]

    def __bool__(self) -> bool:
        return bool(self.keys)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": _b64(_raw_public(key)),
                    "kid": kid,
                    "alg": SIGNING_ALGORITHM,
                    "use": "sig",
                }
                for kid, key in self.keys.items()
            ]
        }

    def to_json(self) -> str:
        return json.dumps(self.jwks(), separators=(",", ":"))

    @classmethod
    def of(cls, keys: Iterable[SigningKey]) -> PublicKeySet:
        return cls({key.kid: key.public_key for key in keys})


def _jwk_list(raw: str, what: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise InvalidKey(f"{what} is not JSON (a JWK or a JWK set)") from exc
    if isinstance(document, dict) and "keys" in document:
        document = document["keys"]
    items = document if isinstance(document, list) else [document]
    if not items or not all(isinstance(item, dict) for item in items):
        raise InvalidKey(f"{what} holds no JSON Web Key")
    return items


def _kid(jwk: Mapping[str, Any], what: str) -> str:
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidKey(f"{what}: every key needs a `kid`")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise InvalidKey(f"{what}: key {kid} is not an Ed25519 (OKP) key")
    return kid


@lru_cache(maxsize=32)
def load_signing_keys(raw: str, what: str = "signing key") -> tuple[SigningKey, ...]:
    """Private JWKs (one, a list or a set); the first one signs."""
    keys: list[SigningKey] = []
    for jwk in _jwk_list(raw, what):
        kid = _kid(jwk, what)
        try:
            seed = _unb64(str(jwk["d"]))
            private_key = Ed25519PrivateKey.from_private_bytes(seed)
        except (KeyError, ValueError) as exc:
            raise InvalidKey(f"{what}: key {kid} has no valid private part `d`") from exc
        keys.append(SigningKey(kid, private_key))
    if len({key.kid for key in keys}) != len(keys):
        raise InvalidKey(f"{what}: two keys share a `kid`")
    return tuple(keys)


@lru_cache(maxsize=32)
def load_public_keys(raw: str, what: str = "public keys") -> PublicKeySet:
    """Public JWKs (one, a list or a set). A private part is refused: a verifier must not be
    able to sign."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in _jwk_list(raw, what):
        kid = _kid(jwk, what)
        if "d" in jwk:
            raise InvalidKey(f"{what}: key {kid} holds a private part; give only public keys")
        try:
            keys[kid] = Ed25519PublicKey.from_public_bytes(_unb64(str(jwk["x"])))
        except (KeyError, ValueError) as exc:
            raise InvalidKey(f"{what}: key {kid} has no valid public part `x`") from exc
    return PublicKeySet(keys)


def _dev_key(label: str) -> SigningKey:
    """A fixed, publicly known key: only ever used in RISKWATCH_DEV_MODE, refused outside it."""
    seed = hashlib.sha256(f"riskwatch-dev-mode-{label}".encode()).digest()
    return SigningKey(f"dev-{label}", Ed25519PrivateKey.from_private_bytes(seed))


DEV_IDENTITY_KEY = _dev_key("identity")
DEV_USER_TOKEN_KEY = _dev_key("user-token")
DEV_PUBLIC_KEYS = frozenset(
    _raw_public(key.public_key) for key in (DEV_IDENTITY_KEY, DEV_USER_TOKEN_KEY)
)


def is_dev_key(key: Ed25519PublicKey) -> bool:
    return _raw_public(key) in DEV_PUBLIC_KEYS


# --- identity tokens --------------------------------------------------------------------------


def mint_identity_token(identity: Identity, key: SigningKey, *, ttl_seconds: int = 60) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": IDENTITY_ISSUER,
        "aud": IDENTITY_AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "sub": identity.subject,
        "kind": identity.kind,
        "roles": list(identity.roles),
        "scopes": list(identity.scopes),
        "staff_id": identity.staff_id,
        "name": identity.name,
    }
    return jwt.encode(
        claims, key.private_key, algorithm=SIGNING_ALGORITHM, headers={"kid": key.kid}
    )


class VerifiedTokens:
    """Identities of tokens already verified, by (token, key set), until the token expires.

    The gateway reuses one minted token for many calls, and a service verifies it on each:
    the signature check and claim parsing are done once per token instead. Only the expiry is
    time-dependent (`iat`, `aud`, `iss` and the signature cannot change), and it is checked on
    every hit. Failures are never cached. Bounded: full, it starts afresh.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._entries: dict[tuple[str, str], tuple[Identity, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, keys: str) -> Identity | None:
        entry = self._entries.get((token, keys))
        if entry is None:
            return None
        if time.time() < entry[1]:  # PyJWT: expired once now >= exp
            return entry[0]
        self._entries.pop((token, keys), None)
        return None

    def put(self, token: str, keys: str, identity: Identity, expires_at: float) -> None:
        if len(self._entries) >= self.capacity:
            self._entries.clear()
        self._entries[(token, keys)] = (identity, expires_at)

    def clear(self) -> None:
        self._entries.clear()


VERIFIED_TOKENS = VerifiedTokens()


def public_key_for(token: str, keys: PublicKeySet) -> Ed25519PublicKey:
    """The key a token names in its header; an unknown `kid` or another algorithm is refused."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidIdentity(f"malformed token: {exc}") from exc
    if header.get("alg") != SIGNING_ALGORITHM:
        raise InvalidIdentity(f"tokens must be signed with {SIGNING_ALGORITHM}")
    kid = header.get("kid")
    key = keys.keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidIdentity("token signed by an unknown key")
    return key


def verify_identity_token(token: str, keys: PublicKeySet) -> Identity:
    fingerprint = keys.fingerprint
    identity = VERIFIED_TOKENS.get(token, fingerprint)
    if identity is not None:
        return identity
    public_key = public_key_for(token, keys)
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[SIGNING_ALGORITHM],
            audience=IDENTITY_AUDIENCE,
            issuer=IDENTITY_ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidIdentity(str(exc)) from exc
    identity = Identity(
        subject=claims["sub"],
        kind=claims.get("kind", "user"),
        roles=tuple(claims.get("roles") or ()),
        scopes=tuple(claims.get("scopes") or ()),
        staff_id=claims.get("staff_id"),
        name=claims.get("name"),
    )
    VERIFIED_TOKENS.put(token, fingerprint, identity, float(claims["exp"]))
    return identity
