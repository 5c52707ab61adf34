"""Opaque cursors for keyset pagination on (timestamp, id). Pure."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from riskwatch_shared.text import INT64_MAX

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class InvalidCursor(ValueError):
    pass


def encode_cursor(at: datetime, row_id: UUID | int) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (timestamp, id) a cursor points after. Raises InvalidCursor on anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, _, row_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("cursor is not valid") from exc
    if at.tzinfo is None or not _is_row_id(row_id):
        raise InvalidCursor("cursor is not valid")
    return at, row_id


def _is_row_id(text: str) -> bool:
    """A UUID or a BIGINT identity (what the paged tables' ids are)."""
    if text.isascii() and text.isdigit() and len(text) <= 19:
        return int(text) <= INT64_MAX
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def cursor_after(cursor: str, id_type: Callable[[str], Any]) -> tuple[datetime, Any]:
    """The (timestamp, id) a cursor points after, its id as `id_type` (the listed table's)."""
    at, row_id = decode_cursor(cursor)
    try:
        return at, id_type(row_id)
    except ValueError as exc:
        raise InvalidCursor("cursor is not valid for this list") from exc
