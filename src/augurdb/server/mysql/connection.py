"""One client connection: the handshake, then a loop answering commands.

Commands are dispatched through `COMMANDS` (command byte -> handler). Statements run
on the server's worker pool one at a time per connection, so a slow query keeps
only its own client waiting. Every failure of a statement becomes an ERR packet and
the connection carries on; only a broken stream, an oversized packet or a failed
handshake ends it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from augurdb.errors import AugurError
from augurdb.result import Result
from augurdb.server.login_throttle import LoginThrottle
from augurdb.server.mysql import auth
from augurdb.server.mysql.columns import ColumnSpec, column_definition
from augurdb.server.mysql.constants import (
    CHARSET_UTF8MB4,
    Capability,
    Command,
    ErrorCode,
    FieldType,
)
from augurdb.server.mysql.contract import SessionFactory, SqlSession
from augurdb.server.mysql.packets import (
    MalformedPacket,
    PacketStream,
    PacketTooLarge,
    PayloadReader,
    err_packet,
    malformed_packet_error,
    ok_packet,
)
from augurdb.server.mysql.prepared import (
    PreparedStatement,
    UnknownStatement,
    decode_execute,
    placeholder_positions,
    prepare_ok,
)
from augurdb.server.mysql.resultset import ResultStreamBroken, end_of_rows, send_result
from augurdb.server.mysql.tls_stream import TLSChannel

log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT = 10.0  # seconds a client has to log in (MySQL's connect_timeout default)


@dataclass(frozen=True)
class ServerSettings:
    """What every connection of one server shares."""

    session_factory: SessionFactory
    executor: Executor
    user: str | None
    password: str | None
    server_version: str
    max_packet: int
    started: float
    tls: ssl.SSLContext | None = None  # offered to clients when set
    # Set when the server stops: a statement in flight finishes, then its connection closes.
    draining: threading.Event = field(default_factory=threading.Event)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)  # shared with HTTP by the server


def quote_identifier(name: str) -> str:
    """`name` in backticks, safe whatever it contains."""
    return "`" + name.replace("`", "``") + "`"


def error_packet(exc: BaseException) -> bytes:
    """The ERR packet a failed statement gets; unexpected exceptions are logged with their traceback."""
    if isinstance(exc, AugurError):
        return err_packet(exc.code, exc.sqlstate, exc.message)
    log.error("internal error while running a statement", exc_info=exc)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    message = f"Internal error: {type(exc).__name__}" + (f": {detail}" if detail else "")
    return err_packet(ErrorCode.UNKNOWN_ERROR, "HY000", message)


class Connection:
    """State of one client: its session, capabilities and prepared statements."""

    def __init__(self, settings: ServerSettings, stream: PacketStream, connection_id: int, peer: str):
        self.settings = settings
        self.busy = False  # running a command: a stopping server lets it finish
        self.stream = stream
        self._socket_reader = stream.reader  # stays the socket's after a switch to TLS
        self.connection_id = connection_id
        self.peer = peer
        self.capabilities = 0
        self.session: SqlSession | None = None
        self.statements: dict[int, PreparedStatement] = {}
        self._statement_ids = itertools.count(1)
        self.questions = 0
        self.secure = False  # the connection switched to TLS

    @property
    def deprecate_eof(self) -> bool:
        return bool(self.capabilities & Capability.DEPRECATE_EOF)

    async def offload(self, fn: Callable[[], T]) -> T:
        """Run blocking `fn` on the worker pool."""
        return await asyncio.get_running_loop().run_in_executor(self.settings.executor, fn)

    async def run(self) -> None:
        """Serve the client until it quits or the stream breaks; always releases the session."""
        try:
            if await asyncio.wait_for(self._handshake(), CONNECT_TIMEOUT):
                await self._command_loop()
        except PacketTooLarge:
            self.stream.write(err_packet(ErrorCode.NET_PACKET_TOO_LARGE, "08S01",
                                         "Got a packet bigger than 'max_allowed_packet' bytes"))
            await self._flush_quietly()
            await self._discard_unread_input()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass  # the client went away, or never finished logging in
        except ResultStreamBroken:
            log.exception("connection %d closed mid-result", self.connection_id)
        finally:
            if self.session is not None:
                await self.offload(self.session.close)
            self.stream.writer.close()

    async def _discard_unread_input(self, seconds: float = 2.0) -> None:
        """Read away what the client is still sending (the rest of an oversized packet) before
        closing: closing with unread input sends a TCP reset, which can drop the error packet
        from the client's receive buffer before the client reads it."""
        try:
            async with asyncio.timeout(seconds):
                while await self._socket_reader.read(1 << 16):  # raw bytes, encrypted or not
                    pass
        except (TimeoutError, ConnectionError, OSError):
            pass

    async def _flush_quietly(self) -> None:
        try:
            await self.stream.flush()
        except ConnectionError:
            pass

    # ---- connection phase -----------------------------------------------------------------

    async def _handshake(self) -> bool:
        """Greet, authenticate, open the session and the requested database; False ends the connection."""
        settings, stream = self.settings, self.stream
        scramble = auth.new_scramble()
        stream.seq = 0
        stream.write(auth.handshake_packet(settings.server_version, self.connection_id, scramble,
                                           tls=settings.tls is not None))
        await stream.flush()
        try:
            payload = await stream.read()
            if auth.is_tls_request(payload):
                if settings.tls is None:
                    raise MalformedPacket("TLS was requested but this server does not offer it")
                channel = TLSChannel(stream.reader, stream.writer, settings.tls)  # type: ignore[arg-type]
                await channel.handshake()
                stream.reader = stream.writer = channel  # type: ignore[assignment]
                self.secure = True
                payload = await stream.read()  # the handshake response, now encrypted
            response = auth.parse_handshake_response(payload)
        except MalformedPacket as exc:
            stream.write(err_packet(1043, "08S01", f"Bad handshake: {exc}"))
            await stream.flush()
            return False
        self.capabilities = response.capabilities
        token, plugin = response.auth_response, response.plugin or auth.NATIVE_PASSWORD
        if settings.password is not None and plugin not in (auth.NATIVE_PASSWORD, auth.CACHING_SHA2_PASSWORD):
            stream.write(auth.auth_switch_packet(scramble))
            await stream.flush()
            token, plugin = await stream.read(), auth.NATIVE_PASSWORD
        user_ok = settings.user is None or response.user == settings.user
        password_ok = settings.password is None or auth.check_password(plugin, settings.password, scramble, token)
        if user_ok and password_ok and settings.password and plugin == auth.CACHING_SHA2_PASSWORD:
            stream.write(auth.FAST_AUTH_SUCCESS)
        if settings.password is not None:
            delay = settings.throttle.delay_for(self.peer)
            if delay:
                await asyncio.sleep(delay)
            (settings.throttle.succeeded if user_ok and password_ok else settings.throttle.failed)(self.peer)
        if not (user_ok and password_ok):
            using = "YES" if token else "NO"
            stream.write(err_packet(ErrorCode.ACCESS_DENIED, "28000",
                                    f"Access denied for user '{response.user}'@'{self.peer}' (using password: {using})"))
            await stream.flush()
            return False
        try:
            self.session = await self.offload(partial(settings.session_factory, response.user))
            loop = asyncio.get_running_loop()

            def close_from_any_thread() -> None:  # KILL CONNECTION comes from another connection's worker
                loop.call_soon_threadsafe(self.stream.writer.close)

            self.session.attach(self.connection_id, self.peer, close_from_any_thread, self._tls_in_use())
            if response.database:
                await self.offload(partial(self.session.execute, f"USE {quote_identifier(response.database)}"))
        except Exception as exc:
            stream.write(error_packet(exc))
            await stream.flush()
            return False
        stream.write(ok_packet())
        await stream.flush()
        return True

    def _tls_in_use(self) -> tuple[str, str] | None:
        """The TLS version and cipher of this connection (SHOW STATUS LIKE 'Ssl_%'), None in plain text."""
        tls = self.stream.writer.get_extra_info("ssl_object") if self.secure else None
        return (tls.version() or "", tls.cipher()[0]) if tls is not None and tls.cipher() else None

    # ---- command phase --------------------------------------------------------------------

    async def _command_loop(self) -> None:
        while not self.settings.draining.is_set():
            payload = await self.stream.read()
            if self.settings.draining.is_set():
                self.stream.write(err_packet(ErrorCode.SERVER_SHUTDOWN, "08S01", "Server shutdown in progress"))
                await self.stream.flush()
                return
            self.busy = True
            try:
                if await self._command(payload) is False:
                    return
            finally:
                self.busy = False

    async def _command(self, payload: bytes) -> bool:
        """Run one command and send its answer; False when the client said goodbye."""
        if not payload:
            self.stream.write(malformed_packet_error())
        elif (handler := COMMANDS.get(payload[0])) is None:
            self.stream.write(err_packet(ErrorCode.UNKNOWN_COM, "08S01", "Unknown command"))
        else:
            try:
                if await handler(self, payload[1:]) is False:
                    return False
            except MalformedPacket:
                self.stream.write(malformed_packet_error())
            except (ResultStreamBroken, ConnectionError, asyncio.IncompleteReadError):
                raise
            except Exception as exc:
                self.stream.write(error_packet(exc))
        await self.stream.flush()
        return True

    async def execute(self, sql: str) -> Result:
        """Run one statement in the session on the worker pool."""
        assert self.session is not None
        self.questions += 1
        return await self.offload(partial(self.session.execute, sql))

    async def com_quit(self, _payload: bytes) -> bool:
        return False

    async def com_init_db(self, payload: bytes) -> None:
        await self.execute(f"USE {quote_identifier(payload.decode('utf-8', 'replace'))}")
        self.stream.write(ok_packet())

    async def com_query(self, payload: bytes) -> None:
        sql = payload.decode("utf-8", "replace")
        if not sql.strip():
            self.stream.write(err_packet(ErrorCode.EMPTY_QUERY, "42000", "Query was empty"))
            return
        result = await self.execute(sql)
        await send_result(self.stream, result, binary=False, deprecate_eof=self.deprecate_eof, offload=self.offload)

    async def com_field_list(self, payload: bytes) -> None:
        """Column definitions of a table (the mysql CLI's tab completion), from SHOW COLUMNS."""
        table = PayloadReader(payload).nul_bytes().decode("utf-8", "replace")
        result = await self.execute(f"SHOW COLUMNS FROM {quote_identifier(table)}")
        rows = result.table.select([0, 1]).to_pylist() if result.table is not None else []
        database = self.session.database if self.session is not None else ""
        for row in rows:
            name, sql_type = (str(v) for v in row.values())
            spec = _spec_for_sql_type(sql_type)
            # COM_FIELD_LIST definitions end with the column's default value (NULL here).
            self.stream.write(column_definition(name, spec, schema=database or "", table=table) + b"\xfb")
        self.stream.write(end_of_rows(self.deprecate_eof))

    async def com_ping(self, _payload: bytes) -> None:
        self.stream.write(ok_packet())

    async def com_statistics(self, _payload: bytes) -> None:
        uptime = max(1, int(time.monotonic() - self.settings.started))
        self.stream.write(
            f"Uptime: {uptime}  Threads: 1  Questions: {self.questions}  Slow queries: 0  Opens: 0  "
            f"Flush tables: 0  Open tables: 0  Queries per second avg: {self.questions / uptime:.3f}".encode()
        )

    async def com_set_option(self, _payload: bytes) -> None:
        self.stream.write(end_of_rows(self.deprecate_eof))

    async def com_reset_connection(self, _payload: bytes) -> None:
        self.statements.clear()
        self.stream.write(ok_packet())

    # ---- prepared statements --------------------------------------------------------------

    async def com_stmt_prepare(self, payload: bytes) -> None:
        sql = payload.decode("utf-8", "replace")
        if not sql.strip():
            self.stream.write(err_packet(ErrorCode.EMPTY_QUERY, "42000", "Query was empty"))
            return
        stmt = PreparedStatement(next(self._statement_ids), sql, placeholder_positions(sql))
        self.statements[stmt.id] = stmt
        for packet in prepare_ok(stmt, self.deprecate_eof):
            self.stream.write(packet)

    async def com_stmt_execute(self, payload: bytes) -> None:
        try:
            stmt, params = decode_execute(payload, self.statements)
        except UnknownStatement as exc:
            self.stream.write(_unknown_statement(exc.stmt_id, "mysqld_stmt_execute"))
            return
        result = await self.execute(stmt.render(params))
        await send_result(self.stream, result, binary=True, deprecate_eof=self.deprecate_eof, offload=self.offload)

    async def com_stmt_send_long_data(self, payload: bytes) -> None:
        r = PayloadReader(payload)
        stmt = self.statements.get(r.uint(4))
        param = r.uint(2)
        if stmt is not None and param < len(stmt.positions):  # this command never gets an answer
            stmt.long_data.setdefault(param, bytearray()).extend(r.rest())

    async def com_stmt_close(self, payload: bytes) -> None:
        self.statements.pop(PayloadReader(payload).uint(4), None)  # no answer either

    async def com_stmt_reset(self, payload: bytes) -> None:
        stmt_id = PayloadReader(payload).uint(4)
        if stmt_id not in self.statements:
            self.stream.write(_unknown_statement(stmt_id, "mysqld_stmt_reset"))
            return
        self.statements[stmt_id].long_data.clear()
        self.stream.write(ok_packet())


def _unknown_statement(stmt_id: int, where: str) -> bytes:
    return err_packet(ErrorCode.UNKNOWN_STMT_HANDLER, "HY000",
                      f"Unknown prepared statement handler ({stmt_id}) given to {where}")


# SQL type names (as SHOW COLUMNS prints them) -> MySQL column types, for COM_FIELD_LIST.
_SQL_TYPES = {
    "tinyint": FieldType.TINY, "boolean": FieldType.TINY, "bool": FieldType.TINY,
    "smallint": FieldType.SHORT, "int": FieldType.LONG, "integer": FieldType.LONG,
    "bigint": FieldType.LONGLONG, "hugeint": FieldType.NEWDECIMAL, "float": FieldType.FLOAT,
    "real": FieldType.FLOAT, "double": FieldType.DOUBLE, "decimal": FieldType.NEWDECIMAL,
    "numeric": FieldType.NEWDECIMAL, "date": FieldType.DATE, "datetime": FieldType.DATETIME,
    "timestamp": FieldType.DATETIME, "time": FieldType.TIME, "blob": FieldType.BLOB,
    "binary": FieldType.BLOB, "varbinary": FieldType.BLOB, "json": FieldType.JSON,
}


def _spec_for_sql_type(sql_type: str) -> ColumnSpec:
    word = sql_type.strip().lower().split("(")[0].split(" ")[0]
    field_type = _SQL_TYPES.get(word, FieldType.VAR_STRING)
    if field_type in (FieldType.VAR_STRING, FieldType.JSON):
        return ColumnSpec(field_type, 1020, charset=CHARSET_UTF8MB4)
    return ColumnSpec(field_type, 20)


COMMANDS: dict[int, Callable[[Connection, bytes], Awaitable[bool | None]]] = {
    Command.QUIT: Connection.com_quit,
    Command.INIT_DB: Connection.com_init_db,
    Command.QUERY: Connection.com_query,
    Command.FIELD_LIST: Connection.com_field_list,
    Command.PING: Connection.com_ping,
    Command.STATISTICS: Connection.com_statistics,
    Command.SET_OPTION: Connection.com_set_option,
    Command.RESET_CONNECTION: Connection.com_reset_connection,
    Command.STMT_PREPARE: Connection.com_stmt_prepare,
    Command.STMT_EXECUTE: Connection.com_stmt_execute,
    Command.STMT_SEND_LONG_DATA: Connection.com_stmt_send_long_data,
    Command.STMT_CLOSE: Connection.com_stmt_close,
    Command.STMT_RESET: Connection.com_stmt_reset,
}
"""Command byte -> handler; a command not listed here is answered with ERR 1047."""
