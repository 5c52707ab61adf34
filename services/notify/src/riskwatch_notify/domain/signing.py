"""Webhook signatures: HMAC-SHA256 over `f"{timestamp}.{body}"`, replay-safe.

Header format: `RiskWatch-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`; several
`v1` values let a sender sign with an old and a new secret during rotation.

Every webhook also carries the Standard Webhooks headers (https://www.standardwebhooks.com),
so a receiver can use any of that specification's libraries:
`webhook-id` (the message id, stable across retries), `webhook-timestamp` (unix seconds) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. Its key is the
UTF-8 bytes of the same signing secret: a Standard Webhooks library takes it as
`"whsec_" + base64(secret)` (see `standard_webhooks_secret`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "RiskWatch-Signature"
EVENT_ID_HEADER = "RiskWatch-Event-Id"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"


class SignatureVerificationError(ValueError):
    """The signature header is missing, malformed, stale or does not match."""


def _to_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def compute_signature(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """Hex HMAC-SHA256 of `b"<timestamp>." + body` under `secret`."""
    signed_payload = str(timestamp).encode() + b"." + body
    return hmac.new(_to_bytes(secret), signed_payload, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, timestamp: datetime) -> str:
    """The `RiskWatch-Signature` header value for `body` sent at `timestamp`."""
    unix_seconds = int(timestamp.timestamp())
    return f"t={unix_seconds},{SIGNATURE_SCHEME}={compute_signature(secret, body, unix_seconds)}"


def standard_webhooks_secret(secret: str | bytes) -> str:
    """The signing secret as a Standard Webhooks library expects it (`whsec_<base64>`)."""
    return "whsec_" + base64.b64encode(_to_bytes(secret)).decode()


def standard_webhooks_headers(
    secret: str | bytes, message_id: str, body: bytes, timestamp: datetime
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` for `body` (Standard Webhooks)."""
    unix_seconds = int(timestamp.timestamp())
    signed = f"{message_id}.{unix_seconds}.".encode() + body
    digest = hmac.new(_to_bytes(secret), signed, hashlib.sha256).digest()
    return {
        WEBHOOK_ID_HEADER: message_id,
        WEBHOOK_TIMESTAMP_HEADER: str(unix_seconds),
        WEBHOOK_SIGNATURE_HEADER: f"{SIGNATURE_SCHEME},{base64.b64encode(digest).decode()}",
    }


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureVerificationError("malformed signature header")
        if key == "t":
            if not value.isascii() or not value.isdigit():
                raise SignatureVerificationError("malformed timestamp")
            timestamp = int(value)
        elif key == SIGNATURE_SCHEME:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureVerificationError("signature header lacks t or v1")
    return timestamp, signatures


def verify(
    secret: str | bytes,
    body: bytes,
    header: str | None,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check `header` signs `body` within `tolerance_seconds` of `now`; return its timestamp.

    Raises SignatureVerificationError otherwise. Timestamps too far in the future are
    rejected like stale ones, so a captured request cannot be replayed later.
    """
    if not header:
        raise SignatureVerificationError("missing signature header")
    timestamp, signatures = _parse_header(header)
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise SignatureVerificationError("timestamp outside tolerance")
    expected = compute_signature(secret, body, timestamp).encode()
    # Check every candidate so timing does not reveal which one matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise SignatureVerificationError("signature mismatch")
    return timestamp
