"""SMS length rules: GSM-7 (160 single / 153 per part) or UCS-2 (70 / 67), capped parts."""

from __future__ import annotations

from enum import StrEnum

# GSM 03.38 default alphabet (one septet each) and its extension table (two septets:
# escape + char). The escape character itself is not sendable text.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

DEFAULT_MAX_PARTS = 2


class SmsEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


_SINGLE_LIMIT = {SmsEncoding.GSM7: 160, SmsEncoding.UCS2: 70}
_PART_LIMIT = {SmsEncoding.GSM7: 153, SmsEncoding.UCS2: 67}
_ELLIPSIS = {SmsEncoding.GSM7: "...", SmsEncoding.UCS2: "…"}


def sms_encoding(text: str) -> SmsEncoding:
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        return SmsEncoding.GSM7
    return SmsEncoding.UCS2


def _unit_cost(ch: str, encoding: SmsEncoding) -> int:
    if encoding is SmsEncoding.GSM7:
        return 2 if ch in _GSM7_EXTENDED else 1
    return 2 if ord(ch) > 0xFFFF else 1  # astral characters take a UTF-16 surrogate pair


def _length_in_units(text: str, encoding: SmsEncoding) -> int:
    return sum(_unit_cost(ch, encoding) for ch in text)


def _part_count(text: str, encoding: SmsEncoding) -> int:
    if _length_in_units(text, encoding) <= _SINGLE_LIMIT[encoding]:
        return 1
    # Parts never split an escape sequence or a surrogate pair, so count greedily.
    parts, used, limit = 1, 0, _PART_LIMIT[encoding]
    for ch in text:
        cost = _unit_cost(ch, encoding)
        if used + cost > limit:
            parts, used = parts + 1, 0
        used += cost
    return parts


def sms_segments(text: str) -> int:
    """How many SMS parts `text` is billed as (an empty text is still one message)."""
    return _part_count(text, sms_encoding(text))


def fit_sms(text: str, max_parts: int = DEFAULT_MAX_PARTS, *, suffix: str = "") -> str:
    """`text + suffix` if it fits in `max_parts`, else `text` cut short with an ellipsis.

    `suffix` (a link, say) is kept whole; only `text` is shortened.
    """
    if max_parts < 1:
        raise ValueError("max_parts must be at least 1")
    encoding = sms_encoding(text + suffix)
    if _part_count(text + suffix, encoding) <= max_parts:
        return text + suffix
    ellipsis = _ELLIPSIS[encoding]

    def shortened(length: int) -> str:
        return text[:length].rstrip() + ellipsis + suffix

    low, high = 0, len(text)  # longest prefix of text that fits, found by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if _part_count(shortened(middle), encoding) <= max_parts:
            low = middle
        else:
            high = middle - 1
    return shortened(low)
