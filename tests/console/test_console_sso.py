"""Sign-in with the bank's SSO (a real OpenID Connect provider over HTTPS on this machine)
through the console, over HTTP against the whole running system: the authorization-code flow
with PKCE, state and nonce; refusals (state, nonce, issuer, audience, expiry, signature, a
disabled user); a session that ends when the user is disabled; the API token refreshed while
the person is active, and the sign-in revoked at sign-out."""

from __future__ import annotations

import ssl
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from riskwatch_console.sessions import COOKIE_NAME, Session, SessionCodec
from riskwatch_shared.testing.oidc_provider import LocalIdp
from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

from .conftest import ConsoleBrowser, Person, create_person

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


async def at_provider(idp: LocalIdp, authorize_url: str, email: str) -> str:
    """The person at the provider's sign-in page: where the provider sends the browser back."""
    tls = ssl.create_default_context(cafile=idp.ca_file)
    async with httpx.AsyncClient(verify=tls, timeout=30) as provider:
        page = await provider.get(authorize_url)
        assert page.status_code == 200, page.text
        asked = {
            name: values[0] for name, values in parse_qs(urlsplit(authorize_url).query).items()
        }
        assert asked["code_challenge_method"] == "S256"
        assert asked["nonce"]
        assert asked["state"]
        fields = ("redirect_uri", "code_challenge", "nonce", "state")
        answer = await provider.post(
            f"{idp.issuer}/authorize", data={"email": email} | {k: asked[k] for k in fields}
        )
    assert answer.status_code == 302
    return answer.headers["location"]


async def sso_sign_in(
    browser: ConsoleBrowser, idp: LocalIdp, email: str, *, state: str | None = None
) -> httpx.Response:
    start = await browser.get("/sign-in/sso", next="/desk")
    assert start.status_code == 303, start.text
    authorize_url = start.headers["location"]
    assert authorize_url.startswith(f"{idp.issuer}/authorize?")
    callback = await at_provider(idp, authorize_url, email)
    if state is not None:
        parts = urlsplit(callback)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": state}
        callback = parts._replace(query=urlencode(query)).geturl()
    return await browser.get(callback)


def codec(system: RunningSystem) -> SessionCodec:
    return SessionCodec(system.stack.env["CONSOLE_SESSION_KEY"], max_age_seconds=3600)


def session_of(browser: ConsoleBrowser, system: RunningSystem) -> Session:
    session = codec(system).decode(browser.http.cookies.get(COOKIE_NAME))
    assert session is not None
    return session


def put_session(browser: ConsoleBrowser, system: RunningSystem, session: Session) -> None:
    browser.http.cookies.clear()
    # The console's host, as the cookie it sets names it (one cookie, replaced by the next).
    host = urlsplit(system.url("console")).hostname or ""
    browser.http.cookies.set(COOKIE_NAME, codec(system).encode(session), domain=host)


async def set_active(admin: RiskWatchClient, person: Person, active: bool) -> None:
    await admin.request("PATCH", f"/v1/users/{person.subject}", json={"active": active})


async def test_sign_in_with_the_banks_sso(
    browser: ConsoleBrowser, idp: LocalIdp, admin: RiskWatchClient, system: RunningSystem
) -> None:
    person = await create_person(admin, "analyst")
    form = await browser.get("/sign-in")
    assert "Sign in with Bank SSO" in form.text
    tokens_before = idp.token_requests
    done = await sso_sign_in(browser, idp, person.email)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/desk"
    assert idp.token_requests == tokens_before + 1  # the code redeemed with secret and PKCE
    desk = await browser.get("/desk")
    assert desk.status_code == 200
    assert "Sign out" in desk.text
    session = session_of(browser, system)
    assert session.subject == person.subject
    assert session.roles == ("analyst",)
    assert session.refresh_token is not None
    assert session.sso is None  # state, nonce and verifier are spent


async def test_an_answer_for_another_sign_in_is_refused(
    browser: ConsoleBrowser, idp: LocalIdp, admin: RiskWatchClient
) -> None:
    person = await create_person(admin, "analyst")
    wrong_state = await sso_sign_in(browser, idp, person.email, state="someone-elses-state")
    assert wrong_state.status_code == 400
    assert "Sign-in with SSO failed" in wrong_state.text
    assert (await browser.get("/desk")).status_code == 303
    # A code and state with no sign-in under way in this browser (a forged link).
    stray = await browser.get("/sign-in/sso/callback", code="abc", state="def")
    assert stray.status_code == 400
    assert (await browser.get("/desk")).status_code == 303


@pytest.mark.parametrize(
    "tamper",
    [
        {"nonce": "a-nonce-from-another-sign-in"},
        {"iss": "https://idp.elsewhere.example"},
        {"aud": "another-client"},
        {"exp": int(time.time()) - 600, "iat": int(time.time()) - 900},
        {"signing_key": rsa.generate_private_key(public_exponent=65537, key_size=2048)},
    ],
    ids=["nonce", "issuer", "audience", "expired", "signature"],
)
async def test_a_wrong_id_token_does_not_sign_in(
    browser: ConsoleBrowser, idp: LocalIdp, admin: RiskWatchClient, tamper: dict[str, Any]
) -> None:
    person = await create_person(admin, "analyst")
    idp.tamper = tamper
    try:
        refused = await sso_sign_in(browser, idp, person.email)
    finally:
        idp.tamper = {}
    assert refused.status_code == 400
    assert "Sign-in with SSO failed" in refused.text
    assert (await browser.get("/desk")).status_code == 303


async def test_a_disabled_user_cannot_sign_in_and_a_session_ends_when_disabled(
    browser: ConsoleBrowser, idp: LocalIdp, admin: RiskWatchClient
) -> None:
    disabled = await create_person(admin, "analyst")
    await set_active(admin, disabled, False)
    refused = await sso_sign_in(browser, idp, disabled.email)
    assert refused.status_code == 400
    assert (await browser.get("/desk")).status_code == 303

    person = await create_person(admin, "analyst")
    assert (await sso_sign_in(browser, idp, person.email)).status_code == 303
    assert (await browser.get("/desk")).status_code == 200
    await set_active(admin, person, False)
    ended = await browser.get("/desk")
    assert ended.status_code == 303
    assert urlsplit(ended.headers["location"]).path == "/sign-in"
    # The refresh token could not bring the session back either: it is gone from the cookie.
    assert (await browser.get("/desk")).status_code == 303


async def refresh_status(system: RunningSystem, refresh_token: str) -> int:
    async with httpx.AsyncClient(base_url=system.gateway, timeout=30) as gateway:
        response = await gateway.post("/v1/auth/refresh", json={"refresh_token": refresh_token})
    return response.status_code


async def test_an_active_person_stays_signed_in_and_sign_out_revokes(
    browser: ConsoleBrowser, idp: LocalIdp, admin: RiskWatchClient, system: RunningSystem
) -> None:
    person = await create_person(admin, "analyst")
    assert (await sso_sign_in(browser, idp, person.email)).status_code == 303
    signed = session_of(browser, system)
    # The API token is about to end (15 minutes after the sign-in, here in a few seconds):
    # the next page gets a new one, and the next refresh token, without asking anybody.
    put_session(browser, system, replace(signed, token_expires_at=time.time() + 3))
    desk = await browser.get("/desk")
    assert desk.status_code == 200
    refreshed = session_of(browser, system)
    assert refreshed.refresh_token not in (None, signed.refresh_token)
    assert refreshed.token_expires_at > time.time() + 600
    assert refreshed.csrf == signed.csrf  # forms already open still post
    # The API refuses the token it holds (here: a token it never issued): one refresh, the
    # page is shown all the same.
    put_session(browser, system, replace(refreshed, token="not-a-token-" + "x" * 40))
    assert (await browser.get("/desk")).status_code == 200
    latest = session_of(browser, system)
    assert latest.token is not None
    assert latest.token.startswith("eyJ")
    assert latest.refresh_token not in (None, refreshed.refresh_token)

    await browser.get("/desk")
    signed_out = await browser.post("/sign-out", {})
    assert signed_out.status_code == 303
    assert (await browser.get("/desk")).status_code == 303
    # Signed out for good: the gateway refuses that sign-in's refresh tokens, even the newest.
    assert await refresh_status(system, latest.refresh_token) == 401
