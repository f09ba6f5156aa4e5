"""What the SQL sources share: parameter checks, a connection pool, base classes, Arrow helpers.

postgres.py, mysql.py, sqlite.py and duckdb_source.py each talk to one driver; the parts
that do not depend on the driver live here so each rule is written once.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

import pyarrow as pa
from sqlglot import exp

from augurdb.errors import AlreadyExists, NotSupported, UnknownTable, WrongArguments
from augurdb.integrations.data.base import SourceError, SourceUnreachable, TableName, WriteMode

C = TypeVar("C")
T = TypeVar("T")

# A driver message is cut to this length: enough to name the cause, never a page of SQL.
MESSAGE_CHARS = 300


# --- parameters ---------------------------------------------------------------------------

def check_parameters(engine: str, parameters: Mapping[str, Any], valid: frozenset[str],
                     required: frozenset[str]) -> dict[str, Any]:
    """Parameters with lower-case names; WrongArguments for unknown or missing ones."""
    given = {str(key).lower(): value for key, value in parameters.items()}
    unknown = sorted(set(given) - valid)
    if unknown:
        raise WrongArguments(f"Unknown parameter(s) {', '.join(map(repr, unknown))} for engine "
                             f"'{engine}': valid parameters are {', '.join(sorted(valid))}")
    missing = sorted(name for name in required if given.get(name) in (None, ""))
    if missing:
        raise WrongArguments(f"Missing parameter(s) {', '.join(map(repr, missing))} for engine '{engine}'")
    return given


def int_parameter(parameters: Mapping[str, Any], name: str, default: int) -> int:
    """A parameter that is a whole number, not negative; default when it is not given."""
    value = parameters.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise WrongArguments(f"Parameter '{name}' must be an integer, got {value!r}") from None
    if number < 0:
        raise WrongArguments(f"Parameter '{name}' must not be negative, got {value!r}")
    return number


def bool_parameter(parameters: Mapping[str, Any], name: str, default: bool) -> bool:
    """A parameter that is true or false (1/0, yes/no, on/off too); default when not given."""
    value = parameters.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise WrongArguments(f"Parameter '{name}' must be true or false, got {value!r}")


def import_driver(module: str, package: str, engine: str) -> Any:
    """Import an optional driver; a missing one says which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise WrongArguments(f"The {engine} engine needs the '{package}' package: "
                             "install augurdb[sources]") from None


# --- errors -------------------------------------------------------------------------------

def short(error: BaseException, *secrets: str) -> str:
    """The driver's message on one line, shortened, with any secret blanked out."""
    text = " ".join(str(error).split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."


# --- a small connection pool --------------------------------------------------------------

@dataclass
class _Idle(Generic[C]):
    connection: C
    since: float


class ConnectionPool(Generic[C]):
    """Connections to one source, reused across statements and threads.

    A connection is used by one thread at a time; up to `size` idle ones are kept. A
    connection that failed is closed, never returned; when the failure says the server
    went away, the idle ones are dropped too (they point at the same dead server). A
    connection idle for longer than `validate_after` seconds is checked before reuse, and
    a statement whose reused connection turns out dead (the server restarted meanwhile)
    is run once more on a fresh connection before it fails.
    """

    def __init__(self, connect: Callable[[], C], close: Callable[[C], None],
                 alive: Callable[[C], bool], size: int = 4, validate_after: float = 30.0):
        self._connect, self._close, self._alive = connect, close, alive
        self._size, self._validate_after = size, validate_after
        self._idle: list[_Idle[C]] = []
        # Reentrant: a scan dropped in a reference cycle releases its connection from the garbage
        # collector, which may run inside this lock (at the allocation in `release`).
        self._lock = threading.RLock()

    def _take(self) -> tuple[C, bool]:
        """An idle connection (True: reused) or a new one (False)."""
        while True:
            with self._lock:
                idle = self._idle.pop() if self._idle else None
            if idle is None:
                return self._connect(), False
            if time.monotonic() - idle.since < self._validate_after or self._alive(idle.connection):
                return idle.connection, True
            self._quiet_close(idle.connection)

    def start(self, first: Callable[[C], T], is_server_gone: Callable[[BaseException], bool]) -> tuple[C, T]:
        """A connection and the result of its first statement; the caller releases it.

        Nothing has happened on the source when the first statement fails, so a dead
        reused connection is replaced and the statement run again.
        """
        connection, reused = self._take()
        try:
            return connection, first(connection)
        except BaseException as error:
            gone = is_server_gone(error)
            self.release(connection, broken=True, server_gone=gone)
            if not (reused and gone):
                raise
        connection = self._connect()
        try:
            return connection, first(connection)
        except BaseException as error:
            self.release(connection, broken=True, server_gone=is_server_gone(error))
            raise

    def run(self, work: Callable[[C], T], is_server_gone: Callable[[BaseException], bool]) -> T:
        """`work(connection)` as one unit that is retried once on a dead reused connection."""
        connection, result = self.start(work, is_server_gone)
        self.release(connection)
        return result

    def release(self, connection: C, *, broken: bool = False, server_gone: bool = False) -> None:
        if server_gone:
            self.clear()
        if broken:
            self._quiet_close(connection)
            return
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(_Idle(connection, time.monotonic()))
                return
        self._quiet_close(connection)

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for item in idle:
            self._quiet_close(item.connection)

    def _quiet_close(self, connection: C) -> None:
        try:
            self._close(connection)
        except Exception:  # noqa: S110 - a connection that cannot close cleanly is gone anyway
            pass


# --- names --------------------------------------------------------------------------------

def quote_name(name: str, dialect: str) -> str:
    """One identifier quoted for the dialect (quotes inside are doubled by sqlglot)."""
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def quote_table(table: TableName, dialect: str) -> str:
    """A table's name, schema-qualified when it has a schema, quoted for the dialect."""
    schema = exp.to_identifier(table.schema, quoted=True) if table.schema else None
    return exp.Table(this=exp.to_identifier(table.name, quoted=True), db=schema).sql(dialect=dialect)


def display_name(database: str, table: TableName) -> str:
    """How a table is named in messages: 'db.schema.t' as the user wrote it."""
    return ".".join(part for part in (database, table.schema, table.name) if part)


# --- what every SQL source does alike ------------------------------------------------------

@dataclass(frozen=True)
class ServerSettings:
    """Which database of which server, as which user: what every server source is given."""

    host: str
    port: int
    user: str
    database: str

    @property
    def where(self) -> str:  # the server as messages name it
        return f"{self.host}:{self.port}"


def unknown_table(database: str, table: TableName) -> UnknownTable:
    """The error for a table the source does not have."""
    return UnknownTable(f"Table '{display_name(database, table)}' doesn't exist")


def write_steps(database: str, table: TableName, exists: bool, mode: WriteMode) -> tuple[bool, bool]:
    """What write(mode) does first: (drop the table, create it); AlreadyExists when create finds it."""
    if exists and mode == "create":
        raise AlreadyExists(f"Table '{display_name(database, table)}' already exists")
    return exists and mode == "replace", not exists or mode == "replace"


class SQLSource(ABC):
    """What the linked SQL sources do alike above their drivers: names, SELECT 1, DROP TABLE.

    A subclass says how work runs on the source (`_run`), whether a table exists
    (`_exists`) and what a driver's error means (`_translate`).
    """

    name: str
    dialect: str
    default_schema: str | None

    @abstractmethod
    def _run(self, work: Callable[[Any], T], commit: bool = False) -> T:
        """`work(handle)` (a handle has execute()), driver errors translated to SourceError;
        commit: the work changes the source (sources committing each statement ignore it)."""

    @abstractmethod
    def _exists(self, handle: Any, table: TableName) -> bool:
        """Whether the source has the table or a view of that name."""

    @abstractmethod
    def _translate(self, error: BaseException) -> SourceError:
        """A driver's error as the SourceError it means."""

    def check(self) -> None:
        """Connect and run a trivial query; raises SourceError naming the cause."""
        self._run(lambda handle: handle.execute("SELECT 1").fetchall())

    def drop_table(self, table: TableName) -> None:
        """Remove a table; raises UnknownTable."""
        table = self._qualified(table)

        def drop(handle: Any) -> None:
            self._require(handle, table)
            handle.execute(f"DROP TABLE {self._quoted(table)}")
        # PostgreSQL's DROP TABLE is transactional; MySQL's commits by itself, leaving the
        # commit after it nothing to do.
        self._run(drop, commit=True)

    def _qualified(self, table: TableName) -> TableName:
        """The table, in default_schema when it names no schema."""
        return table if table.schema else TableName(table.name, self.default_schema)

    def _quoted(self, table: TableName) -> str:
        """The table's name in this source's SQL."""
        return quote_table(table, self.dialect)

    def _names(self, names: Iterable[str]) -> str:
        """Column names for a column list: quoted, comma-separated."""
        return ", ".join(quote_name(name, self.dialect) for name in names)

    def _create_sql(self, table: TableName, names: Sequence[str], sql_types: Sequence[str]) -> str:
        """CREATE TABLE of these columns, each of its type."""
        columns = (f"{quote_name(name, self.dialect)} {sql_type}" for name, sql_type in zip(names, sql_types,
                                                                                             strict=True))
        return f"CREATE TABLE {self._quoted(table)} ({', '.join(columns)})"

    def _require(self, handle: Any, table: TableName) -> None:
        """UnknownTable unless the source has the table."""
        if not self._exists(handle, table):
            raise unknown_table(self.name, table)


class PooledSource(SQLSource, Generic[C]):
    """A SQL source whose connections come from a ConnectionPool (`_pool`, set by the subclass).

    A driver error (of `_driver_errors`) becomes the SourceError it means; a SourceError,
    UnknownTable or AlreadyExists raised by the work itself passes unchanged.
    """

    _pool: ConnectionPool[C]
    _driver_errors: tuple[type[BaseException], ...] = (Exception,)

    def close(self) -> None:
        """Close the idle pooled connections."""
        self._pool.clear()

    def _server_gone(self, error: BaseException) -> bool:
        """Whether the error means the server went away (and the idle connections with it)."""
        return isinstance(self._translate(error), SourceUnreachable)

    def _on_connection(self, work: Callable[[C], T]) -> T:
        """`work(connection)` as one unit on a pooled connection (see ConnectionPool.run)."""
        try:
            return self._pool.run(work, self._server_gone)
        except (SourceError, UnknownTable, AlreadyExists):
            raise
        except self._driver_errors as error:
            raise self._translate(error) from error

    def _start(self, first: Callable[[C], T]) -> tuple[C, T]:
        """A connection and the result of its first statement; the caller releases it."""
        try:
            return self._pool.start(first, self._server_gone)
        except SourceError:
            raise
        except Exception as error:
            raise self._translate(error) from error


class CursorSource(PooledSource[Any]):
    """A pooled source whose driver has DB-API cursors (PostgreSQL, MySQL).

    Work runs on a cursor, in a transaction that ends with the work.
    """

    def _run(self, work: Callable[[Any], T], commit: bool = False) -> T:
        """`work(cursor)` in one transaction: committed when asked, else rolled back."""
        def unit(connection: Any) -> T:
            with connection.cursor() as cursor:
                result = work(cursor)
            connection.commit() if commit else connection.rollback()
            return result
        return self._on_connection(unit)

    def check(self) -> None:
        """Connect and run a trivial query; raises SourceError naming the cause."""
        def ping(cursor: Any) -> None:
            # A DB-API execute() returns no cursor to fetch from.
            cursor.execute("SELECT 1")
            cursor.fetchall()
        self._run(ping)

    def _start_write(self, table: TableName) -> tuple[Any, bool]:
        """A connection for a write and whether the table exists; the caller releases it."""
        def exists_now(connection: Any) -> bool:
            with connection.cursor() as cursor:
                return self._exists(cursor, table)
        return self._start(exists_now)

    def _write_failed(self, connection: Any, clean: bool, error: BaseException, stream: InputStream,
                      passed: tuple[type[BaseException], ...]) -> NoReturn:
        """Release a failed write's connection (closed unless undone cleanly) and raise what
        failed: the input's own error, an error of `passed` as it is, else the SourceError."""
        translated = None if stream.error or isinstance(error, passed) else self._translate(error)
        self._pool.release(connection, broken=not clean,
                           server_gone=isinstance(translated, SourceUnreachable))
        if stream.error is not None:
            raise stream.error from None
        if translated is None:
            raise error
        raise translated from error


# --- Arrow --------------------------------------------------------------------------------

def decimal_or_string(precision: int, scale: int) -> pa.DataType:
    """decimal128 when it fits (precision <= 38), else text, which keeps every digit."""
    if 0 < precision <= 38 and 0 <= scale <= precision:
        return pa.decimal128(precision, scale)
    return pa.string()


def rechunk(batches: Iterator[pa.RecordBatch], max_rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of at most max_rows rows (slices share the buffers)."""
    for batch in batches:
        if batch.num_rows <= max_rows:
            yield batch
            continue
        for offset in range(0, batch.num_rows, max_rows):
            yield batch.slice(offset, max_rows)


class Stream:
    """The batches of one scan, holding its connection until the last batch or the end.

    `finish(error)` runs exactly once: with None after the last batch, with the error when
    the driver fails, or with a NotSupported("abandoned") marker when the reader is dropped
    half-way (the connection is then busy with the rest of the result and is not reused).
    Errors raised while iterating are translated to SourceError.
    """

    def __init__(self, batches: Iterator[pa.RecordBatch], finish: Callable[[BaseException | None], None],
                 translate: Callable[[BaseException], SourceError]):
        self._batches, self._finish, self._translate = batches, finish, translate
        self._done = False

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> pa.RecordBatch:
        if self._done:
            raise StopIteration
        try:
            return next(self._batches)
        except StopIteration:
            self._end(None)
            raise
        except SourceError as error:
            self._end(error)
            raise
        except Exception as error:
            self._end(error)
            raise self._translate(error) from error

    def _end(self, error: BaseException | None) -> None:
        if not self._done:
            self._done = True
            self._finish(error)

    def close(self) -> None:
        self._end(ABANDONED)

    def __del__(self) -> None:
        self.close()

    def reader(self, schema: pa.Schema) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(schema, self)


ABANDONED = NotSupported("scan abandoned before its last batch")


class InputStream:
    """The caller's stream being written: counts rows and remembers the caller's own failure.

    A write that fails because the *input* failed (a scan of another source broke half-way)
    re-raises that error, not a SourceError of the target.
    """

    def __init__(self, reader: pa.RecordBatchReader, convert: Callable[[pa.RecordBatch], pa.RecordBatch]
                 | None = None, schema: pa.Schema | None = None):
        self.reader = reader
        self.rows = 0
        self.error: BaseException | None = None
        self._convert = convert
        self.schema = schema or reader.schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = self.reader.read_next_batch()
            except StopIteration:
                return
            except BaseException as error:
                self.error = error
                raise
            if self._convert is not None:
                batch = self._convert(batch)
            self.rows += batch.num_rows
            yield batch

    def as_reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, iter(self))


def plain_type(arrow_type: pa.DataType) -> pa.DataType:
    """The storage type of dictionary, extension and view types, which writers see through."""
    if pa.types.is_dictionary(arrow_type):
        return plain_type(arrow_type.value_type)
    if isinstance(arrow_type, pa.ExtensionType) or isinstance(arrow_type, pa.BaseExtensionType):
        return plain_type(arrow_type.storage_type)
    if pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return pa.string()
    if pa.types.is_large_binary(arrow_type) or pa.types.is_binary_view(arrow_type):
        return pa.binary()
    return arrow_type


def unsupported_type(engine: str, name: str, arrow_type: pa.DataType) -> NotSupported:
    """The error for a column whose type the engine has no column type for."""
    return NotSupported(f"Can't write column '{name}' of type {arrow_type} to {engine}")


def cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast a batch to `schema` column by column (exact casts only: overflow raises)."""
    if batch.schema.equals(schema):
        return batch
    columns = []
    for column, target in zip(batch.columns, schema, strict=True):
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        columns.append(column if column.type == target.type else column.cast(target.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def python_rows(batch: pa.RecordBatch, casts: Sequence[pa.DataType | None]) -> list[tuple[Any, ...]]:
    """A batch as rows of Python values for a driver's executemany, each column cast first
    to its type in `casts` (None: as it is)."""
    columns = []
    for column, cast in zip(batch.columns, casts, strict=True):
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if cast is not None and pa.types.is_timestamp(column.type) and column.type.tz \
                and not pa.types.is_timestamp(cast):
            # Written as text, an aware timestamp is its UTC wall time, as a naive one reads back.
            column = column.cast(pa.timestamp(column.type.unit))
        columns.append((column if cast is None or column.type == cast else column.cast(cast)).to_pylist())
    return list(zip(*columns, strict=True))
