"""English plurals in reason messages ("1 payment 90+ days late", "3 missed payments"), as
gettext's ngettext chooses them: one form for exactly 1, the other for every other count. The
Chinese words of each reason come from its code (`riskwatch_shared.messages.REASON_WORDS`).
Pure: no I/O.

A template writes a choice as `{one|other}`: "{value} {payment|payments} 90+ days late".
"""

from __future__ import annotations

import re
from typing import Any

_CHOICE = re.compile(r"\{([^{}|:]*)\|([^{}|:]*)\}")


def _is_one(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return float(value) == 1
    except (TypeError, ValueError):
        return False


def choose_plural(template: str, value: Any) -> str:
    """`template` with each `{one|other}` choice made for `value`; the rest left as it is."""
    index = 1 if _is_one(value) else 2
    return _CHOICE.sub(lambda match: match.group(index), template)


def counted(count: int, one: str, other: str) -> str:
    """ "1 complaint", "3 complaints"."""
    return f"{count} {one if count == 1 else other}"
