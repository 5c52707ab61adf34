"""Opaque keyset cursors over (timestamp, uuid). Pure."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class InvalidCursor(ValueError):
    pass


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (timestamp, id) a cursor points after. Raises InvalidCursor on anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, _, row_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        at, parsed_id = datetime.fromisoformat(at_text), uuid.UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("cursor is not valid") from exc
    if at.tzinfo is None:
        raise InvalidCursor("cursor is not valid")
    return at, parsed_id
