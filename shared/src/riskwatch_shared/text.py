"""Text and numbers that are safe to store and show: the types every request schema uses. Pure.

`SafeText` refuses NUL, every other C0/C1 control character and the bidi overrides/isolates
that make a name read differently from what it is (U+202A-U+202E, U+2066-U+2069); it keeps
every script (CJK, Arabic, accents, emoji). `SafeMultilineText` allows tab, newline and
carriage return too, for notes and descriptions. Integers and decimals are bounded to what the
PostgreSQL columns holding them can store, so an oversized number is a 422, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, Field, model_validator

_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_SINGLE_LINE_REFUSED = re.compile(f"[{_CONTROLS}\t\n\r{_BIDI}]")
_MULTILINE_REFUSED = re.compile(f"[{_CONTROLS}{_BIDI}]")

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def unsafe_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character `value` may not hold (NUL, a control, a bidi override), or None."""
    found = (_MULTILINE_REFUSED if multiline else _SINGLE_LINE_REFUSED).search(value)
    return found.group() if found else None


def _check(value: str, *, multiline: bool) -> str:
    bad = unsafe_character(value, multiline=multiline)
    if bad is not None:
        raise ValueError(f"must not contain control or bidi-override characters (U+{ord(bad):04X})")
    return value


def check_single_line(value: str) -> str:
    return _check(value, multiline=False)


def check_multiline(value: str) -> str:
    return _check(value, multiline=True)


SafeText = Annotated[str, AfterValidator(check_single_line)]
"""One line of text: no control characters (not even tab or newline), no bidi overrides."""

SafeMultilineText = Annotated[str, AfterValidator(check_multiline)]
"""Text over several lines: tab, LF and CR allowed; other controls and bidi overrides not."""

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
"""An integer an `INTEGER` column holds."""

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer a `BIGINT` column holds."""

NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
NonNegativeInt64 = Annotated[int, Field(ge=0, le=INT64_MAX)]


def numeric_bound(precision: int, scale: int) -> Decimal:
    """The largest magnitude a `NUMERIC(precision, scale)` column stores (rounded to scale)."""
    return Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)


def bounded_decimal(precision: int, scale: int) -> object:
    """`Field` constraints keeping a Decimal within `NUMERIC(precision, scale)`."""
    bound = numeric_bound(precision, scale)
    return Field(ge=-bound, le=bound, allow_inf_nan=False)


def explicit_nulls(values: Mapping[str, object], nullable: Iterable[str]) -> list[str]:
    """The fields a PATCH body sets to `null` that may not be null (cannot be cleared). Pure."""
    allowed = frozenset(nullable)
    return sorted(name for name, value in values.items() if value is None and name not in allowed)


class PatchBody(BaseModel):
    """A PATCH body: a field left out stays as it is; `null` clears a field only when it is in
    `NULLABLE` (a column that may be empty); for any other field `null` is a 422."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            refused = explicit_nulls(data, cls.NULLABLE)
            if refused:
                raise ValueError(
                    f"may not be null (leave the field out instead): {', '.join(refused)}"
                )
        return data
