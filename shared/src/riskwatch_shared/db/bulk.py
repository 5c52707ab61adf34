"""Raw bulk statements built from the SQLAlchemy tables, for the event paths.

The fast paths write many rows in one statement, one array per column (`unnest`, encoded by
asyncpg in C, one prepared statement for any row count). The column names and their
PostgreSQL types come from the `Table`, and the rows are typed (a NamedTuple whose fields are
the columns), so a column is declared once, in the model, and a row is checked by mypy.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Column, Numeric, String, Table, TypeDecorator
from sqlalchemy.dialects.postgresql.base import PGDialect

# SQLAlchemy's dialect constructors are untyped; the class itself is the typed part we need.
_DIALECT: PGDialect = PGDialect()  # type: ignore[no-untyped-call]


def array_type(column: Column[Any]) -> str:
    """The PostgreSQL type of a column, for a `$n::<type>[]` parameter, without a length or a
    precision (a cast to varchar(n) or numeric(p, s) would cut or round a value silently; the
    insert itself refuses it): `text` for every string, `numeric` for every decimal, a
    decorated type by the type it stores."""
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, String):
        return "text"
    if isinstance(sql_type, Numeric) and sql_type.asdecimal:
        return "numeric"
    return sql_type.compile(dialect=_DIALECT).lower()


def _quoted(name: str) -> str:
    return str(_DIALECT.identifier_preparer.quote(name))


def _arrays(table: Table, columns: Sequence[str], start: int) -> str:
    return ", ".join(
        f"${n}::{array_type(table.c[name])}[]" for n, name in enumerate(columns, start=start)
    )


def unnest_rows(table: Table, columns: Sequence[str], *, start: int = 1, alias: str = "t") -> str:
    """`unnest($1::<type>[], ...) AS t(<columns>)`: rows given as one array per column (from
    parameter `$start` on), to join or update from."""
    names = ", ".join(_quoted(name) for name in columns)
    return f"unnest({_arrays(table, columns, start)}) AS {alias}({names})"


def row_columns(table: Table, row_type: type[NamedTuple]) -> tuple[str, ...]:
    """The fields of a row type, checked to be columns of the table (for COPY, an insert)."""
    missing = [name for name in row_type._fields if name not in table.c]
    if missing:
        raise ValueError(f"{table.name} has no column {', '.join(missing)}")
    return tuple(row_type._fields)


@dataclass(frozen=True)
class UnnestInsert:
    """`INSERT INTO <table> (<columns>) SELECT ... FROM unnest($1::<type>[], ...)<suffix>`.

    `ordered`: the rows are inserted in the order given (`WITH ORDINALITY ... ORDER BY`), so
    an identity column (`seq`) follows it. `suffix`: what follows the SELECT (`ON CONFLICT
    ...`), written with the table's column names (`excluded.<column>`).
    """

    table: Table
    columns: tuple[str, ...]
    ordered: bool = False
    suffix: str = ""
    # The number of the first parameter (after those of a statement it is combined with).
    start: int = 1

    def __post_init__(self) -> None:
        missing = [name for name in self.columns if name not in self.table.c]
        if missing:
            raise ValueError(f"{self.table.name} has no column {', '.join(missing)}")

    @functools.cached_property
    def sql(self) -> str:  # built once: the type names are compiled by the dialect (~20 µs)
        names = ", ".join(_quoted(name) for name in self.columns)
        arrays = _arrays(self.table, self.columns, self.start)
        insert = f"INSERT INTO {_quoted(self.table.name)} ({names}) "
        if not self.ordered:
            return f"{insert}SELECT * FROM unnest({arrays}){self.suffix}"
        aliases = ", ".join(f"c{n}" for n in range(len(self.columns)))
        return (
            f"{insert}SELECT {aliases} FROM unnest({arrays}) "
            f"WITH ORDINALITY AS rows({aliases}, n) ORDER BY n{self.suffix}"
        )

    def args(self, rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
        """The rows (tuples in `columns` order) as one list per column."""
        columns = [list(column) for column in zip(*rows, strict=True)]
        return columns or [[] for _ in self.columns]


def unnest_insert(
    table: Table,
    row_type: type[NamedTuple],
    *,
    ordered: bool = False,
    suffix: str = "",
    start: int = 1,
) -> UnnestInsert:
    """The bulk insert of `row_type` rows (a NamedTuple whose fields are columns of `table`)."""
    return UnnestInsert(table, row_columns(table, row_type), ordered, suffix, start)
