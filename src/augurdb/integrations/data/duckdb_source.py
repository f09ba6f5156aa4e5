"""DuckDB database files, through the duckdb package augurdb already uses.

DuckDB speaks Arrow natively: results stream out with fetch_record_batch and writes read
the caller's RecordBatchReader in place. One connection per integration holds the file
(DuckDB locks a file it writes to against other processes; read_only=true shares it);
each statement runs on its own cursor, which is how DuckDB serves several threads.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from augurdb.errors import AlreadyExists, UnknownTable, WrongArguments
from augurdb.integrations.data.base import (
    DataCapabilities,
    SourceError,
    SourceUnknownDatabase,
    SourceUnreachable,
    TableInfo,
    TableName,
    WriteMode,
)
from augurdb.integrations.data.common import (
    InputStream,
    SQLSource,
    Stream,
    bool_parameter,
    check_parameters,
    quote_name,
    short,
    write_steps,
)

T = TypeVar("T")
PARAMETERS = frozenset({"database", "db_file", "read_only"})
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


class DuckDBEngine:
    """`ENGINE = 'duckdb'`: a .duckdb file (database, or db_file), optionally read_only."""

    name = "duckdb"
    parameters = PARAMETERS
    secret_parameters: frozenset[str] = frozenset()
    required_parameters: frozenset[str] = frozenset()  # database or db_file: one of the two

    def connect(self, name: str, parameters: Mapping[str, Any]) -> DuckDBIntegration:
        given = check_parameters(self.name, parameters, PARAMETERS, frozenset())
        path = given.get("database") or given.get("db_file")
        if not path:
            raise WrongArguments("Missing parameter 'database' (the .duckdb file; 'db_file' also works) "
                                 "for engine 'duckdb'")
        return DuckDBIntegration(name, Path(str(path)).expanduser(), bool_parameter(given, "read_only", False))


class DuckDBIntegration(SQLSource):
    """One linked DuckDB file; tables are `db.schema.table` or `db.table` (schema main)."""

    engine = "duckdb"
    dialect = "duckdb"
    capabilities = DataCapabilities(pushdown=True, native_query=True, writable=True, schemas=True)
    default_schema: str | None = "main"

    def __init__(self, name: str, path: Path, read_only: bool):
        self.name = name
        self.path = path
        self.read_only = read_only
        self._root: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._root is None:
                if not self.path.is_file():
                    raise SourceUnknownDatabase(f"DuckDB database file '{self.path}' doesn't exist")
                try:
                    self._root = duckdb.connect(str(self.path), read_only=self.read_only)
                except duckdb.Error as error:
                    raise self._translate(error) from None
            return self._root.cursor()

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T], commit: bool = False) -> T:
        """`work(cursor)`; a cursor commits each statement outside begin(), so commit asks nothing more."""
        cursor = self._cursor()
        try:
            return work(cursor)
        except (SourceError, UnknownTable, AlreadyExists):
            raise
        except duckdb.Error as error:
            raise self._translate(error) from error
        finally:
            cursor.close()

    # --- the contract (check and drop_table are inherited) --------------------------------

    def tables(self, schema: str | None = None) -> list[TableInfo]:
        sql = ("SELECT schema_name, table_name, 'BASE TABLE' FROM duckdb_tables() "
               "WHERE database_name = current_database() AND NOT internal "
               "UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() "
               "WHERE database_name = current_database() AND NOT internal")

        def listing(cursor: duckdb.DuckDBPyConnection) -> list[TableInfo]:
            rows = cursor.execute(f"SELECT * FROM ({sql}) WHERE schema_name NOT IN (?, ?) "
                                  "AND (? IS NULL OR schema_name = ?) ORDER BY 1, 2",
                                  [*SYSTEM_SCHEMAS, schema, schema]).fetchall()
            return [TableInfo(name, owner, kind) for owner, name, kind in rows]
        return self._run(listing)

    def schema(self, table: TableName) -> pa.Schema:
        table = self._qualified(table)

        def describe(cursor: duckdb.DuckDBPyConnection) -> pa.Schema:
            self._require(cursor, table)
            return _reader(cursor, f"SELECT * FROM {self._quoted(table)} LIMIT 0", 1).schema
        return self._run(describe)

    def scan(self, sql: str, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        cursor = self._cursor()
        try:
            reader = _reader(cursor, sql, batch_rows)
        except duckdb.Error as error:
            cursor.close()
            raise self._translate(error) from error

        def finish(error: BaseException | None) -> None:
            reader.close()
            cursor.close()

        return Stream(iter(reader), finish, self._translate).reader(reader.schema)

    def write(self, table: TableName, data: pa.RecordBatchReader, mode: WriteMode) -> int:
        table = self._qualified(table)
        stream = InputStream(data)
        target = self._quoted(table)
        names = self._names(data.schema.names)
        source, empty = f"augur_input_{uuid.uuid4().hex}", f"augur_empty_{uuid.uuid4().hex}"

        def load(cursor: duckdb.DuckDBPyConnection) -> int:
            cursor.begin()
            try:
                drop, make = write_steps(self.name, table, self._exists(cursor, table), mode)
                if drop:
                    cursor.execute(f"DROP TABLE {target}")
                if make:
                    # DuckDB's own Arrow -> SQL type mapping, from an empty table of the schema.
                    cursor.register(empty, data.schema.empty_table())
                    cursor.execute(f"CREATE TABLE {target} AS SELECT * FROM {quote_name(empty, self.dialect)}")
                cursor.register(source, stream.as_reader())
                cursor.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM "
                               f"{quote_name(source, self.dialect)}")
                cursor.commit()
            except BaseException:
                cursor.rollback()
                if stream.error is not None:
                    raise stream.error from None
                raise
            finally:
                for view in (source, empty):
                    cursor.unregister(view)
            return stream.rows
        return self._run(load)

    def close(self) -> None:
        with self._lock:
            root, self._root = self._root, None
        if root is not None:
            root.close()

    # --- helpers --------------------------------------------------------------------------

    def _exists(self, cursor: duckdb.DuckDBPyConnection, table: TableName) -> bool:
        rows = cursor.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
            "AND table_name = ? UNION ALL SELECT 1 FROM duckdb_views() "
            "WHERE database_name = current_database() AND schema_name = ? AND view_name = ?",
            [table.schema, table.name, table.schema, table.name]).fetchall()
        return bool(rows)

    def _translate(self, error: BaseException) -> SourceError:
        if isinstance(error, SourceError):
            return error
        text = short(error)
        if isinstance(error, duckdb.IOException):
            return SourceUnreachable(f"Can't open DuckDB database file '{self.path}': {text}")
        return SourceError(f"Query failed on DuckDB database '{self.path}': {text}")


def _reader(cursor: duckdb.DuckDBPyConnection, sql: str, batch_rows: int) -> pa.RecordBatchReader:
    """The statement's rows as a stream (a statement without rows gives an empty one)."""
    relation = cursor.sql(sql)
    if relation is None:
        return pa.RecordBatchReader.from_batches(pa.schema([]), [])
    reader: pa.RecordBatchReader = relation.to_arrow_reader(batch_rows)
    return reader
