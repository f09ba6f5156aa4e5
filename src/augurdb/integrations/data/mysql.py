"""MySQL and MariaDB through PyMySQL: unbuffered (SSCursor) results built into Arrow batches.

PyMySQL is pure Python and installs everywhere. connectorx streams 8x faster but maps every
DECIMAL to decimal128(38, 10) and panics on wider ones; mysqlclient is 2x faster but needs
a compiler and libmariadb-dev when pip installs it (docs/benchmarks.md ("Source drivers") has the figures).
Column types come from the result's field packets, so the Arrow schema is known before the
first row and every batch has it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pyarrow as pa

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
    bool_parameter,
    check_parameters,
    decimal_or_string,
    import_driver,
    int_parameter,
    plain_type,
    python_rows,
    short,
    unsupported_type,
    write_steps,
)

PARAMETERS = frozenset({"host", "port", "user", "password", "database", "ssl", "ssl_ca", "ssl_cert",
                        "ssl_key", "connect_timeout"})
REQUIRED = frozenset({"host", "user", "database"})
# A statement that waits this long for the server's next packet fails (a dead source).
READ_TIMEOUT = 300
WRITE_TIMEOUT = 60
# Client-side error numbers and server errors that mean the connection is gone.
GONE = {2002, 2003, 2005, 2006, 2011, 2013, 2055, 1053, 1927, 4031}
# pymysql FIELD_TYPE codes.
DECIMAL, TINY, SHORT, LONG, FLOAT, DOUBLE, NULL, TIMESTAMP, LONGLONG, INT24 = range(10)
DATE, TIME, DATETIME, YEAR, NEWDATE, VARCHAR, BIT = range(10, 17)
NEWDECIMAL = 246
UNSIGNED_FLAG = 32
BINARY_CHARSET = 63


@dataclass(frozen=True)
class Settings(ServerSettings):
    """One MySQL/MariaDB database's checked parameters (ssl: PyMySQL's ssl argument)."""

    connect_timeout: int
    ssl: dict[str, Any] | None = field(default=None, repr=False)
    password: str = field(default="", repr=False)


class MySQLEngine:
    """`ENGINE = 'mysql'` (and 'mariadb'): MindsDB's parameter names, PyMySQL underneath."""

    name = "mysql"
    parameters = PARAMETERS
    secret_parameters = frozenset({"password", "ssl_key"})
    required_parameters = REQUIRED

    def connect(self, name: str, parameters: Mapping[str, Any]) -> MySQLIntegration:
        given = check_parameters(self.name, parameters, PARAMETERS, REQUIRED)
        ssl: dict[str, Any] | None = None
        if bool_parameter(given, "ssl", False) or any(given.get(k) for k in ("ssl_ca", "ssl_cert", "ssl_key")):
            ssl = {key: str(given[f"ssl_{key}"]) for key in ("ca", "cert", "key") if given.get(f"ssl_{key}")}
            if "ca" not in ssl:
                ssl["check_hostname"] = False  # encrypted, not verified: what `mysql --ssl` does
        settings = Settings(host=str(given["host"]), port=int_parameter(given, "port", 3306),
                            user=str(given["user"]), database=str(given["database"]),
                            connect_timeout=int_parameter(given, "connect_timeout", 10), ssl=ssl,
                            password=str(given.get("password") or ""))
        import_driver("pymysql", "pymysql", self.name)
        return MySQLIntegration(name, settings)


class MySQLIntegration(CursorSource):
    """One linked MySQL/MariaDB database; its tables are `db.table`."""

    engine = "mysql"
    dialect = "mysql"
    capabilities = DataCapabilities(pushdown=True, native_query=True, writable=True, schemas=False)
    default_schema: str | None = None

    def __init__(self, name: str, settings: Settings):
        self.name = name
        self.settings = settings
        self._pool = ConnectionPool(self._connect, _close, _alive)

    # --- connections ----------------------------------------------------------------------

    def _connect(self) -> Any:
        pymysql = import_driver("pymysql", "pymysql", self.engine)
        s = self.settings
        try:
            connection = pymysql.connect(
                host=s.host, port=s.port, user=s.user, password=s.password, database=s.database,
                # PyMySQL reads the server's greeting with read_timeout: during the handshake
                # that is the connect timeout, so a server that never answers fails in time.
                connect_timeout=s.connect_timeout, read_timeout=s.connect_timeout or None,
                write_timeout=WRITE_TIMEOUT, charset="utf8mb4", autocommit=False, ssl=s.ssl,
                local_infile=False,
                # TIMESTAMP columns then read as UTC, as their Arrow type says.
                init_command="SET time_zone = '+00:00'")
        except Exception as error:
            raise self._translate(error) from None
        connection._read_timeout = READ_TIMEOUT
        return connection

    # --- the contract (check, drop_table and close are inherited) -------------------------

    def tables(self, schema: str | None = None) -> list[TableInfo]:
        sql = "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = "

        def listing(cursor: Any) -> list[TableInfo]:
            if schema is None:
                cursor.execute(sql + "DATABASE() ORDER BY 1")
            else:
                cursor.execute(sql + "%s ORDER BY 1", (schema,))
            return [TableInfo(name, schema, "VIEW" if kind == "VIEW" else "BASE TABLE")
                    for name, kind in cursor.fetchall()]
        return self._run(listing)

    def schema(self, table: TableName) -> pa.Schema:
        def describe(cursor: Any) -> pa.Schema:
            self._require(cursor, table)
            cursor.execute(f"SELECT * FROM {self._quoted(table)} LIMIT 0")
            cursor.fetchall()
            return _Columns(cursor._result.fields or []).schema
        return self._run(describe)

    def scan(self, sql: str, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        import pymysql.cursors

        def first(connection: Any) -> tuple[Any, _Columns]:
            cursor = connection.cursor(pymysql.cursors.SSCursor)
            cursor.execute(sql)
            return cursor, _Columns(cursor._result.fields or [])
        connection, (cursor, columns) = self._start(first)

        def batches() -> Any:
            while rows := cursor.fetchmany(batch_rows):
                yield columns.batch(rows)

        def finish(error: BaseException | None) -> None:
            if error is None:
                try:
                    cursor.close()
                    connection.rollback()
                except Exception:
                    error = ABANDONED
            # An abandoned unbuffered result would be read to its end by cursor.close():
            # closing the connection instead stops the server sending it.
            gone = error is not None and error is not ABANDONED and self._server_gone(error)
            self._pool.release(connection, broken=error is not None, server_gone=gone)

        return Stream(batches(), finish, self._translate).reader(columns.schema)

    def write(self, table: TableName, data: pa.RecordBatchReader, mode: WriteMode) -> int:
        """Append in one transaction; create/replace load a new table and rename it into place.

        MySQL commits every CREATE/DROP/RENAME by itself, so a table made by this call is
        filled under a temporary name first: until the final RENAME TABLE (atomic, also
        when it swaps two tables) the target is untouched.
        """
        names = [f.name for f in data.schema]
        columns = [_column_type(f.name, f.type) for f in data.schema]
        stream = InputStream(data)
        connection, exists = self._start_write(table)
        staging: TableName | None = None
        try:
            with connection.cursor() as cursor:
                replace, make = write_steps(self.name, table, exists, mode)
                into = table
                if make:
                    staging = TableName(f"{table.name[:40]}__augur_{uuid.uuid4().hex[:8]}", table.schema)
                    cursor.execute(self._create_sql(staging, names, [sql_type for sql_type, _ in columns]))
                    into = staging
                # PyMySQL formats the statement with %: a % in a name must be doubled.
                target = f"INSERT INTO {self._quoted(into)} ({self._names(names)})"
                insert = target.replace("%", "%%") + " VALUES (" + ", ".join(["%s"] * len(names)) + ")"
                for batch in stream:
                    cursor.executemany(insert, python_rows(batch, [convert for _, convert in columns]))
                connection.commit()
                if staging is not None:
                    self._swap(cursor, staging, table, replace)
                    staging = None
        except BaseException as error:
            self._abort(connection, staging, error, stream)
        self._pool.release(connection)
        return stream.rows

    def _swap(self, cursor: Any, staging: TableName, table: TableName, replace: bool) -> None:
        target, new = self._quoted(table), self._quoted(staging)
        if not replace:
            cursor.execute(f"RENAME TABLE {new} TO {target}")
            return
        old = self._quoted(TableName(f"{table.name[:40]}__augur_old_{uuid.uuid4().hex[:8]}", table.schema))
        cursor.execute(f"RENAME TABLE {target} TO {old}, {new} TO {target}")
        cursor.execute(f"DROP TABLE {old}")

    def _abort(self, connection: Any, staging: TableName | None, error: BaseException,
               stream: InputStream) -> NoReturn:
        """Undo a failed write (rollback, drop the staging table) and raise what failed."""
        clean = True
        try:
            connection.rollback()
            if staging is not None:
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {self._quoted(staging)}")
        except Exception:
            clean = False
        self._write_failed(connection, clean, error, stream, (AlreadyExists, SourceError))

    # --- helpers --------------------------------------------------------------------------

    def _exists(self, cursor: Any, table: TableName) -> bool:
        if table.schema is None:
            cursor.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
                           "AND table_name = %s", (table.name,))
        else:
            cursor.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                           "AND table_name = %s", (table.schema, table.name))
        return bool(cursor.fetchall())

    def _translate(self, error: BaseException) -> SourceError:
        return translate(error, self.settings)


def translate(error: BaseException, settings: Settings) -> SourceError:
    """A PyMySQL error as the SourceError it means, naming the database, host and port."""
    if isinstance(error, SourceError):
        return error
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    code = args[0] if args and isinstance(args[0], int) else 0
    text = short(args[1] if len(args) > 1 else error, settings.password)
    where = f"mysql database '{settings.database}' at {settings.where}"
    if code == 1045:
        return SourceAccessDenied(f"Access denied to {where} for user '{settings.user}': {text}")
    if code == 1044:
        return SourceAccessDenied(f"Access denied to {where} for user '{settings.user}' "
                                  f"(or the database doesn't exist): {text}")
    if code == 1049:
        return SourceUnknownDatabase(f"Unknown database '{settings.database}' on mysql server "
                                     f"{settings.where}: {text}")
    if code in GONE or isinstance(error, OSError | TimeoutError) or type(error).__name__ == "InterfaceError":
        return SourceUnreachable(f"Can't connect to {where}: {text or 'connection lost'}")
    return SourceError(f"Query failed on {where}: ({code}) {text}" if code else f"Query failed on {where}: {text}")


def _close(connection: Any) -> None:
    # An unread unbuffered result would otherwise be drained later, from the result's
    # __del__, over the closed socket.
    result = getattr(connection, "_result", None)
    if result is not None:
        result.unbuffered_active = False
    connection.close()


def _alive(connection: Any) -> bool:
    try:
        connection.ping(reconnect=False)
        return True
    except Exception:
        return False


# --- types out ----------------------------------------------------------------------------

class _Columns:
    """The Arrow schema of a result, from its field packets, and rows -> batches."""

    def __init__(self, fields: Sequence[Any]):
        self.schema = pa.schema([pa.field(f.name, _output_type(f)) for f in fields])
        # Zero dates ('0000-00-00') arrive as text; they mean "no date", as Connector/J's
        # zeroDateTimeBehavior=convertToNull reads them.
        self._dates = [pa.types.is_date(f.type) or pa.types.is_timestamp(f.type) for f in self.schema]

    def batch(self, rows: Sequence[tuple[Any, ...]]) -> pa.RecordBatch:
        arrays = []
        for values, f, is_date in zip(zip(*rows, strict=True), self.schema, self._dates, strict=True):
            try:
                arrays.append(pa.array(values, type=f.type))
            except (pa.ArrowTypeError, pa.ArrowInvalid, TypeError):
                if is_date:
                    arrays.append(pa.array([None if isinstance(v, str) else v for v in values], type=f.type))
                elif f.type == pa.string():  # DECIMAL wider than decimal128 arrives as Decimal
                    arrays.append(pa.array([None if v is None else str(v) for v in values], type=f.type))
                else:
                    raise
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


def _output_type(f: Any) -> pa.DataType:
    code, unsigned = f.type_code, bool(f.flags & UNSIGNED_FLAG)
    integers = {TINY: (pa.int8(), pa.uint8()), SHORT: (pa.int16(), pa.uint16()),
                INT24: (pa.int32(), pa.uint32()), LONG: (pa.int32(), pa.uint32()),
                LONGLONG: (pa.int64(), pa.uint64())}
    if code in integers:
        return integers[code][1 if unsigned else 0]
    if code in (DECIMAL, NEWDECIMAL):
        # The field length counts the digits, the point and (when signed) the sign.
        precision = f.length - (1 if f.scale else 0) - (0 if unsigned else 1)
        return decimal_or_string(precision, f.scale)
    simple = {FLOAT: pa.float32(), DOUBLE: pa.float64(), NULL: pa.null(), YEAR: pa.int16(),
              DATE: pa.date32(), NEWDATE: pa.date32(), DATETIME: pa.timestamp("us"),
              TIMESTAMP: pa.timestamp("us", tz="UTC"), TIME: pa.duration("us"), BIT: pa.binary()}
    if code in simple:
        return simple[code]
    return pa.binary() if f.charsetnr == BINARY_CHARSET else pa.string()


# --- types in -----------------------------------------------------------------------------

def _column_type(name: str, arrow_type: pa.DataType) -> tuple[str, pa.DataType | None]:
    """(MySQL column type, Arrow type to cast a column to before its values are sent)."""
    t = plain_type(arrow_type)
    if pa.types.is_boolean(t):
        return "BOOLEAN", None
    if pa.types.is_integer(t):
        sizes = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}
        return sizes[t.bit_width] + (" UNSIGNED" if pa.types.is_unsigned_integer(t) else ""), None
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "FLOAT", pa.float32()
    if pa.types.is_float64(t):
        return "DOUBLE", None
    if pa.types.is_decimal(t):
        if t.precision <= 65 and t.scale <= 30:
            return f"DECIMAL({t.precision}, {t.scale})", None
        return "LONGTEXT", pa.string()
    if pa.types.is_string(t) or pa.types.is_null(t):
        return "LONGTEXT", pa.string()
    if pa.types.is_binary(t) or pa.types.is_fixed_size_binary(t):
        return "LONGBLOB", pa.binary()
    if pa.types.is_date(t):
        return "DATE", pa.date32()
    if pa.types.is_timestamp(t):
        return "DATETIME(6)", pa.timestamp("us")  # an aware timestamp is stored as UTC
    if pa.types.is_time(t):
        return "TIME(6)", pa.time64("us")
    if pa.types.is_duration(t):
        return "TIME(6)", pa.duration("us")
    raise unsupported_type("mysql", name, arrow_type)
