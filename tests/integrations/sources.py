"""A linked source of each engine for the tests, with an independent way to look inside it.

`source` (parametrized over postgres, mysql, sqlite, duckdb) gives the integration under
test and `native(sql)`, which runs SQL through a different connection (psycopg, pymysql,
sqlite3, a second DuckDB cursor) so a test checks what really landed in the source.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.databases import DatabaseServer

from augurdb.integrations.data.base import DataIntegration
from augurdb.integrations.data.registry import get_data_engine

ENGINES = ["postgres", "mysql", "sqlite", "duckdb"]


@dataclass
class Source:
    engine: str
    integration: DataIntegration
    native: Callable[[str], list[tuple[Any, ...]]]
    # A second namespace whose tables a schema-aware listing shows (postgres/duckdb schema,
    # mysql: another database on the server, which the integration does not list).
    other_schema: str | None
    server: DatabaseServer | None = None

    def quote(self, name: str) -> str:
        mark = "`" if self.engine == "mysql" else '"'
        return mark + name.replace(mark, mark * 2) + mark


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _server_native(server: DatabaseServer) -> Callable[[str], list[tuple[Any, ...]]]:
    def run(sql: str) -> list[tuple[Any, ...]]:
        con = server.connect()
        try:
            cursor = con.cursor()
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
            return [tuple(row) for row in rows]
        finally:
            con.close()
    return run


def make_source(engine: str, request: pytest.FixtureRequest, directory: Path) -> Iterator[Source]:
    other = unique("other")
    if engine in ("postgres", "mysql"):
        server: DatabaseServer = request.getfixturevalue("postgres_server" if engine == "postgres"
                                                         else "mariadb_server")
        native = _server_native(server)
        native(f"CREATE SCHEMA {other}" if engine == "postgres" else f"CREATE DATABASE {other}")
        integration = get_data_engine(engine).connect("src", server.parameters())
        yield Source(engine, integration, native, other, server)
        integration.close()
        native(f"DROP SCHEMA {other} CASCADE" if engine == "postgres" else f"DROP DATABASE {other}")
        return
    if engine == "sqlite":
        path = directory / "source.sqlite"
        sqlite3.connect(path).close()

        def sqlite_native(sql: str) -> list[tuple[Any, ...]]:
            con = sqlite3.connect(path, isolation_level=None)
            try:
                return [tuple(row) for row in con.execute(sql).fetchall()]
            finally:
                con.close()
        integration = get_data_engine("sqlite").connect("src", {"db_file": str(path)})
        yield Source(engine, integration, sqlite_native, None)
        integration.close()
        return
    path = directory / "source.duckdb"
    duckdb.connect(str(path)).close()
    integration = get_data_engine("duckdb").connect("src", {"database": str(path)})
    integration.check()

    def duckdb_native(sql: str) -> list[tuple[Any, ...]]:
        # The integration holds the file; a connection to the same path shares its database.
        con = duckdb.connect(str(path))
        try:
            result = con.execute(sql)
            return [tuple(row) for row in result.fetchall()] if result.description else []
        finally:
            con.close()
    duckdb_native(f"CREATE SCHEMA {other}")
    yield Source(engine, integration, duckdb_native, other)
    integration.close()
