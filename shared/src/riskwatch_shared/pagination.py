"""Opaque keyset cursors, one format for every list of every service. Pure.

A cursor names the last row of a page: its sort time and id (`encode_cursor`), or its
sequence number (`encode_seq_cursor`), base64url without padding. A list with more than one
sort order tags the cursors of the other orders, so a cursor is never continued in the wrong
one. A list keyed by an id and a short name (one row per customer and indicator) adds the
name as a third part (`encode_keyed_cursor`). Anything else a caller sends is an
`InvalidCursor`, which each service answers as its own 422.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from riskwatch_shared.text import INT64_MAX

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

IdT = TypeVar("IdT")


class InvalidCursor(ValueError):
    """A cursor this kit did not write (tampered, truncated or of another list)."""


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("cursor is not valid") from exc


def parse_int64(text: str) -> int | None:
    """A non-negative BIGINT written in ASCII digits, or None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > INT64_MAX:
        return None
    return int(text)


def _is_row_id(text: str) -> bool:
    """A UUID or a BIGINT identity (what the paged tables' ids are)."""
    if parse_int64(text) is not None:
        return True
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def encode_cursor(at: datetime, row_id: uuid.UUID | int, *, sort: str = "") -> str:
    """The cursor after a row sorted by (`at`, `row_id`); `sort` tags a list's other orders."""
    prefix = f"{sort}|" if sort else ""
    return _encode(f"{prefix}{at.isoformat()}|{row_id}")


def decode_cursor(cursor: str, *, sort: str = "") -> tuple[datetime, str]:
    """The (time, id) a cursor of the order `sort` points after; InvalidCursor otherwise."""
    text = _decode(cursor)
    if sort:
        if not text.startswith(f"{sort}|"):
            raise InvalidCursor("cursor belongs to another sort")
        text = text.removeprefix(f"{sort}|")
    at_text, _, row_id = text.partition("|")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError as exc:
        raise InvalidCursor("cursor is not valid") from exc
    if at.tzinfo is None or not _is_row_id(row_id):
        raise InvalidCursor("cursor is not valid")
    return at, row_id


def cursor_after(
    cursor: str, id_type: Callable[[str], IdT], *, sort: str = ""
) -> tuple[datetime, IdT]:
    """The (time, id) a cursor points after, its id as `id_type` (the listed table's)."""
    at, row_id = decode_cursor(cursor, sort=sort)
    try:
        return at, id_type(row_id)
    except ValueError as exc:
        raise InvalidCursor("cursor is not valid for this list") from exc


def _is_key(text: str) -> bool:
    return 0 < len(text) <= 100 and text.isascii() and all(c.isalnum() or c in "_-." for c in text)


def encode_keyed_cursor(at: datetime, row_id: uuid.UUID | int, key: str) -> str:
    """The cursor after a row sorted by (`at`, `row_id`, `key`): for tables whose rows are
    one per id and name (`key`: letters, digits, `_-.`)."""
    if not _is_key(key):
        raise ValueError(f"not a cursor key: {key!r}")
    return _encode(f"{at.isoformat()}|{row_id}|{key}")


def keyed_cursor_after(cursor: str, id_type: Callable[[str], IdT]) -> tuple[datetime, IdT, str]:
    """The (time, id, key) a keyed cursor points after; a plain cursor is not one."""
    head, _, key = _decode(cursor).rpartition("|")
    if not head or not _is_key(key):
        raise InvalidCursor("cursor is not valid")
    at, row_id = cursor_after(_encode(head), id_type)
    return at, row_id, key


def encode_seq_cursor(seq: int) -> str:
    """The cursor after the row with this sequence number (a BIGINT identity)."""
    return _encode(f"seq:{seq}")


def decode_seq_cursor(cursor: str) -> int:
    prefix, _, value = _decode(cursor).partition(":")
    seq = parse_int64(value) if prefix == "seq" else None
    if seq is None:
        raise InvalidCursor("cursor is not valid")
    return seq
