"""Fixtures: a MySQLServer on a free port, in a background event loop, over a fake session."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa
import pytest
import sqlglot

from augurdb.errors import UnknownDatabase, UnknownTable, UnknownVariable
from augurdb.result import Result
from augurdb.server.mysql import MySQLServer

DATABASES = {"mindsdb", "information_schema", "files"}
VARIABLES: dict[str, object] = {
    "version_comment": "augurdb",
    "version": "8.0.36-augurdb",
    "sql_mode": "ANSI_QUOTES",
    "transaction_isolation": "REPEATABLE-READ",
    "tx_isolation": "REPEATABLE-READ",
    "lower_case_table_names": 0,
    "max_allowed_packet": 67108864,
    "character_set_client": "utf8mb4",
    "character_set_connection": "utf8mb4",
    "character_set_results": "utf8mb4",
    "collation_connection": "utf8mb4_general_ci",
    "autocommit": 1,
    "session.auto_increment_increment": 1,
    "auto_increment_increment": 1,
    "transaction_read_only": 0,
    "wait_timeout": 28800,
}
_ROW_STATEMENTS = {"select", "with", "values", "show", "describe", "from", "table", "pragma"}
_SHARED = duckdb.connect()


class FakeSession:
    """A stand-in for augurdb's SQL session, only for these protocol tests.

    The real engine is being built concurrently in other folders; this fake runs
    the SQL on DuckDB (through sqlglot's MySQL->DuckDB transpiler) and answers the
    handful of client probes the drivers send, so the tests exercise the wire
    protocol and nothing else. It raises UnknownTable for `missing_table`,
    sleeps for `SELECT SLEEP(n)`, fails with a RuntimeError on `boom` and adds a
    warning to statements mentioning `warn_me`.
    """

    opened: list[FakeSession] = []

    def __init__(self, user: str):
        FakeSession.opened.append(self)
        self.user = user
        self.database = "mindsdb"
        self.con = _SHARED.cursor()
        self.closed = False

    def execute(self, sql: str) -> Result:
        text = sql.strip().rstrip(";").strip()
        first = text.split(None, 1)[0].lower() if text else ""
        if match := re.fullmatch(r"use\s+`?([^`]*)`?", text, re.IGNORECASE):
            if match.group(1) not in DATABASES:
                raise UnknownDatabase(f"Unknown database '{match.group(1)}'")
            self.database = match.group(1)
            return Result.ok()
        if "missing_table" in text:
            raise UnknownTable("Table 'mindsdb.missing_table' doesn't exist")
        if "warn_me" in text:
            result = Result.rows(pa.table({"w": [1]})) if first == "select" else Result.ok(1, "Rows matched: 1")
            result.warnings.append(("Warning", 1292, "Truncated incorrect value"))
            return result
        if "boom" in text:
            raise RuntimeError("boom happened\nsecond line")
        if match := re.fullmatch(r"select sleep\((\d+(?:\.\d+)?)\)", text, re.IGNORECASE):
            time.sleep(float(match.group(1)))
            return Result.rows(pa.table({"sleep": [0]}))
        if first in {"set", "start", "commit", "rollback", "begin"}:
            return Result.ok()
        if match := re.fullmatch(r"show (?:session |global )?variables like '([^']*)'", text, re.IGNORECASE):
            pattern = re.compile(re.escape(match.group(1)).replace("%", ".*").replace("_", "."), re.IGNORECASE)
            names = [k for k in VARIABLES if pattern.fullmatch(k)]
            return Result.rows(pa.table({"Variable_name": names, "Value": [str(VARIABLES[k]) for k in names]}))
        if match := re.fullmatch(r"show (?:full )?columns from `?([^`]*)`?", text, re.IGNORECASE):
            described = self.con.sql(f'DESCRIBE "{match.group(1)}"').to_arrow_table()
            return Result.rows(pa.table({"Field": described["column_name"], "Type": described["column_type"]}))
        text = re.sub(r"(?i)\bdatabase\(\)", f"'{self.database}'", text)
        text = re.sub(r"(?i)\bversion\(\)", f"'{VARIABLES['version']}'", text)
        text = re.sub(r"@@(?:session\.|global\.|local\.)?(\w+)", self._variable, text)
        duck_sql = sqlglot.transpile(text, read="mysql", write="duckdb")[0]
        relation = self.con.sql(duck_sql)
        if first in _ROW_STATEMENTS:
            return Result.rows(relation.to_arrow_table())
        counts = relation.fetchall() if relation is not None and relation.columns == ["Count"] else []
        return Result.ok(affected_rows=counts[0][0] if counts else 0)

    def _variable(self, match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name not in VARIABLES:
            raise UnknownVariable(f"Unknown system variable '{name}'")
        value = VARIABLES[name]
        return str(value) if isinstance(value, int) else f"'{value}'"

    def attach(self, connection_id: int, host: str, close: Callable[[], None],
               tls: tuple[str, str] | None = None) -> None:
        self.connection_id = connection_id

    def close(self) -> None:
        self.closed = True
        self.con.close()


@contextmanager
def running_server(**options: object) -> Iterator[MySQLServer]:
    """A MySQLServer on port 0 served by its own event loop in a daemon thread."""
    loop = asyncio.new_event_loop()
    server = MySQLServer(FakeSession, host="127.0.0.1", port=0, **options)  # type: ignore[arg-type]
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10), "server did not start"
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def mysql_server() -> Iterator[MySQLServer]:
    """An open server: any user, no password."""
    with running_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def mysql_auth_server() -> Iterator[MySQLServer]:
    """A server for user `alice` with password `s3cret`."""
    with running_server(user="alice", password="s3cret") as srv:
        yield srv
