# ruff: noqa: RUF001
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_notify.domain.sms_text import SmsEncoding, fit_sms, sms_encoding, sms_segments


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets each
        ("€" * 81, 2),
        ("预" * 70, 1),
        ("预" * 71, 2),
        ("预" * 134, 2),
        ("预" * 135, 3),
        ("😀" * 35, 1),  # astral characters are UTF-16 surrogate pairs
        ("😀" * 36, 2),
    ],
)
def test_segment_counts(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_encoding_detection() -> None:
    assert sms_encoding("Hello [World] €5 @ Ødegaard") is SmsEncoding.GSM7
    assert sms_encoding("客户：张伟") is SmsEncoding.UCS2
    assert sms_encoding("naïve") is SmsEncoding.UCS2  # ï is not in GSM 03.38


def test_parts_do_not_split_an_escape_sequence() -> None:
    # 152 plain chars then '€' (2 septets) cannot fit in part one: 3 septets spill over.
    text = "a" * 152 + "€" + "a" * 152
    assert sms_segments(text) == 3


def test_fit_keeps_short_text_and_cuts_long_text_with_an_ellipsis() -> None:
    assert fit_sms("short") == "short"
    cut = fit_sms("word " * 100)
    assert cut.endswith("...")
    assert sms_segments(cut) == 2
    chinese = fit_sms("预警" * 100)
    assert chinese.endswith("…")
    assert len(chinese) == 134


def test_fit_keeps_the_suffix_whole() -> None:
    url = " https://riskwatch.example/alerts/42"
    cut = fit_sms("交易异常 " * 60, suffix=url)
    assert cut.endswith("…" + url)
    assert sms_segments(cut) <= 2


@given(text=st.text(max_size=600), max_parts=st.integers(min_value=1, max_value=4))
def test_fitted_text_always_fits_and_is_a_prefix(text: str, max_parts: int) -> None:
    fitted = fit_sms(text, max_parts)
    assert sms_segments(fitted) <= max_parts
    if fitted != text:
        ellipsis = "..." if sms_encoding(text) is SmsEncoding.GSM7 else "…"
        assert fitted.endswith(ellipsis)
        assert text.startswith(fitted.removesuffix(ellipsis))
