"""Parsing a CSV export of another CRM into customer records. Pure: no I/O.

Columns: kind,name,document_type,document_number,phone,email,address,country,segment,
kyc_status,relationship_manager,tags,status. Tags are separated by `;`. Empty cells are absent.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from pydantic import ValidationError

from riskwatch_customer.domain.validation import FieldError
from riskwatch_customer.schemas import CustomerCreate

REQUIRED_COLUMNS = ("kind", "name", "document_type", "document_number")
KNOWN_COLUMNS = frozenset(CustomerCreate.model_fields)


class InvalidCsv(ValueError):
    pass


@dataclass
class ParsedRow:
    line: int
    customer: CustomerCreate | None
    errors: list[FieldError] = field(default_factory=list)


def _cells_to_fields(cells: dict[str, str | None]) -> dict[str, object]:
    fields: dict[str, object] = {}
    for column, raw in cells.items():
        value = (raw or "").strip()
        if column not in KNOWN_COLUMNS or not value:
            continue
        fields[column] = (
            [tag.strip() for tag in value.split(";") if tag.strip()] if column == "tags" else value
        )
    return fields


def parse_row(line: int, cells: dict[str, str | None]) -> ParsedRow:
    try:
        return ParsedRow(line, CustomerCreate.model_validate(_cells_to_fields(cells)))
    except ValidationError as exc:
        errors = [
            FieldError(("row", line, *(str(p) for p in err["loc"])), err["msg"], err["type"])
            for err in exc.errors()
        ]
        return ParsedRow(line, None, errors)


def parse_customer_csv(text: str, *, max_rows: int) -> list[ParsedRow]:
    """Every data row parsed or rejected with reasons. Raises InvalidCsv for a bad header, or
    for a file the csv module cannot read (a NUL, a cell past its 128 KiB field limit)."""
    try:
        return _parse_rows(text, max_rows=max_rows)
    except csv.Error as exc:
        raise InvalidCsv(f"unreadable CSV: {exc}") from exc


def _parse_rows(text: str, *, max_rows: int) -> list[ParsedRow]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise InvalidCsv(f"missing columns: {', '.join(missing)}")
    reader.fieldnames = header
    rows: list[ParsedRow] = []
    for cells in reader:
        if len(rows) >= max_rows:
            raise InvalidCsv(f"more than {max_rows} rows; split the file")
        if not any((value or "").strip() for value in cells.values() if isinstance(value, str)):
            continue
        # Line numbers count the header as line 1 (quoted newlines aside).
        rows.append(
            parse_row(reader.line_num, {k: v for k, v in cells.items() if isinstance(k, str)})
        )
    return rows
