"""Configuration as code: the bundle's format, its one canonical encoding and the import diff
(pure: no I/O).

A bundle is one JSON document:

    {"format": "riskwatch-config/v1", "alerting": {...}, "notify": {...}, "scoring": {...}}

Each service exports and imports its own section (`/v1/config/<service>/export|import`); the
`riskwatch config` command composes the sections into one file through the gateway. The
encoding is canonical (sorted keys, two-space indent, UTF-8, one final newline) so the same
configuration is always the same bytes: a round trip export -> import -> export is
byte-identical, and two bundles diff line by line in review.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from riskwatch_shared.errors import ServiceError

FORMAT = "riskwatch-config/v1"
SECTIONS: tuple[str, ...] = ("alerting", "notify", "scoring")
# The largest bundle a service accepts (the gateway's body cap is checked first).
MAX_BUNDLE_BYTES = 8 * 1024 * 1024
MAX_NESTING = 32

SectionT = TypeVar("SectionT", bound=BaseModel)
Action = Literal["create", "change", "unchanged", "left_alone"]
ImportMode = Literal["dry-run", "apply"]


class BundleError(ValueError):
    """A bundle this version cannot read: wrong format, unknown section, not JSON."""


class InvalidBundle(ServiceError):
    status_code = 422
    title = "Invalid configuration bundle"
    type_slug = "invalid-bundle"


class BundleTooLarge(ServiceError):
    status_code = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The one encoding of a bundle (or a section of it): sorted keys, indent 2, UTF-8."""
    text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode()


def section_document(service: str, section: Mapping[str, Any]) -> dict[str, Any]:
    """What one service exports: a bundle holding only its own section."""
    return {"format": FORMAT, service: dict(section)}


def compose(documents: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One bundle from the services' exports (each a bundle with its own section)."""
    bundle: dict[str, Any] = {"format": FORMAT}
    for document in documents:
        check_envelope(document)
        for name, section in document.items():
            if name == "format":
                continue
            if name in bundle:
                raise BundleError(f"section {name!r} given twice")
            bundle[name] = section
    return bundle


def parse(raw: bytes) -> dict[str, Any]:
    """A bundle from its bytes: JSON, an object, this format, known sections only."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleError(f"a bundle is at most {MAX_BUNDLE_BYTES} bytes")
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"not a JSON document: {exc}") from None
    if not isinstance(document, dict):
        raise BundleError("a bundle is a JSON object")
    if _depth(document) > MAX_NESTING:
        raise BundleError(f"a bundle nests at most {MAX_NESTING} levels")
    check_envelope(document)
    return document


def check_envelope(document: Mapping[str, Any]) -> None:
    found = document.get("format")
    if found != FORMAT:
        raise BundleError(f"format must be {FORMAT!r}, not {found!r}")
    unknown = sorted(set(document) - {"format", *SECTIONS})
    if unknown:
        raise BundleError(f"unknown sections: {', '.join(map(str, unknown))}")
    for name in SECTIONS:
        if name in document and not isinstance(document[name], dict):
            raise BundleError(f"section {name!r} is an object")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a bundle may hold")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_NESTING:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


# --- the diff ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    current: Any
    wanted: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "current": self.current, "wanted": self.wanted}


@dataclass(slots=True)
class ObjectDiff:
    """What an import does to one object: `create` it, `change` these fields, nothing
    (`unchanged`), or nothing to an object of the install the bundle does not name
    (`left_alone`: an import never deletes). `applied` says how an apply carried it out:
    `proposal` (awaits a second person), `direct` (done, audited), or None (nothing to do)."""

    kind: str
    key: str
    name: str
    action: Action
    changes: list[FieldChange] = field(default_factory=list)
    applied: Literal["proposal", "direct"] | None = None
    proposal_id: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "action": self.action,
            "changes": [change.to_json() for change in self.changes],
            "applied": self.applied,
            "proposal_id": self.proposal_id,
            "note": self.note,
        }


def field_changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[FieldChange]:
    """The fields whose values differ, in name order (nested values compared as a whole)."""
    names = sorted(set(current) | set(wanted))
    return [
        FieldChange(name, current.get(name), wanted.get(name))
        for name in names
        if current.get(name) != wanted.get(name)
    ]


def diff_collection(
    kind: str,
    current: Mapping[str, Mapping[str, Any]],
    wanted: Mapping[str, Mapping[str, Any]],
    *,
    name_of: str = "name",
) -> list[ObjectDiff]:
    """Per object (by its stable key) of one kind: create, change (field level), unchanged,
    or left alone; in the bundle's order, then the install's objects it does not name."""
    diffs: list[ObjectDiff] = []
    for key, target in wanted.items():
        name = str(target.get(name_of) or key)
        found = current.get(key)
        if found is None:
            diffs.append(ObjectDiff(kind, key, name, "create"))
            continue
        changes = field_changes(found, target)
        diffs.append(ObjectDiff(kind, key, name, "change" if changes else "unchanged", changes))
    for key, found in current.items():
        if key not in wanted:
            name = str(found.get(name_of) or key)
            diffs.append(ObjectDiff(kind, key, name, "left_alone"))
    return diffs


def import_report(service: str, mode: ImportMode, diffs: Sequence[ObjectDiff]) -> dict[str, Any]:
    """The answer of `/v1/config/<service>/import`: every object's diff and a summary."""
    summary = dict.fromkeys(("create", "change", "unchanged", "left_alone"), 0)
    for diff in diffs:
        summary[diff.action] += 1
    return {
        "format": FORMAT,
        "service": service,
        "mode": mode,
        "stored": mode == "apply" and any(d.applied is not None for d in diffs),
        "summary": summary,
        "objects": [diff.to_json() for diff in diffs],
    }


def by_key(items: Iterable[Mapping[str, Any]], key: str = "id") -> dict[str, dict[str, Any]]:
    return {str(item[key]): dict(item) for item in items}


def read_section(raw: bytes, service: str, model: type[SectionT]) -> SectionT:
    """A service's own section of an uploaded bundle, checked strictly (unknown fields, bad
    types, a wrong format version: 422; too big: 413); the other sections are their services'
    to check. A bundle without this service's section imports nothing here."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleTooLarge(f"a bundle is at most {MAX_BUNDLE_BYTES} bytes")
    try:
        document = parse(raw)
    except BundleError as exc:
        raise InvalidBundle(str(exc)) from None
    try:
        return model.model_validate(document.get(service, {}))
    except ValidationError as exc:
        errors = [
            {"loc": [service, *map(str, error["loc"])], "msg": error["msg"]}
            for error in exc.errors()[:20]
        ]
        raise InvalidBundle(
            f"section {service!r} is not valid: {errors[0]['msg']} at {'.'.join(errors[0]['loc'])}",
            errors=errors,
        ) from None


async def read_capped(chunks: AsyncIterator[bytes], limit: int = MAX_BUNDLE_BYTES) -> bytes:
    """An uploaded bundle's bytes, refused (413) as soon as it passes `limit`."""
    received = bytearray()
    async for chunk in chunks:
        received += chunk
        if len(received) > limit:
            raise BundleTooLarge(f"a bundle is at most {limit} bytes")
    return bytes(received)


IMPORT_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["format"],
                    "properties": {"format": {"type": "string", "enum": [FORMAT]}},
                    "additionalProperties": True,
                },
                "example": {"format": FORMAT},
            }
        },
    }
}


def import_responses(service: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": f"The diff per object of {service}'s section (and, applied, how)"},
        403: {"description": "Not an admin (problem+json)"},
        409: {"description": "The bundle conflicts with this install (problem+json)"},
        413: {"description": "The bundle is too large (problem+json)"},
        422: {"description": "Not a valid bundle of this format version (problem+json)"},
    }
