"""A managed list's bulk upload (pure): a CSV file read into rows, each row checked the way the
API checks an entry (and a country list's values as two-letter codes), duplicates within the
file found, and, once the API has loaded the valid rows, each row's outcome: added, already in
the list, a duplicate of an earlier row, or invalid with its reason.

The file: UTF-8 (a byte-order mark is fine), comma separated, one entry per line; `value` and an
optional `note` column. A first line reading `value` (or `value,note`) is a header.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Literal

from riskwatch_console.labels import N_
from riskwatch_shared.text import unsafe_character

MAX_UPLOAD_BYTES = 5_000_000
MAX_ROWS = 100_000  # what one bulk load of the API takes
MAX_VALUE = 200
MAX_NOTE = 1_000
_COUNTRY = re.compile(r"[A-Z]{2}\Z")

RowStatus = Literal["pending", "added", "already_present", "proposed", "duplicate", "invalid"]


class UnreadableUpload(ValueError):
    """The file as a whole cannot be read as the CSV of a list (its reason is a message id)."""


@dataclass(frozen=True, slots=True)
class UploadRow:
    line: int  # 1-based line of the file
    value: str
    note: str | None
    status: RowStatus = "pending"
    # A message id (translated when shown), and the line of the first occurrence of a duplicate.
    reason: str | None = None
    first_line: int | None = None


@dataclass(frozen=True, slots=True)
class UploadPlan:
    rows: list[UploadRow]
    header: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def to_load(self) -> list[tuple[str, str | None]]:
        """The rows the API is asked to load: valid, each value once."""
        return [(row.value, row.note) for row in self.rows if row.status == "pending"]


def _decode(data: bytes) -> str:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnreadableUpload(N_("The file is larger than 5 MB."))
    if not data.strip():
        raise UnreadableUpload(N_("The file is empty."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableUpload(N_("The file is not UTF-8 text.")) from error


def _row_problem(value: str, note: str | None, kind: str) -> str | None:
    if not value:
        return N_("No value")
    if len(value) > MAX_VALUE:
        return N_("The value is longer than 200 characters")
    if unsafe_character(value) is not None:
        return N_("The value holds a control or bidi-override character")
    if note is not None and len(note) > MAX_NOTE:
        return N_("The note is longer than 1,000 characters")
    if note is not None and unsafe_character(note, multiline=True) is not None:
        return N_("The note holds a control or bidi-override character")
    if kind == "countries" and not _COUNTRY.match(value):
        return N_("Not a two-letter country code (ISO 3166-1)")
    return None


def read_upload(data: bytes, *, kind: str) -> UploadPlan:
    """Every line of the file as a row: invalid ones with their reason, duplicates of an
    earlier row marked, the rest pending (to be loaded). UnreadableUpload for a file that is
    not a list's CSV at all."""
    text = _decode(data)
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise UnreadableUpload(N_("The file is not valid CSV.")) from error
    header = bool(lines) and bool(lines[0]) and lines[0][0].strip().lower() == "value"
    rows: list[UploadRow] = []
    first_seen: dict[str, int] = {}
    for number, cells in enumerate(lines, start=1):
        if number == 1 and header:
            continue
        if not cells or not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(rows) >= MAX_ROWS:
            raise UnreadableUpload(N_("The file has more than 100,000 rows."))
        value = cells[0].strip()
        if kind == "countries":
            value = value.upper()
        note = cells[1].strip() if len(cells) > 1 and cells[1].strip() else None
        problem = (
            N_("More than two columns (value, note)")
            if len(cells) > 2 and any(c.strip() for c in cells[2:])
            else _row_problem(value, note, kind)
        )
        if problem is not None:
            rows.append(UploadRow(number, value[:MAX_VALUE], note, "invalid", problem))
        elif value in first_seen:
            rows.append(UploadRow(number, value, note, "duplicate", None, first_seen[value]))
        else:
            first_seen[value] = number
            rows.append(UploadRow(number, value, note))
    if not rows:
        raise UnreadableUpload(N_("The file has no entries."))
    return UploadPlan(rows, header, _counts(rows))


def loaded(plan: UploadPlan, already_present: Collection[str]) -> UploadPlan:
    """The plan after the API loaded its rows: each pending row added, or already present."""
    present = set(already_present)
    rows = [
        replace(row, status="already_present" if row.value in present else "added")
        if row.status == "pending"
        else row
        for row in plan.rows
    ]
    return UploadPlan(rows, plan.header, _counts(rows))


def proposed(plan: UploadPlan) -> UploadPlan:
    """The plan when the load became a proposal (an active rule names the list): its rows
    wait for a second person's approval."""
    rows = [
        replace(row, status="proposed") if row.status == "pending" else row for row in plan.rows
    ]
    return UploadPlan(rows, plan.header, _counts(rows))


def _counts(rows: list[UploadRow]) -> dict[str, int]:
    counts = {"pending": 0, "added": 0, "already_present": 0, "proposed": 0, "duplicate": 0,
              "invalid": 0}  # fmt: skip
    for row in rows:
        counts[row.status] += 1
    return counts
