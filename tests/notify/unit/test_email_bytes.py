"""The hand-written email bytes parse back to exactly what was rendered."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Literal
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from riskwatch_notify.channels.email import build_email, encode_header_value
from riskwatch_notify.domain.models import Channel, OutboundMessage

# Header text: any printable characters (CJK, emoji, punctuation), no line breaks.
NO_CONTROLS: tuple[Literal["Cc", "Cs", "Zl", "Zp"], ...] = ("Cc", "Cs", "Zl", "Zp")
header_text = st.text(
    st.characters(blacklist_categories=NO_CONTROLS), min_size=1, max_size=200
).filter(lambda s: s.strip() == s and "  " not in s)
SURROGATES: tuple[Literal["Cs"], ...] = ("Cs",)
body_text = st.text(st.characters(blacklist_categories=SURROGATES), max_size=2000)


def parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@given(header_text)
def test_subjects_round_trip(subject: str) -> None:
    message = OutboundMessage(uuid4(), Channel.EMAIL, "a@bank.example", subject, "x")
    parsed = parse(build_email(message, "riskwatch@bank.example").data)
    assert parsed["Subject"] == subject


@given(st.text(max_size=100))
def test_header_values_never_carry_a_bare_line_break(value: str) -> None:
    encoded = encode_header_value(value)
    assert "\n" not in encoded.replace("\r\n ", "")
    assert "\r" not in encoded.replace("\r\n ", "")


@given(body_text, body_text)
def test_text_and_html_bodies_round_trip(text: str, html: str) -> None:
    message = OutboundMessage(uuid4(), Channel.EMAIL, "a@bank.example", "S", text, html)
    built = build_email(message, "riskwatch@bank.example")
    parsed = parse(built.data)
    assert parsed["Message-ID"] == built.message_id
    plain, rich = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content() == text
    assert rich.get_content() == html
