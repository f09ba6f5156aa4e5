"""`augurdb serve --processes N`: N server processes on the same two listening sockets.

Python runs one statement's Python work at a time per process (the GIL), so one process uses
about one core. The first process binds the MySQL and HTTP ports (a busy port is still one clear
line), then starts N-1 more with those sockets inherited: each accepts connections from the same
sockets in its own event loop, and the kernel hands each new connection to one of them.

They share everything else through the data directory: the catalog (SQLite in WAL mode, or
PostgreSQL), model files, uploaded files, and the training queue, which one process at a time
runs (jobs/ownership.py). Each has its own DuckDB, model cache and plan cache. Connection ids
carry the process's index in their top byte, so they are unique across the group; SHOW
PROCESSLIST lists every process's connections and KILL reaches any of them: the processes ask
each other over Unix sockets (siblings.py).

The first process forwards SIGTERM/SIGINT to the others and waits for them; one that dies is
started again after a second.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import fields

from augurdb.config import Settings

log = logging.getLogger(__name__)

LISTEN_FDS = "AUGURDB_LISTEN_FDS"  # "mysql_fd,http_fd" in the processes the first one starts
PROCESS_INDEX = "AUGURDB_PROCESS_INDEX"
ID_BITS = 24  # connection ids: index << 24 | n (MySQL's are 32-bit; 16M connections per process)


def process_index() -> int:
    return int(os.environ.get(PROCESS_INDEX, "0"))


def first_connection_id() -> int:
    return (process_index() << ID_BITS) | 1


def serving_process(connection_id: int) -> int:
    return connection_id >> ID_BITS


def inherited_listeners() -> tuple[socket.socket, socket.socket] | None:
    """The MySQL and HTTP sockets handed down by the first process, or None in the first one."""
    fds = os.environ.get(LISTEN_FDS)
    if not fds:
        return None
    mysql_fd, http_fd = (int(fd) for fd in fds.split(","))
    return socket.socket(fileno=mysql_fd), socket.socket(fileno=http_fd)


def _settings_env(settings: Settings) -> dict[str, str]:
    """The settings as AUGURDB_* variables: the processes read them as the first one did (and a
    password passed this way never shows in a process title)."""
    env = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if value is not None:
            env[f"AUGURDB_{f.name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class ProcessGroup:
    """The other N-1 processes of a server, kept running until stop()."""

    def __init__(self, settings: Settings, mysql: socket.socket, http: socket.socket):
        self._settings, self._fds = settings, (mysql.fileno(), http.fileno())
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        for index in range(1, settings.processes):
            self._start(index)
        self._monitor = threading.Thread(target=self._keep_running, name="process-group", daemon=True)
        self._monitor.start()

    def _start(self, index: int) -> None:
        env = {**os.environ, **_settings_env(self._settings), LISTEN_FDS: ",".join(map(str, self._fds)),
               PROCESS_INDEX: str(index)}
        process = subprocess.Popen([sys.executable, "-m", "augurdb.cli", "serve"], pass_fds=self._fds, env=env,
                                   stdin=subprocess.DEVNULL)
        with self._lock:
            self._processes[index] = process
        log.info("server process %d started (pid %d)", index, process.pid)

    def _keep_running(self) -> None:
        while not self._stopping.wait(1.0):
            with self._lock:
                ended = [(i, p.returncode) for i, p in self._processes.items() if p.poll() is not None]
            for index, code in ended:
                if not self._stopping.is_set():
                    log.warning("server process %d ended (exit code %s): starting it again", index, code)
                    self._start(index)

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._processes.values()]

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM each (they finish their statements and hand back their runs), then wait."""
        self._stopping.set()
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
