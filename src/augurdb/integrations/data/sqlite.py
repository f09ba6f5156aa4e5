"""SQLite files through the standard library's sqlite3.

SQLite types values, not columns, so a result's Arrow types come from the declared types
of the columns it selects (read through a temporary view) and, for computed columns, from
the values of the first batch. Dates and timestamps are stored as ISO text, as SQLite's
date functions expect; decimals are stored as numbers, which SQLite keeps to 15 digits.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

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
    ConnectionPool,
    InputStream,
    PooledSource,
    Stream,
    check_parameters,
    decimal_or_string,
    plain_type,
    python_rows,
    quote_name,
    quote_table,
    short,
    unknown_table,
    unsupported_type,
    write_steps,
)

PARAMETERS = frozenset({"db_file"})
REQUIRED = frozenset({"db_file"})
T = TypeVar("T")
BUSY_TIMEOUT = 5.0  # seconds a statement waits for another writer's lock
_PRECISION = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


class SQLiteEngine:
    """`ENGINE = 'sqlite'`: one database file (db_file), which must exist."""

    name = "sqlite"
    parameters = PARAMETERS
    secret_parameters: frozenset[str] = frozenset()
    required_parameters = REQUIRED

    def connect(self, name: str, parameters: Mapping[str, Any]) -> SQLiteIntegration:
        given = check_parameters(self.name, parameters, PARAMETERS, REQUIRED)
        return SQLiteIntegration(name, Path(str(given["db_file"])).expanduser())


class SQLiteIntegration(PooledSource[sqlite3.Connection]):
    """One linked SQLite file; its tables are `db.table`."""

    engine = "sqlite"
    dialect = "sqlite"
    capabilities = DataCapabilities(pushdown=True, native_query=True, writable=True)
    default_schema: str | None = None
    # Only the driver's errors are the file's; others (the input's, say) pass as they are.
    _driver_errors = (sqlite3.Error,)

    def __init__(self, name: str, path: Path):
        self.name = name
        self.path = path
        self._pool = ConnectionPool(self._connect, _close, _alive)

    def _connect(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise SourceUnknownDatabase(f"SQLite database file '{self.path}' doesn't exist")
        try:
            # mode=rw: a linked file is never created by a typo in its path. Autocommit mode
            # (isolation_level=None): write() opens and ends its own transaction.
            connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True,
                                         timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA schema_version").fetchall()  # fails on a file that isn't SQLite
        except sqlite3.Error as error:
            raise self._translate(error) from None
        return connection

    def _run(self, work: Callable[[sqlite3.Connection], T], commit: bool = False) -> T:
        """`work(connection)`; the connection is in autocommit mode, so commit asks nothing more."""
        return self._on_connection(work)

    # --- the contract (check, drop_table and close are inherited) -------------------------

    def tables(self, schema: str | None = None) -> list[TableInfo]:
        def listing(connection: sqlite3.Connection) -> list[TableInfo]:
            rows = connection.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
                                      "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").fetchall()
            return [TableInfo(name, None, "VIEW" if kind == "view" else "BASE TABLE") for name, kind in rows]
        return self._run(listing)

    def schema(self, table: TableName) -> pa.Schema:
        if not self._run(lambda connection: self._exists(connection, table)):
            raise unknown_table(self.name, table)
        reader = self.scan(f"SELECT * FROM {self._quoted(table)}")
        schema = reader.schema
        reader.close()
        return schema

    def scan(self, sql: str, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        def first(connection: sqlite3.Connection) -> tuple[sqlite3.Cursor, list[Any], _Columns]:
            declared = _declared_types(connection, sql)
            cursor = connection.execute(sql)
            names = [column[0] for column in cursor.description or []]
            rows = cursor.fetchmany(batch_rows)
            return cursor, rows, _Columns(names, declared, rows)
        connection, (cursor, first_rows, columns) = self._start(first)

        def batches() -> Iterator[pa.RecordBatch]:
            rows = first_rows
            while rows:
                yield columns.batch(rows)
                rows = cursor.fetchmany(batch_rows)

        def finish(error: BaseException | None) -> None:
            cursor.close()
            self._pool.release(connection, broken=error is not None)

        return Stream(batches(), finish, self._translate).reader(columns.schema)

    def write(self, table: TableName, data: pa.RecordBatchReader, mode: WriteMode) -> int:
        table = TableName(table.name)
        columns = [_column_type(f.name, f.type) for f in data.schema]
        stream = InputStream(data)
        target = self._quoted(table)
        create = self._create_sql(table, data.schema.names, [sql_type for sql_type, _ in columns])
        insert = (f"INSERT INTO {target} ({self._names(data.schema.names)}) "
                  f"VALUES ({', '.join('?' * len(columns))})")

        def load(connection: sqlite3.Connection) -> int:
            connection.execute("BEGIN IMMEDIATE")
            try:
                drop, make = write_steps(self.name, table, self._exists(connection, table), mode)
                if drop:
                    connection.execute(f"DROP TABLE {target}")
                if make:
                    connection.execute(create)
                for batch in stream:
                    connection.executemany(insert, python_rows(batch, [convert for _, convert in columns]))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                if stream.error is not None:
                    raise stream.error from None
                raise
            return stream.rows
        return self._run(load)

    # --- helpers --------------------------------------------------------------------------

    def _exists(self, connection: sqlite3.Connection, table: TableName) -> bool:
        return bool(connection.execute("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') "
                                       "AND name = ?", (table.name,)).fetchall())

    def _quoted(self, table: TableName) -> str:
        return quote_table(TableName(table.name), self.dialect)  # one schema: a schema named is not sent

    def _server_gone(self, error: BaseException) -> bool:
        return False  # a file has no server to lose: a failed connection says nothing of the others

    def _translate(self, error: BaseException) -> SourceError:
        if isinstance(error, SourceError):
            return error
        text = short(error)
        if isinstance(error, sqlite3.OperationalError) and "unable to open" in text.lower():
            return SourceUnreachable(f"Can't open SQLite database file '{self.path}': {text}")
        if isinstance(error, sqlite3.DatabaseError) and "not a database" in text.lower():
            return SourceUnknownDatabase(f"'{self.path}' is not an SQLite database: {text}")
        return SourceError(f"Query failed on SQLite database '{self.path}': {text}")


def _close(connection: sqlite3.Connection) -> None:
    connection.close()


def _alive(connection: sqlite3.Connection) -> bool:
    return True  # a file does not go away between statements the way a server does


def _declared_types(connection: sqlite3.Connection, sql: str) -> list[str] | None:
    """The declared type of each result column ('' when computed), or None for non-SELECTs."""
    view = quote_name(f"augur_scan_{uuid.uuid4().hex}", "sqlite")
    try:
        connection.execute(f"CREATE TEMP VIEW {view} AS {sql}")
    except sqlite3.Error:
        return None
    try:
        return [str(row[2] or "") for row in connection.execute(f"PRAGMA temp.table_info({view})")]
    finally:
        connection.execute(f"DROP VIEW temp.{view}")


# --- types out ----------------------------------------------------------------------------

def _declared_arrow_type(declared: str) -> pa.DataType | None:
    """SQLite's affinity rules (https://sqlite.org/datatype3.html 3.1), plus dates and decimals."""
    upper = declared.upper()
    if not upper:
        return None
    if "INT" in upper:
        return pa.int64()
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if "BLOB" in upper:
        return pa.binary()
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if upper.startswith("BOOL"):
        return pa.bool_()
    if upper.startswith(("DATETIME", "TIMESTAMP")):
        return pa.timestamp("us")
    if upper.startswith("DATE"):
        return pa.date32()
    if upper.startswith(("DECIMAL", "NUMERIC")):
        match = _PRECISION.search(upper)
        if match:
            return decimal_or_string(int(match.group(1)), int(match.group(2) or 0))
        return pa.float64()
    return None


def _inferred_type(values: Sequence[Any]) -> pa.DataType:
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {int}:
        return pa.int64()
    if kinds and kinds <= {int, float}:
        return pa.float64()
    if kinds == {bytes}:
        return pa.binary()
    return pa.string()


class _Columns:
    def __init__(self, names: list[str], declared: list[str] | None, first: list[tuple[Any, ...]]):
        if declared is None or len(declared) != len(names):
            declared = [""] * len(names)
        values = list(zip(*first, strict=True)) if first else [()] * len(names)
        types = [_declared_arrow_type(d) or _inferred_type(v) for d, v in zip(declared, values, strict=True)]
        self.schema = pa.schema([pa.field(n, t) for n, t in zip(names, types, strict=True)])

    def batch(self, rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
        arrays = [_to_arrow(values, f) for values, f in zip(zip(*rows, strict=True), self.schema, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


def _to_arrow(values: Sequence[Any], f: pa.Field) -> pa.Array:
    t = f.type
    try:
        if pa.types.is_boolean(t):
            return pa.array(values, pa.int64()).cast(t)
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            return pa.array(values, pa.string()).cast(t)
        if pa.types.is_decimal(t):
            return pa.array([None if v is None else Decimal(str(v)) for v in values], t)
        if pa.types.is_string(t):
            return pa.array([v if v is None or isinstance(v, str) else
                             v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in values], t)
        if pa.types.is_binary(t):
            return pa.array([v.encode() if isinstance(v, str) else v for v in values], t)
        return pa.array(values, t)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, ArithmeticError) as error:
        sample = next((v for v in values if v is not None), None)
        raise SourceError(f"Column '{f.name}' is declared {t} but holds {sample!r}: {short(error)}") from None


# --- types in -----------------------------------------------------------------------------

def _column_type(name: str, arrow_type: pa.DataType) -> tuple[str, pa.DataType | None]:
    """(declared SQLite type, Arrow type whose values sqlite3 stores as they should be read)."""
    t = plain_type(arrow_type)
    if pa.types.is_boolean(t):
        return "BOOLEAN", None
    if pa.types.is_unsigned_integer(t) and t.bit_width == 64:
        return "NUMERIC", pa.string()  # beyond int64: stored as SQLite numbers do
    if pa.types.is_integer(t):
        return "INTEGER", None
    if pa.types.is_floating(t):
        return "REAL", pa.float64()
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision}, {t.scale})", pa.string()
    if pa.types.is_string(t) or pa.types.is_null(t):
        return "TEXT", pa.string()
    if pa.types.is_binary(t) or pa.types.is_fixed_size_binary(t):
        return "BLOB", pa.binary()
    if pa.types.is_date(t):
        return "DATE", pa.string()
    if pa.types.is_timestamp(t):
        return "TIMESTAMP", pa.string()
    if pa.types.is_time(t):
        return "TIME", pa.string()
    raise unsupported_type("sqlite", name, arrow_type)
