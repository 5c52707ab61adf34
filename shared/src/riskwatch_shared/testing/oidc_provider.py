"""A small but real OpenID Connect provider for tests, served over HTTPS on loopback (its own
self-signed CA, which the clients are told to trust): discovery document, JWKS, an
authorization endpoint with a sign-in form, and a token endpoint that checks the client's
secret, the code's redirect URI and the PKCE verifier before it issues an RS256 id_token.

`tamper` changes what the next id_tokens say (another nonce, issuer or audience, an expiry in
the past, a foreign signing key), so tests can watch the clients refuse them."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import html
import ipaddress
import json
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

LOOPBACK = "127.0.0.1"


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    email: str
    issued_at: float


@dataclass
class LocalIdp:
    """The provider's state; `issuer` and `ca_file` are set once it is served."""

    client_id: str = "riskwatch-console"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    issuer: str = ""
    ca_file: str = ""
    # Claims the next id_tokens get instead of the right ones; "signing_key" signs with
    # another key (same kid): a forgery.
    tamper: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, PendingCode] = field(default_factory=dict)
    token_requests: int = 0

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [public]}

    def id_token(self, *, email: str, nonce: str, sub: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub or "idp|" + hashlib.sha256(email.encode()).hexdigest()[:16],
            "email": email,
            "email_verified": True,
            "nonce": nonce,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        overrides = dict(self.tamper)
        signing_key = overrides.pop("signing_key", self.key)
        body.update(overrides)
        return jwt.encode(body, signing_key, algorithm="RS256", headers={"kid": self.kid})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize_form, methods=["GET"]),
                Route("/authorize", self._authorize, methods=["POST"]),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    async def _discovery(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def _jwks(self, _: Request) -> Response:
        return JSONResponse(self.jwks())

    async def _authorize_form(self, request: Request) -> Response:
        """The provider's sign-in page: who are you (a test provider believes the answer)."""
        query = request.query_params
        problems = [
            name
            for name, ok in (
                ("client_id", query.get("client_id") == self.client_id),
                ("response_type", query.get("response_type") == "code"),
                ("code_challenge_method", query.get("code_challenge_method") == "S256"),
                ("code_challenge", bool(query.get("code_challenge"))),
                ("nonce", bool(query.get("nonce"))),
                ("state", bool(query.get("state"))),
                ("redirect_uri", bool(query.get("redirect_uri"))),
                ("scope", "openid" in (query.get("scope") or "").split()),
            )
            if not ok
        ]
        if problems:
            return HTMLResponse(f"bad request: {', '.join(problems)}", status_code=400)
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(query[name])}">'
            for name in ("redirect_uri", "code_challenge", "nonce", "state")
        )
        page = (
            "<!doctype html><title>Bank SSO</title><h1>Bank SSO</h1>"
            f'<form method="post" action="/authorize">{hidden}'
            '<label>Email <input name="email" type="email" required></label>'
            '<button type="submit">Continue</button></form>'
        )
        return HTMLResponse(page)

    async def _authorize(self, request: Request) -> Response:
        form = await request.form()
        values = {name: str(form.get(name) or "") for name in form}
        code = secrets.token_urlsafe(24)
        self.codes[code] = PendingCode(
            client_id=self.client_id,
            redirect_uri=values["redirect_uri"],
            code_challenge=values["code_challenge"],
            nonce=values["nonce"],
            email=values["email"],
            issued_at=time.time(),
        )
        target = values["redirect_uri"] + "?" + urlencode({"code": code, "state": values["state"]})
        return RedirectResponse(target, status_code=302)

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = {name: str(value) for name, value in (await request.form()).items()}
        if not self._client_authenticated(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        pending = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            form.get("grant_type") != "authorization_code"
            or pending is None
            or time.time() - pending.issued_at > 60
            or pending.redirect_uri != form.get("redirect_uri")
            or not secrets.compare_digest(challenge, pending.code_challenge)
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        id_token = self.id_token(email=pending.email, nonce=pending.nonce)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )


def _self_signed(folder: Path, key: rsa.RSAPrivateKey) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, its own CA (the clients trust this file)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RiskWatch test IdP")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "idp.pem", folder / "idp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextlib.contextmanager
def running_idp(idp: LocalIdp | None = None) -> Iterator[LocalIdp]:
    """The provider on a free loopback port over HTTPS, in a thread of its own (so processes
    and browsers started by the test can use it as well as the test's own event loop)."""
    provider = idp or LocalIdp()
    with tempfile.TemporaryDirectory(prefix="rw-idp-") as folder:
        tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert_file, key_file = _self_signed(Path(folder), tls_key)
        config = uvicorn.Config(
            provider.app(),
            host=LOOPBACK,
            port=0,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(cert_file),
            ssl_keyfile=str(key_file),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="test-idp", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test IdP did not start")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        provider.issuer = f"https://{LOOPBACK}:{port}"
        provider.ca_file = str(cert_file)
        try:
            yield provider
        finally:
            server.should_exit = True
            thread.join(timeout=10)
