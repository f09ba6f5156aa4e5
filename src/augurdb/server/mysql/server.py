"""The MySQL wire-protocol server: accepts connections and hands each to a `Connection`."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from augurdb.server.login_throttle import LoginThrottle
from augurdb.server.mysql.connection import Connection, ServerSettings
from augurdb.server.mysql.contract import SessionFactory
from augurdb.server.mysql.packets import PacketStream

log = logging.getLogger(__name__)

DEFAULT_MAX_ALLOWED_PACKET = 64 << 20


class MySQLServer:
    """Serves `SqlSession`s over the MySQL protocol on one TCP port.

    `password=None` lets any user in without a password check; with a password,
    clients authenticate with mysql_native_password (and `user`, when given, must
    match). Statements run on a pool of `max_workers` threads shared by all
    connections. `port=0` binds a free port, readable from `port` after `start()`.
    """

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        host: str = "127.0.0.1",
        port: int = 47335,
        user: str | None = None,
        password: str | None = None,
        server_version: str = "8.0.36-augurdb",
        max_workers: int = 8,
        max_allowed_packet: int = DEFAULT_MAX_ALLOWED_PACKET,
        tls: ssl.SSLContext | None = None,
        throttle: LoginThrottle | None = None,
        sock: socket.socket | None = None,
        first_connection_id: int = 1,
    ):
        self.host = host
        self.port = port
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="augurdb-mysql")
        self._settings = ServerSettings(
            session_factory=session_factory,
            executor=self._executor,
            user=user,
            password=password,
            server_version=server_version,
            max_packet=max_allowed_packet,
            started=time.monotonic(),
            tls=tls,
            throttle=throttle or LoginThrottle(),
        )
        self._server: asyncio.Server | None = None
        self._sock = sock  # a socket already listening (bound by the caller, or inherited)
        self._connection_ids = itertools.count(first_connection_id)
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections: set[Connection] = set()

    async def start(self) -> None:
        """Bind the socket; connections are accepted as soon as this returns."""
        if self._sock is not None:
            self._server = await asyncio.start_server(self._serve_client, sock=self._sock)
        else:
            self._server = await asyncio.start_server(self._serve_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("MySQL protocol listening on %s:%d", self.host, self.port)

    async def serve_forever(self) -> None:
        """Start if needed, then accept connections until `close()`."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            pass

    async def close(self, grace: float = 0) -> None:
        """Stop listening, let the statements in flight finish (for up to `grace` seconds), end
        the connections and release the worker pool. A command that arrives meanwhile is refused
        with error 1053."""
        if self._server is not None:
            self._server.close()
        self._settings.draining.set()
        deadline = time.monotonic() + grace
        while any(c.busy for c in self._connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) else "localhost"
        stream = PacketStream(reader, writer, self._settings.max_packet)
        connection = Connection(self._settings, stream, next(self._connection_ids), host)
        self._connections.add(connection)
        try:
            await connection.run()
        except asyncio.CancelledError:
            pass  # close() ends connections this way; asyncio would log a cancelled client task as an error
        except Exception:
            log.exception("connection from %s failed", host)  # one client's failure never stops the server
        finally:
            self._tasks.discard(task)
            self._connections.discard(connection)
