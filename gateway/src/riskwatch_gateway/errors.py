"""The gateway's expected errors (rendered as problem+json)."""

from __future__ import annotations

import math

from riskwatch_shared.errors import Conflict, NotFound, ServiceError


class UserNotFound(NotFound):
    title = "User not found"


class ApiKeyNotFound(NotFound):
    title = "API key not found"


class EmailTaken(Conflict):
    title = "Email already in use"


class LastAdmin(Conflict):
    title = "The last active admin cannot be removed"


class SignInFailed(ServiceError):
    status_code = 401
    title = "Sign-in failed"
    type_slug = "sign-in-failed"


class SsoNotConfigured(NotFound):
    title = "OIDC sign-in not configured"


class RateLimited(ServiceError):
    status_code = 429
    title = "Too many requests"
    type_slug = "rate-limited"

    def __init__(self, retry_after_seconds: float) -> None:
        # A limit of zero never refills: tell the caller to come back in an hour.
        self.retry_after = max(1, math.ceil(min(retry_after_seconds, 3600.0)))
        super().__init__(f"rate limit exceeded; retry in {self.retry_after} s")


class AuditUnavailable(ServiceError):
    """Refused rather than served unaudited."""

    status_code = 503
    title = "Audit log unavailable"
    type_slug = "audit-unavailable"
