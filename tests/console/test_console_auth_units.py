"""The console's sign-in state, without processes: when a token is refreshed, what the cookie
keeps of an SSO sign-in under way, and the SSO settings that go together."""

from __future__ import annotations

import pytest

from riskwatch_console.config import Settings
from riskwatch_console.sessions import Session, SessionCodec


def test_a_token_is_refreshed_shortly_before_it_ends_and_only_with_a_refresh_token() -> None:
    session = Session(token="t", token_expires_at=1_000.0, refresh_token="rt_x")
    assert not session.wants_refresh(now=800.0, ahead_seconds=120)
    assert session.wants_refresh(now=881.0, ahead_seconds=120)
    assert session.wants_refresh(now=1_500.0, ahead_seconds=120)  # expired: still refreshable
    assert not session.signed_in(now=1_500.0)
    assert not Session(token="t", token_expires_at=1_000.0).wants_refresh(990.0, 120)
    assert not Session(refresh_token="rt_x").wants_refresh(990.0, 120)  # signed out


def test_the_cookie_keeps_the_refresh_token_and_the_sso_flow_but_sign_out_forgets_them() -> None:
    codec = SessionCodec(SessionCodec.generate_key(), max_age_seconds=3600)
    pending = {"state": "s", "nonce": "n", "verifier": "v", "next": "/desk"}
    session = Session(token="t", token_expires_at=9e9, refresh_token="rt_x", sso=pending)
    cookie = codec.encode(session)
    assert "rt_x" not in cookie
    assert "verifier" not in cookie
    assert codec.decode(cookie) == session
    signed_out = session.signed_out()
    assert signed_out.refresh_token is None
    assert signed_out.sso is None
    assert signed_out.token is None


def test_sso_settings_go_together_and_have_no_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_SESSION_KEY", SessionCodec.generate_key())
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"CONSOLE_OIDC_{name}", raising=False)
    assert not Settings().oidc_enabled
    assert Settings().secret_problems() == []
    monkeypatch.setenv("CONSOLE_OIDC_ISSUER", "https://sso.bank.example")
    monkeypatch.setenv("CONSOLE_OIDC_CLIENT_ID", "riskwatch-console")
    assert not Settings().oidc_enabled
    assert "go together" in Settings().secret_problems()[0]
    monkeypatch.setenv("CONSOLE_OIDC_CLIENT_SECRET", "a-client-secret")
    assert Settings().oidc_enabled
    assert Settings().secret_problems() == []
