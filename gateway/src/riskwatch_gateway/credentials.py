"""Passwords (argon2id) and API keys (`rw_<id>_<secret>`, stored as sha256) — pure."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "rw_"
_KEY_ID = re.compile(r"[0-9a-f]{1,32}")
_password_hasher = PasswordHasher()  # argon2id, 64 MiB, t=3: memory-hard by design
# Verified when the email is unknown, so a miss costs as much as a wrong password.
_DUMMY_HASH = _password_hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class ApiKeySecret:
    key_id: str
    secret: str

    @property
    def full(self) -> str:
        return f"{API_KEY_PREFIX}{self.key_id}_{self.secret}"


def new_api_key_id() -> str:
    return secrets.token_hex(8)


def new_api_key(key_id: str | None = None) -> ApiKeySecret:
    return ApiKeySecret(key_id or new_api_key_id(), secrets.token_urlsafe(32))


def parse_api_key(presented: str) -> ApiKeySecret | None:
    if not presented.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, secret = presented[len(API_KEY_PREFIX) :].partition("_")
    if not sep or not secret or not _KEY_ID.fullmatch(key_id):
        return None
    return ApiKeySecret(key_id, secret)


def hash_api_secret(secret: str) -> bytes:
    # The secret is 256 random bits: a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(secret.encode()).digest()


def api_secret_matches(secret: str, stored_hash: bytes | None) -> bool:
    if stored_hash is None:
        return False
    return hmac.compare_digest(hash_api_secret(secret), stored_hash)
