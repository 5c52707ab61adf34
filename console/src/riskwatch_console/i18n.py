"""Languages: the gettext catalogues (zh_CN, en), the choice of one per request, and dates,
money and numbers written the way the reader's locale writes them (Babel). Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

LOCALES: tuple[str, ...] = ("en", "zh_CN")
DEFAULT_LOCALE = "en"
# What the language switch shows: each language in its own words.
LOCALE_NAMES = {"en": "English", "zh_CN": "简体中文"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def locale_of_tag(tag: str) -> str | None:
    """The catalogue for one BCP 47 tag (`zh-CN`, `zh-Hans`, `en-GB`...), None when we have
    none: every Chinese tag reads the simplified catalogue, the only Chinese one."""
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    if primary == "zh":
        return "zh_CN"
    if primary == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str:
    """The best of our locales for an Accept-Language header, by its q-values; else English."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = item.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag.strip() and quality > 0:
            weighted.append((-quality, position, tag))
    for _, _, tag in sorted(weighted):
        locale = locale_of_tag(tag)
        if locale is not None:
            return locale
    return DEFAULT_LOCALE


def chosen_locale(requested: str | None) -> str | None:
    """A locale someone picked (the language switch): ours, or None."""
    return requested if requested in LOCALES else None


@cache
def translations(locale: str) -> Translations:
    """The catalogue of a locale, compiled from its .po file when first needed (no compiled
    binary is committed)."""
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def parse_instant(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


class Formatter:
    """Dates (in UTC, said so), money, numbers and percentages for one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    @property
    def html_lang(self) -> str:
        return self.locale.replace("_", "-")

    def when(self, value: str | datetime | None) -> str:
        instant = parse_instant(value)
        if instant is None:
            return "" if value is None else str(value)
        written = format_datetime(instant, "medium", tzinfo=UTC, locale=self.locale)
        return f"{written} UTC"

    def day(self, value: str | datetime | None) -> str:
        instant = parse_instant(value)
        if instant is None:
            return "" if value is None else str(value)
        return format_date(instant.astimezone(UTC), "medium", locale=self.locale)

    def money(self, amount: object, currency: str | None) -> str:
        number = parse_decimal(amount)
        if number is None:
            return "" if amount is None else str(amount)
        if not currency:
            return self.number(number)
        return format_currency(number, currency, locale=self.locale)

    def number(self, value: object) -> str:
        number = parse_decimal(value)
        if number is None:
            return "" if value is None else str(value)
        return format_decimal(number, locale=self.locale)

    def percent(self, value: object) -> str:
        number = parse_decimal(value)
        if number is None:
            return "" if value is None else str(value)
        return format_percent(number, "#,##0.#%", locale=self.locale)


@cache
def formatter(locale: str) -> Formatter:
    return Formatter(locale)
