"""PostgreSQL through ADBC (adbc-driver-postgresql): COPY-binary results straight into Arrow.

ADBC was the fastest driver measured that streams in bounded memory and also writes in
bulk (adbc_ingest is COPY FROM STDIN in the connection's transaction); see
docs/benchmarks.md ("Source drivers"). Every statement runs in a transaction that ends with the statement
(rollback for reads, commit only at the end of a write).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from augurdb.errors import AlreadyExists
from augurdb.integrations.data.base import (
    DataCapabilities,
    SourceAccessDenied,
    SourceError,
    SourceUnknownDatabase,
    SourceUnreachable,
    TableInfo,
    TableName,
    WriteMode,
)
from augurdb.integrations.data.common import (
    ABANDONED,
    ConnectionPool,
    CursorSource,
    InputStream,
    ServerSettings,
    Stream,
    cast_batch,
    check_parameters,
    decimal_or_string,
    import_driver,
    int_parameter,
    plain_type,
    quote_name,
    quote_table,
    rechunk,
    short,
    unsupported_type,
    write_steps,
)

PARAMETERS = frozenset({"host", "port", "user", "password", "database", "schema", "sslmode",
                        "connect_timeout"})
REQUIRED = frozenset({"host", "user", "database"})
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
# ADBC cuts results into batches of about this many bytes; scan() slices them to batch_rows.
BATCH_BYTES = 4 << 20
# libpq settings that bound how long a dead server or network can hold a statement.
KEEPALIVE = {"keepalives": "1", "keepalives_idle": "15", "keepalives_interval": "5",
             "keepalives_count": "3", "tcp_user_timeout": "30000"}


@dataclass(frozen=True)
class Settings(ServerSettings):
    """One PostgreSQL database's checked parameters."""

    schema: str
    sslmode: str | None
    connect_timeout: int
    password: str = field(default="", repr=False)

    def uri(self) -> str:
        """The libpq connection URI, with the keepalive and timeout settings."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        options = {"connect_timeout": str(self.connect_timeout), "application_name": "augurdb", **KEEPALIVE}
        if self.sslmode:
            options["sslmode"] = self.sslmode
        credentials = quote(self.user, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        return f"postgresql://{credentials}@{host}:{self.port}/{quote(self.database, safe='')}?{urlencode(options)}"


class PostgresEngine:
    """`ENGINE = 'postgres'`: MindsDB's parameter names, ADBC underneath."""

    name = "postgres"
    parameters = PARAMETERS
    secret_parameters = frozenset({"password"})
    required_parameters = REQUIRED

    def connect(self, name: str, parameters: Mapping[str, Any]) -> PostgresIntegration:
        given = check_parameters(self.name, parameters, PARAMETERS, REQUIRED)
        settings = Settings(
            host=str(given["host"]), port=int_parameter(given, "port", 5432), user=str(given["user"]),
            database=str(given["database"]), schema=str(given.get("schema") or "public"),
            sslmode=str(given["sslmode"]) if given.get("sslmode") else None,
            connect_timeout=int_parameter(given, "connect_timeout", 10),
            password=str(given.get("password") or ""))
        import_driver("adbc_driver_postgresql.dbapi", "adbc-driver-postgresql", self.name)
        return PostgresIntegration(name, settings)


class PostgresIntegration(CursorSource):
    """One linked PostgreSQL database; tables are `db.schema.table` (or `db.table` in `schema`)."""

    engine = "postgres"
    dialect = "postgres"
    capabilities = DataCapabilities(pushdown=True, native_query=True, writable=True, schemas=True)

    def __init__(self, name: str, settings: Settings):
        self.name = name
        self.settings = settings
        self.default_schema: str | None = settings.schema
        self._pool = ConnectionPool(self._connect, _close, _alive)

    # --- connections ----------------------------------------------------------------------

    def _connect(self) -> Any:
        dbapi = import_driver("adbc_driver_postgresql.dbapi", "adbc-driver-postgresql", self.engine)
        try:
            connection = dbapi.connect(self.settings.uri())
        except Exception as error:
            raise self._translate(error) from None
        try:
            with connection.cursor() as cursor:
                # Unqualified names (`db.table`) resolve in the configured schema.
                cursor.execute("SELECT set_config('search_path', $1, false)",
                               parameters=(quote_name(self.settings.schema, "postgres"),))
                cursor.fetchall()
            connection.commit()
        except Exception as error:
            _close(connection)
            raise self._translate(error) from None
        return connection

    # --- the contract (check, drop_table and close are inherited) -------------------------

    def tables(self, schema: str | None = None) -> list[TableInfo]:
        sql = ("SELECT table_schema, table_name, table_type FROM information_schema.tables "
               "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
               "AND table_schema NOT LIKE 'pg\\_toast%' AND table_schema NOT LIKE 'pg\\_temp\\_%'")

        def listing(cursor: Any) -> list[TableInfo]:
            if schema is None:
                cursor.execute(sql + " ORDER BY 1, 2")
            else:
                cursor.execute(sql + " AND table_schema = $1 ORDER BY 1, 2", parameters=(schema,))
            return [TableInfo(name, owner, "VIEW" if kind == "VIEW" else "BASE TABLE")
                    for owner, name, kind in cursor.fetchall()]
        return self._run(listing)

    def schema(self, table: TableName) -> pa.Schema:
        table = self._qualified(table)

        def describe(cursor: Any) -> pa.Schema:
            self._require(cursor, table)
            cursor.execute(f"SELECT * FROM {self._quoted(table)} WHERE false")
            return _Columns(cursor.fetch_record_batch().schema).schema
        return self._run(describe)

    def scan(self, sql: str, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        def first(connection: Any) -> tuple[Any, pa.RecordBatchReader, _Columns]:
            cursor = connection.cursor()
            try:
                cursor.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})
                cursor.execute(sql)
                reader = cursor.fetch_record_batch()
                return cursor, reader, _Columns(reader.schema)
            except BaseException:
                _quiet(cursor.close)
                raise
        connection, (cursor, reader, columns) = self._start(first)

        def finish(error: BaseException | None) -> None:
            if error is ABANDONED:
                _quiet(cursor.adbc_cancel)
            _quiet(reader.close)
            _quiet(cursor.close)
            if error is None:
                try:
                    connection.rollback()
                except Exception:
                    error = ABANDONED
            gone = error is not None and self._server_gone(error)
            self._pool.release(connection, broken=error is not None, server_gone=gone)

        batches = (columns.convert(batch) for batch in rechunk(iter(reader), batch_rows))
        return Stream(batches, finish, self._translate).reader(columns.schema)

    def write(self, table: TableName, data: pa.RecordBatchReader, mode: WriteMode) -> int:
        table = self._qualified(table)
        columns = [_column_type(f.name, f.type) for f in data.schema]
        wire = pa.schema([pa.field(f.name, wire_type) for f, (_, wire_type) in zip(data.schema, columns,
                                                                                   strict=True)])
        stream = InputStream(data, convert=lambda batch: cast_batch(batch, wire), schema=wire)
        target = self._quoted(table)
        create = self._create_sql(table, data.schema.names, [sql_type for sql_type, _ in columns])
        connection, exists = self._start_write(table)
        try:
            with connection.cursor() as cursor:
                drop, make = write_steps(self.name, table, exists, mode)
                if drop:
                    cursor.execute(f"DROP TABLE {target}")
                if make:
                    cursor.execute(create)
                cursor.adbc_ingest(table.name, stream.as_reader(), mode="append", db_schema_name=table.schema)
            connection.commit()
        except BaseException as error:
            self._write_failed(connection, _quiet(connection.rollback), error, stream, (AlreadyExists,))
        self._pool.release(connection)
        return stream.rows

    # --- helpers --------------------------------------------------------------------------

    def _exists(self, cursor: Any, table: TableName) -> bool:
        cursor.execute("SELECT to_regclass($1) IS NOT NULL", parameters=(quote_table(table, self.dialect),))
        return bool(cursor.fetchall()[0][0])

    def _translate(self, error: BaseException) -> SourceError:
        return translate(error, self.settings)


# --- errors -------------------------------------------------------------------------------

_GONE = ("server closed the connection", "terminating connection", "no connection to the server",
         "could not receive data", "could not send data", "connection is bad", "ssl syscall",
         "failed to connect", "could not connect", "connection refused", "timeout expired",
         "could not translate host name", "connection to server", "broken pipe", "connection reset")


def translate(error: BaseException, settings: Settings) -> SourceError:
    """A driver error as the SourceError it means, naming the database, host and port."""
    if isinstance(error, SourceError):
        return error
    text = short(error, settings.password)
    lowered = text.lower()
    sqlstate = str(getattr(error, "sqlstate", "") or "")
    where = f"postgres database '{settings.database}' at {settings.where}"
    if sqlstate in ("28P01", "28000") or "password authentication failed" in lowered \
            or "no pg_hba.conf entry" in lowered or "password is required" in lowered \
            or "no password supplied" in lowered:
        return SourceAccessDenied(f"Access denied to {where} for user '{settings.user}': {_cause(text)}")
    if sqlstate == "3D000" or ("database" in lowered and "does not exist" in lowered
                               and "failed to connect" in lowered):
        return SourceUnknownDatabase(f"Unknown database '{settings.database}' on postgres server "
                                     f"{settings.where}: {_cause(text)}")
    if sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03") \
            or any(marker in lowered for marker in _GONE):
        return SourceUnreachable(f"Can't connect to {where}: {_cause(text)}")
    state = f" (SQLSTATE {sqlstate})" if sqlstate else ""
    return SourceError(f"Query failed on {where}: {_cause(text)}{state}")


def _cause(text: str) -> str:
    """libpq's own words, without ADBC's prefixes and the echoed query."""
    for marker in ("Query was:", ". SQLSTATE:", " LINE "):
        text = text.split(marker)[0]
    for prefix in ("FATAL: ", "ERROR: "):
        if prefix in text:
            text = text.split(prefix, 1)[1]
    if " failed: " in text:
        text = text.rsplit(" failed: ", 1)[1]
    text = text.replace("Is the server running on that host and accepting TCP/IP connections?", "")
    return text.strip().rstrip(".").strip() or "unknown error"


def _close(connection: Any) -> None:
    connection.close()


def _alive(connection: Any) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        connection.rollback()
        return True
    except Exception:
        return False


def _quiet(action: Callable[[], Any]) -> bool:
    try:
        action()
        return True
    except Exception:
        return False


# --- types out ----------------------------------------------------------------------------

class _Columns:
    """ADBC's result schema made plain: exact decimals, text for opaque and JSON types."""

    def __init__(self, schema: pa.Schema):
        self._converters: list[Callable[[pa.Array], pa.Array] | None] = []
        fields = []
        for f in schema:
            arrow_type, converter = _output_type(f)
            fields.append(pa.field(f.name, arrow_type))
            self._converters.append(converter)
        self.schema = pa.schema(fields)

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if all(c is None for c in self._converters):
            return pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        columns = [column if convert is None else convert(column)
                   for column, convert in zip(batch.columns, self._converters, strict=True)]
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)


def _output_type(f: pa.Field) -> tuple[pa.DataType, Callable[[pa.Array], pa.Array] | None]:
    metadata = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
    pg_type = metadata.get("POSTGRESQL:type", "")
    if pg_type == "numeric":
        typmod = int(metadata.get("POSTGRESQL:typmod", "-1") or -1)
        if typmod < 4:
            # Unconstrained numeric (what sum(bigint), avg(int) and `x numeric` give) has no
            # scale a decimal128 could take for every value. float64 keeps it a number, so
            # comparisons, sorting and AutoML treat it as one; digits past the 15th are
            # rounded, which is why a column declared numeric(p, s) reads as an exact decimal.
            return pa.float64(), lambda column: _storage(column).cast(pa.float64())
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        target = decimal_or_string(precision, scale)
        return target, lambda column: _storage(column).cast(target)
    if pg_type == "money":
        return pa.decimal128(20, 2), _money
    if pg_type == "uuid":
        return pa.string(), _uuid
    if isinstance(f.type, pa.BaseExtensionType):
        return plain_type(f.type), _storage
    return f.type, None


def _storage(column: pa.Array) -> pa.Array:
    if isinstance(column, pa.ExtensionArray):
        return column.storage
    return column


def _money(column: pa.Array) -> pa.Array:
    """money arrives as int64 cents: the same integer is the unscaled value of a decimal(20, 2)."""
    cents = column.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    words = np.stack([cents, cents >> 63], axis=1)  # little-endian 128-bit, sign-extended
    validity = pc.is_valid(column).buffers()[1] if column.null_count else None
    return pa.Array.from_buffers(pa.decimal128(20, 2), len(cents), [validity, pa.py_buffer(words.tobytes())],
                                 null_count=column.null_count)


def _uuid(column: pa.Array) -> pa.Array:
    return pa.array([None if value is None else str(uuid.UUID(bytes=value))
                     for value in _storage(column).to_pylist()], pa.string())


# --- types in -----------------------------------------------------------------------------

def _column_type(name: str, arrow_type: pa.DataType) -> tuple[str, pa.DataType]:
    """(PostgreSQL column type, Arrow type to cast to so ADBC's COPY matches that column)."""
    t = plain_type(arrow_type)
    if pa.types.is_boolean(t):
        return "boolean", pa.bool_()
    if pa.types.is_integer(t):
        if t in (pa.int8(), pa.int16(), pa.uint8()):
            return "smallint", pa.int16()
        if t in (pa.int32(), pa.uint16()):
            return "integer", pa.int32()
        if t in (pa.int64(), pa.uint32()):
            return "bigint", pa.int64()
        return "numeric(20, 0)", pa.decimal128(20, 0)
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "real", pa.float32()
    if pa.types.is_float64(t):
        return "double precision", pa.float64()
    if pa.types.is_decimal(t):
        if t.precision <= 38:
            return f"numeric({t.precision}, {t.scale})", pa.decimal128(t.precision, t.scale)
        return f"numeric({t.precision}, {t.scale})", t
    if pa.types.is_string(t) or pa.types.is_null(t):
        return "text", pa.string()
    if pa.types.is_binary(t) or pa.types.is_fixed_size_binary(t):
        return "bytea", pa.binary()
    if pa.types.is_date(t):
        return "date", pa.date32()
    if pa.types.is_timestamp(t):
        if t.tz:
            return "timestamptz", pa.timestamp("us", tz="UTC")
        return "timestamp", pa.timestamp("us")
    if pa.types.is_time(t):
        return "time", pa.time64("us")
    if pa.types.is_duration(t):
        return "interval", pa.duration("us")
    raise unsupported_type("postgres", name, arrow_type)
