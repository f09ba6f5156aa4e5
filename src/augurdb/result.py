"""The answer to one statement, as every protocol sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass
class Result:
    """Either rows (`table` is set) or an OK with a count of affected rows.

    `table` holds the rows with their Arrow types; protocols map those types to
    their own (MySQL column types, JSON, Arrow IPC).
    """

    table: pa.Table | None = None
    affected_rows: int = 0
    info: str = ""
    warnings: list[tuple[str, int, str]] = field(default_factory=list)

    @classmethod
    def ok(cls, affected_rows: int = 0, info: str = "") -> Result:
        return cls(table=None, affected_rows=affected_rows, info=info)

    @classmethod
    def rows(cls, table: pa.Table) -> Result:
        return cls(table=table)
