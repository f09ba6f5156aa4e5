"""The processes of one server (`--processes N`) answer each other's SHOW PROCESSLIST and KILL.

Each process listens on a Unix socket in Linux's abstract namespace, named by the server's MySQL
port and the process's index (no file to clean up, no path-length limit), and answers one JSON
request per connection from a thread of its own, so the event loop never waits on a sibling:

    {"op": "list", "full": false}            -> {"rows": [...]}   (SHOW PROCESSLIST rows)
    {"op": "kill", "id": 16777217, "query": true} -> {"found": true}

A sibling that does not answer within a second (being restarted) is left out of the list.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_TIMEOUT = 1.0


def _address(port: int, index: int) -> str:
    return f"\0augurdb-{port}-{index}"


class Siblings:
    """This process's end: serve requests for ``rows``/``kill``, and ask the other processes."""

    def __init__(self, port: int, index: int, count: int, rows: Callable[[bool], list[dict[str, Any]]],
                 kill: Callable[[int, bool], bool]):
        self._port, self._index, self._count = port, index, count
        self._rows, self._kill = rows, kill
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(_address(port, index))
        self._listener.listen(16)
        self._thread = threading.Thread(target=self._serve, name="siblings", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            with connection:
                try:
                    connection.settimeout(_TIMEOUT)
                    connection.sendall(json.dumps(self._answer(json.loads(_read(connection)))).encode())
                except (OSError, ValueError) as error:
                    log.debug("sibling request failed: %s", error)

    def _answer(self, request: dict) -> dict:
        if request.get("op") == "list":
            return {"rows": self._rows(bool(request.get("full")))}
        if request.get("op") == "kill":
            return {"found": self._kill(int(request["id"]), bool(request.get("query")))}
        return {"error": f"unknown op {request.get('op')!r}"}

    def _ask(self, index: int, request: dict) -> dict | None:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(_TIMEOUT)
                connection.connect(_address(self._port, index))
                connection.sendall(json.dumps(request).encode())
                connection.shutdown(socket.SHUT_WR)
                return json.loads(_read(connection))
        except (OSError, ValueError) as error:
            log.info("server process %d did not answer (%s)", index, error)
            return None

    def rows(self, full: bool) -> list[dict[str, Any]]:
        """The other processes' SHOW PROCESSLIST rows."""
        rows: list[dict[str, Any]] = []
        for index in range(self._count):
            if index != self._index:
                answer = self._ask(index, {"op": "list", "full": full})
                rows += answer.get("rows", []) if answer else []
        return rows

    def kill(self, index: int, connection_id: int, query: bool) -> bool | None:
        """Ask process ``index`` to KILL [QUERY] a connection: found or not, None if it did not answer."""
        answer = self._ask(index, {"op": "kill", "id": connection_id, "query": query})
        return None if answer is None else bool(answer.get("found"))

    def close(self) -> None:
        self._listener.close()


def _read(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
