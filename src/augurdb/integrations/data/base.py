"""The contract every data integration implements: files, postgres, mysql, sqlite, duckdb, ...

A source receives SQL already rendered in its own dialect (by sqlglot, in the planner) and
answers with Arrow record batches. Writes take a stream of batches and land in one
transaction. Engines are found through a registry (see registry.py) that other packages
extend with the ``augurdb.data_engines`` entry point group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pyarrow as pa

from augurdb.errors import AugurError

WriteMode = Literal["create", "append", "replace"]


@dataclass(frozen=True)
class DataCapabilities:
    """What the planner may rely on; declared, never probed."""

    # DuckDB can scan the table in place (no fetch step needed): uploaded files.
    local_scan: bool = False
    # SELECTs (filters, projections, joins, aggregates, ORDER BY, LIMIT) can be sent to scan().
    pushdown: bool = False
    # Raw SQL text in the source's own dialect: `SELECT * FROM db (native query)`.
    native_query: bool = False
    # CREATE TABLE / INSERT through write(); DROP TABLE through drop_table().
    writable: bool = False
    # Tables live in schemas: `db.schema.table` names them, `db.table` uses default_schema.
    schemas: bool = False


@dataclass(frozen=True)
class TableName:
    """A table of one source; schema is None for sources without schemas."""

    name: str
    schema: str | None = None


@dataclass(frozen=True)
class TableInfo:
    """One row of a source's table listing."""

    name: str
    schema: str | None
    kind: str = "BASE TABLE"  # or "VIEW"


class SourceError(AugurError):
    """A linked source failed: unreachable, refused the credentials, or rejected a query.

    The message names the source and the cause; the driver's own text follows, shortened.
    """

    code = 1105
    sqlstate = "HY000"
    http_status = 502


class SourceUnreachable(SourceError):
    code = 2003  # CR_CONN_HOST_ERROR: what MySQL clients show for "can't connect"
    sqlstate = "HY000"


class SourceAccessDenied(SourceError):
    code = 1045
    sqlstate = "28000"


class SourceUnknownDatabase(SourceError):
    code = 1049
    sqlstate = "42000"


class DataIntegration(Protocol):
    """A linked data source: SQL in its dialect in, Arrow out."""

    name: str
    engine: str
    dialect: str  # sqlglot dialect name the planner renders this source's SQL in
    capabilities: DataCapabilities
    default_schema: str | None  # where `db.table` looks when the source has schemas

    def check(self) -> None:
        """Connect and run a trivial query; raises SourceError naming the cause."""
        ...

    def tables(self, schema: str | None = None) -> list[TableInfo]:
        """Tables and views a user can query (every schema when schema is None)."""
        ...

    def schema(self, table: TableName) -> pa.Schema:
        """Column names and Arrow types of one table; raises UnknownTable."""
        ...

    def scan(self, sql: str, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        """Run one SELECT (in this source's dialect) and stream its rows."""
        ...

    def write(self, table: TableName, data: pa.RecordBatchReader, mode: WriteMode) -> int:
        """Write the stream into ``table`` in one transaction; returns the rows written.

        create: the table must not exist and is created from the stream's schema;
        append: rows are added to an existing table (created when it does not exist);
        replace: the table's rows are replaced. A failure at any batch leaves the
        table as it was before the call.
        """
        ...

    def drop_table(self, table: TableName) -> None:
        """Remove a table (when writable); raises UnknownTable."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


class DataEngine(Protocol):
    """A kind of source (`ENGINE = 'postgres'`): validates parameters, makes integrations."""

    name: str
    # Parameter names (MindsDB's spelling) the engine understands, and which are secrets.
    parameters: frozenset[str]
    secret_parameters: frozenset[str]
    required_parameters: frozenset[str]

    def connect(self, name: str, parameters: Mapping[str, Any]) -> DataIntegration:
        """An integration over these parameters; connects lazily (check() connects)."""
        ...
