"""What the API says in codes, as an analyst reads it in their language: an alert's title and
summary from its message code, reasons with their advice, evidence and scores by field name,
timeline details. Pure: no I/O.

The kit's message catalogue (`riskwatch_shared.messages`, the words notify and the case report
use too) has the alert titles, the reason sentences and the evidence fields in English and
Chinese; every other code goes through the console's own labels (gettext), and a code nobody
has named yet is shown humanised ("customer.days_overdue" -> "Days overdue"), never raw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from riskwatch_console.i18n import Formatter, parse_decimal
from riskwatch_shared.messages import REASON_WORDS, evidence_item, message_for, written

Label = Callable[[object], str]
_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\Z")

# A rule whose words are the user's own: its stored title and summary are what it says.
CUSTOM_TEXT_CODE = "alert.custom_text"
# Timeline details that are plumbing, not news for an analyst.
HIDDEN_DETAIL = frozenset(
    {"event_id", "trace_id", "transaction_id", "id", "contact_id", "measure_id", "interaction_id"}
)
# Detail and evidence values that are themselves codes (a channel, an outcome...).
CODED_VALUES = frozenset(
    {"channel", "outcome", "kind", "status", "severity", "event_type", "direction", "level"}
)


def shared_locale(locale: str) -> str:
    """The kit's locale name for a console locale (`zh_CN` -> `zh-CN`)."""
    return locale.replace("_", "-")


def humanised(code: str) -> str:
    """A code nobody has named, readable: its last dotted part, words, capitalised. Text that
    is not a code (a name, a sentence) is left as it is."""
    if not _CODE.match(code):
        return code
    words = code.rsplit(".", 1)[-1].replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else code


def alert_words(alert: Mapping[str, Any], locale: str) -> tuple[str, str]:
    """(title, summary) of an alert in `locale`, from its message code and parameters; the
    stored (English) words when the code is the user's own or unknown."""
    title, summary = str(alert.get("title") or ""), str(alert.get("summary") or "")
    code = alert.get("message_code")
    message = None if code == CUSTOM_TEXT_CODE else message_for(code if code else None)
    params = alert.get("message_params")
    if message is None or not isinstance(params, Mapping):
        return title, summary
    where = shared_locale(locale)
    return message.render_title(params, where), message.render_summary(params, where)


@dataclass(frozen=True, slots=True)
class ReasonShown:
    message: str
    advice: str | None


def reason_words(reason: Mapping[str, Any] | str, locale: str) -> ReasonShown:
    """One reason's sentence and advice in `locale`: Chinese from its code (with the value it
    read), English as scoring wrote it."""
    if isinstance(reason, str):
        return ReasonShown(reason, None)
    message = str(reason.get("message") or humanised(str(reason.get("code") or "")))
    advice = reason.get("advice")
    words = REASON_WORDS.get(str(reason.get("code")))
    if locale == "zh_CN" and words is not None:
        params = reason.get("params") or {}
        value = params.get("value", reason.get("value")) if isinstance(params, Mapping) else None
        shown = "" if value is None else written(words.kind, value, {}, "zh-CN")
        return ReasonShown(words.zh.replace("{value}", shown), words.advice_zh if advice else None)
    message = message[:1].upper() + message[1:]
    return ReasonShown(message, str(advice) if advice else None)


def _value(key: str, value: Any, label: Label, fmt: Formatter, currency: str | None) -> str:
    if isinstance(value, bool):
        return label("yes" if value else "no")
    if key.rsplit(".", 1)[-1] in CODED_VALUES or key.endswith("_level"):
        return label(value)
    if "amount" in key and currency and parse_decimal(value) is not None:
        return fmt.money(value, currency)
    if isinstance(value, int | float):
        return fmt.number(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


def field_rows(
    fields: Mapping[str, Any], locale: str, label: Label, fmt: Formatter
) -> list[tuple[str, str]]:
    """(name, value) rows of an alert's evidence or scores, in `locale`: the kit's names for
    the rule fields it knows, the console's labels for the rest."""
    currency = fields.get("currency") or fields.get("txn.currency")
    rows = []
    for key, value in fields.items():
        known = evidence_item(key, value, shared_locale(locale))
        if known is not None:
            rows.append(known)
            continue
        if key.endswith("_pd") or key.endswith("probability"):
            shown = fmt.percent(value)
        else:
            shown = _value(key, value, label, fmt, str(currency) if currency else None)
        rows.append((label(key), shown))
    return rows


def detail_rows(detail: Mapping[str, Any], label: Label, fmt: Formatter) -> list[tuple[str, str]]:
    """A timeline entry's details worth reading, named and written in the reader's words."""
    currency = detail.get("currency")
    return [
        (label(key), _value(key, value, label, fmt, str(currency) if currency else None))
        for key, value in detail.items()
        if key not in HIDDEN_DETAIL and value not in (None, "", [], {})
    ]
