"""Canonical JSON: one byte-exact text per value, for hashes and model documents."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import orjson


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def canonical_bytes(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, Decimals and UUIDs as strings, datetimes in ISO 8601."""
    return orjson.dumps(value, default=_json_default, option=_OPTIONS)


def canonical_json(value: Any) -> str:
    return canonical_bytes(value).decode()


def inputs_hash(value: Any) -> str:
    """sha256 of the canonical JSON of a model's inputs, to reproduce a score later."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
