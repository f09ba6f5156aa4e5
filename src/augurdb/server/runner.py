"""`augurdb serve`: the MySQL and HTTP servers over one instance, in one event loop."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import signal
import socket
import sys

import uvicorn

from augurdb.config import Settings
from augurdb.errors import CatalogError
from augurdb.executor.processes import kill_connection, process_rows
from augurdb.instance import Instance
from augurdb.server.http.app import create_app
from augurdb.server.mysql import MySQLServer
from augurdb.server.process_group import ProcessGroup, first_connection_id, inherited_listeners, process_index
from augurdb.server.siblings import Siblings
from augurdb.server.tls import server_context, server_pair

log = logging.getLogger("augurdb")
_SWITCH_INTERVAL_S = 0.001

# On SIGTERM, how long statements and HTTP requests in flight have to finish: under the 10 s a
# container runtime waits before it kills.
SHUTDOWN_GRACE_S = 8.0


def _listen(host: str, port: int, what: str, flag: str) -> socket.socket:
    """A listening socket for uvicorn, bound here so that a busy port is one clear line."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    backlog=2048)
    except OSError as error:
        raise SystemExit(_cannot_listen(host, port, what, flag, error)) from None


def _cannot_listen(host: str, port: int, what: str, flag: str, error: OSError) -> str:
    reason = "the port is in use (another augurdb or MySQL server?)" if error.errno == errno.EADDRINUSE \
        else error.strerror or str(error)
    return f"augurdb: cannot listen on {host}:{port} for {what}: {reason}; choose another port with {flag}"


def _warm_up() -> None:
    """Load what every first statement would (pyarrow brings in pandas on its first array, a
    quarter of a second), then freeze the heap: the garbage collector's full passes then skip
    everything loaded at start, which made each of them long enough to stall every connection."""
    import pyarrow as pa

    pa.array([0])
    gc.collect()
    gc.freeze()


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; a port that cannot be listened on ends it with one line (SystemExit).
    With `processes` > 1 this first process starts the others on the same sockets (process_group.py)."""
    settings.check_safe_to_serve()
    # Statements run on pool threads under one GIL: while one holds it with a long parse or plan,
    # every other connection's statement waits for the GIL at each hand-over, up to the switch
    # interval each time (5 ms by default). 1 ms keeps a SELECT 1 beside a heavy statement quick.
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    inherited = inherited_listeners()
    http_socket = inherited[1] if inherited else _listen(settings.host, settings.http_port, "HTTP", "--http-port")
    try:
        instance = Instance(settings)
    except CatalogError as error:  # a PostgreSQL catalog that is down, a catalog from a newer release
        http_socket.close()
        raise SystemExit(f"augurdb: {error.message}") from None
    tls = server_context(instance.data_dir, settings.ssl_cert, settings.ssl_key) if settings.ssl else None
    _warm_up()
    # The MySQL port is bound once the instance is ready: a client that gets in finds it so.
    try:
        mysql_socket = inherited[0] if inherited else _listen(settings.host, settings.mysql_port, "MySQL",
                                                              "--mysql-port")
    except SystemExit:
        http_socket.close()
        instance.close()
        raise
    mysql = MySQLServer(lambda user: instance.session(user=user), host=settings.host, port=settings.mysql_port,
                        user=settings.user, password=settings.password, tls=tls,
                        throttle=instance.login_throttle, sock=mysql_socket,
                        first_connection_id=first_connection_id())
    await mysql.start()
    if settings.processes > 1:
        instance.siblings = Siblings(
            mysql.port, process_index(), settings.processes,
            rows=lambda full: process_rows(instance.processes, full),
            kill=lambda connection_id, query_only: kill_connection(instance.processes, connection_id, query_only))
    https = server_pair(instance.data_dir, settings.ssl_cert, settings.ssl_key) if settings.http_tls else (None, None)
    http = uvicorn.Server(uvicorn.Config(create_app(instance), host=settings.host, port=settings.http_port,
                                         log_level="warning", lifespan="off",
                                         timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
                                         ssl_certfile=https[0], ssl_keyfile=https[1]))
    http_task = asyncio.create_task(http.serve(sockets=[http_socket]))
    group = ProcessGroup(settings, mysql_socket, http_socket) if settings.processes > 1 and inherited is None \
        else None
    log.info("augurdb process %d listening: MySQL %s:%s, HTTP %s:%s, data in %s", process_index(), settings.host,
             mysql.port, settings.host, settings.http_port, instance.data_dir)
    if inherited is None:
        print(f"augurdb ready: mysql -h {settings.host} -P {mysql.port} -u {settings.user or 'augur'}  |  "
              f"http://{settings.host}:{settings.http_port}/docs  |  data: {instance.data_dir}"
              + (f"  |  {settings.processes} processes" if group else ""), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([http_task, waiter], return_when=asyncio.FIRST_COMPLETED)
    log.info("augurdb stopping: statements in flight finish, training runs go back to the queue")
    http.should_exit = True
    others = asyncio.to_thread(group.stop) if group is not None else asyncio.sleep(0)
    await asyncio.gather(mysql.close(grace=SHUTDOWN_GRACE_S), http_task, others)
    if instance.siblings is not None:
        instance.siblings.close()
    instance.close()
