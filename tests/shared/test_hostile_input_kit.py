"""The kit's defences against hostile input: the safe text type, bounded numbers, PATCH nulls,
the catch-all problem+json answer, security headers, masking and the log scrubber."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Annotated

import asyncpg
import httpx
import pytest
import structlog
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from riskwatch_shared.db.session import create_engine
from riskwatch_shared.errors import install_problem_handlers
from riskwatch_shared.headers import SecurityHeadersMiddleware, security_headers
from riskwatch_shared.logging import (
    ScrubbingFilter,
    configure_logging,
    scrub_personal_data,
    scrub_text,
)
from riskwatch_shared.masking import mask_ip, mask_mapping, mask_named_values
from riskwatch_shared.observability import RequestContextMiddleware
from riskwatch_shared.text import (
    INT32_MAX,
    Int32,
    PatchBody,
    SafeMultilineText,
    SafeText,
    bounded_decimal,
    unsafe_character,
)


class Named(BaseModel):
    name: SafeText
    note: SafeMultilineText = ""
    count: Int32 = 0
    amount: Annotated[Decimal, bounded_decimal(20, 4)] = Decimal(0)


@pytest.mark.parametrize(
    "bad",
    ["a\x00b", "\x07bell", "esc\x1b[31m", "del\x7f", "c1\x85", "\u202eevil", "iso\u2066x\u2069"],
)
def test_safe_text_refuses_nul_controls_and_bidi_overrides(bad: str) -> None:
    with pytest.raises(ValidationError, match="control or bidi"):
        Named(name=bad)
    with pytest.raises(ValidationError, match="control or bidi"):
        Named(name="ok", note=bad)


@pytest.mark.parametrize("good", ["张伟", "Zoë O'Brien", "محمد", "Ünal & Söhne GmbH", "🙂"])
def test_safe_text_keeps_every_script(good: str) -> None:
    assert Named(name=good).name == good


def test_only_multiline_text_takes_tabs_and_newlines() -> None:
    assert Named(name="x", note="line 1\r\nline 2\tend").note == "line 1\r\nline 2\tend"
    with pytest.raises(ValidationError):
        Named(name="line 1\nline 2")


@given(st.text())
def test_unsafe_character_finds_exactly_the_refused_ones(text: str) -> None:
    refused = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} | {
        chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    }
    assert (unsafe_character(text) is None) == (not refused.intersection(text))


def test_numbers_are_bounded_to_their_columns() -> None:
    assert Named(name="x", count=INT32_MAX).count == INT32_MAX
    with pytest.raises(ValidationError):
        Named(name="x", count=INT32_MAX + 1)
    assert Named(name="x", amount=Decimal("9999999999999999.9999")).amount
    for amount in ("10000000000000000", "NaN", "Infinity"):
        with pytest.raises(ValidationError):
            Named(name="x", amount=Decimal(amount))


class Patch(PatchBody):
    NULLABLE = frozenset({"phone"})
    name: str | None = None
    phone: str | None = None


def test_patch_body_refuses_null_for_a_field_that_cannot_be_cleared() -> None:
    assert Patch.model_validate({"phone": None}).model_fields_set == {"phone"}
    assert Patch.model_validate({}).model_fields_set == set()
    with pytest.raises(ValidationError, match="may not be null"):
        Patch.model_validate({"name": None})


# --- catch-all, NUL in the request line, security headers ----------------------------------


def _app(*, dev_mode: bool = False) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("customer ada@example.com has document X1234567")

    @app.get("/too-big")
    async def too_big() -> dict[str, str]:
        raise asyncpg.NumericValueOutOfRangeError("integer out of range")

    @app.get("/echo")
    async def echo(q: str = "") -> dict[str, str]:
        return {"q": q}

    app.add_middleware(RequestContextMiddleware, service="test")
    app.add_middleware(SecurityHeadersMiddleware, dev_mode=dev_mode)
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_an_unexpected_error_is_a_problem_500_that_reveals_nothing() -> None:
    async with _client(_app()) as client:
        response = await client.get("/boom", headers={"x-request-id": "req-123"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Internal server error"
    assert body["request_id"] == "req-123" == response.headers["x-request-id"]
    assert "ada@" not in response.text
    assert "X1234567" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_value_the_database_refuses_is_a_422_and_nul_in_the_query_a_400() -> None:
    async with _client(_app()) as client:
        refused = await client.get("/too-big")
        nul = await client.get("/echo?q=a%00b")
        fine = await client.get("/echo?q=%E5%BC%A0")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "integer out of range" not in refused.text
    assert nul.status_code == 400
    assert fine.json() == {"q": "张"}


async def test_security_headers_on_every_response() -> None:
    async with _client(_app()) as client:
        ok = await client.get("/echo")
        missing = await client.get("/nowhere")
    for response in (ok, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["cache-control"] == "no-store"
    async with _client(_app(dev_mode=True)) as client:
        dev = await client.get("/echo")
    assert "strict-transport-security" not in dev.headers


def test_headers_already_set_and_streams_are_respected() -> None:
    names = {
        name for name, _ in security_headers(path="/x", content_type="text/csv", dev_mode=True)
    }
    assert b"cache-control" not in names  # a CSV download or an event stream sets its own
    assert b"x-frame-options" in names


# --- masking and logs ----------------------------------------------------------------------


def test_account_numbers_and_ips_are_masked_wherever_they_sit() -> None:
    evidence = {
        "txn.amount": "75000",
        "txn.counterparty_account": "GB29NWBK60161331926819",
        "txn.ip": "192.0.2.10",
        "nested": {"ip_address": "2001:db8::1", "counterparty_account": None},
    }
    assert mask_mapping(evidence) == {
        "txn.amount": "75000",
        "txn.counterparty_account": "****6819",
        "txn.ip": "192.0.*.*",
        "nested": {"ip_address": "2001:db8:*", "counterparty_account": None},
    }
    summary = "txn.amount > 1 held (txn.amount = 75000, txn.counterparty_account = DE1234567890)"
    assert mask_named_values(summary) == (
        "txn.amount > 1 held (txn.amount = 75000, txn.counterparty_account = ****7890)"
    )
    assert mask_ip("not an ip") == "****"


def test_the_scrubber_masks_personal_data_and_keeps_ids() -> None:
    line = (
        "customer 550e8400-e29b-41d4-a716-446655440000 ada@example.com +44 20 7946 0958 "
        "doc AB1234567 iban GB29NWBK60161331926819 from 192.0.2.10 / 2001:db8::1 "
        "at 2026-12-06 03:54:23 request 0123456789abcdef0123456789abcdef"
    )
    scrubbed = scrub_text(line)
    for secret in ("ada@", "7946", "AB1234567", "60161331926819", "192.0.2.10", "2001:db8"):
        assert secret not in scrubbed
    assert "550e8400-e29b-41d4-a716-446655440000" in scrubbed
    assert "0123456789abcdef0123456789abcdef" in scrubbed
    assert "2026-12-06 03:54:23" in scrubbed


def test_log_events_and_stdlib_records_are_scrubbed() -> None:
    configure_logging("test", level="WARNING", json=True)
    processors = structlog.get_config()["processors"]
    assert processors.index(scrub_personal_data) == len(processors) - 2  # before rendering
    event = {"event": "failed", "detail": ["(passport, X99887766)", {"to": "ada@example.com"}]}
    assert scrub_personal_data(None, "warning", event) == {
        "event": "failed",
        "detail": ["(passport, <number>)", {"to": "<email>"}],
    }
    assert any(
        isinstance(f, ScrubbingFilter) for h in logging.getLogger().handlers for f in h.filters
    )
    record = logging.LogRecord(
        "sqlalchemy", logging.ERROR, __file__, 1, "key %s exists", ("ada@example.com",), None
    )
    ScrubbingFilter().filter(record)
    assert record.getMessage() == "key <email> exists"


def test_engines_hide_sql_parameters() -> None:
    engine = create_engine("postgresql+asyncpg://u:p@localhost/db")
    assert engine.sync_engine.hide_parameters is True
