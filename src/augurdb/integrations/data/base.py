"""The contract every data integration implements (files, and later postgres, mysql, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa
from sqlglot import exp


@dataclass(frozen=True)
class DataCapabilities:
    """What the planner may rely on; declared, never probed."""

    # DuckDB can scan the table in place (no fetch step needed).
    local_scan: bool = False
    # Filters, projections, ORDER BY and LIMIT can be pushed into query().
    pushdown: bool = False
    # Raw SQL text in the source's own dialect: `SELECT * FROM db (native query)`.
    native_query: bool = False
    # CREATE TABLE / INSERT / DROP TABLE on this source.
    writable: bool = False


class DataIntegration(Protocol):
    """A linked data source: tables in, Arrow out."""

    name: str
    engine: str
    capabilities: DataCapabilities

    def tables(self) -> list[str]:
        """Names of the tables a user can query."""
        ...

    def schema(self, table: str) -> pa.Schema:
        """Column names and Arrow types of one table; raises UnknownTable."""
        ...

    def scan_sql(self, table: str) -> exp.Expr:
        """A DuckDB table expression that reads the table in place (when local_scan)."""
        ...

    def query(self, select: exp.Select) -> pa.Table:
        """Run a SELECT over this source's tables, in the source (when pushdown)."""
        ...

    def drop_table(self, table: str) -> None:
        """Remove a table (when writable)."""
        ...
