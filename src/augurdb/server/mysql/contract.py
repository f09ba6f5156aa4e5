"""What the MySQL server needs from the SQL engine: a session per connection.

The server never parses SQL itself (apart from finding `?` placeholders in prepared
statements); everything a client sends ends up in `SqlSession.execute`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from augurdb.result import Result


class SqlSession(Protocol):
    """One client's view of the engine: current database, user, and a way to run SQL."""

    database: str
    user: str

    def execute(self, sql: str) -> Result:
        """Run one statement; raise `AugurError` for client errors (anything else is internal)."""
        ...

    def attach(self, connection_id: int, host: str, close: Callable[[], None],
               tls: tuple[str, str] | None = None) -> None:
        """The connection this session serves: listed in SHOW PROCESSLIST; `close` ends it (KILL);
        `tls` is its (TLS version, cipher) when encrypted (SHOW STATUS LIKE 'Ssl_%')."""
        ...

    def close(self) -> None:
        """Release what the session holds; called once when the connection ends."""
        ...


SessionFactory = Callable[[str], SqlSession]
"""Builds the session for an authenticated user name, right after the handshake."""
