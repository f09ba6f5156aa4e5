"""PostgreSQL and MariaDB sources when the server says no, is not there, or goes away."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from tests.conftest import free_port
from tests.databases import PASSWORD, DatabaseServer
from tests.integrations.sources import unique

from augurdb.integrations.data.base import (
    DataIntegration,
    SourceAccessDenied,
    SourceError,
    SourceUnknownDatabase,
    SourceUnreachable,
    TableName,
)
from augurdb.integrations.data.registry import get_data_engine

SERVERS = ["postgres", "mysql"]
# A scan long enough that the server is still sending when its connection is killed.
LONG_SCAN = {"postgres": "SELECT g AS n FROM generate_series(1, 5000000) AS g",
             "mysql": "SELECT seq AS n FROM seq_1_to_5000000"}


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> DatabaseServer:
    fixture = "postgres_server" if request.param == "postgres" else "mariadb_server"
    found: DatabaseServer = request.getfixturevalue(fixture)
    return found


def linked(server: DatabaseServer, **overrides: Any) -> DataIntegration:
    return get_data_engine(server.engine).connect("src", server.parameters(**overrides))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("overrides", "error_type", "named"), [
    ({"password": "not the password"}, SourceAccessDenied, "augur"),
    ({"database": "no_such_db"}, SourceUnknownDatabase, "no_such_db"),
])
def test_check_names_the_cause(server: DatabaseServer, overrides: dict[str, Any],
                               error_type: type[SourceError], named: str) -> None:
    integration = linked(server, **overrides)
    with pytest.raises(error_type) as error:
        integration.check()
    message = error.value.message
    assert f"{server.host}:{server.port}" in message and named in message
    assert PASSWORD not in message and "not the password" not in message
    assert PASSWORD not in repr(integration.settings)  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
def test_check_of_a_closed_port_is_unreachable(server: DatabaseServer) -> None:
    port = free_port()
    with pytest.raises(SourceUnreachable) as error:
        linked(server, port=port).check()
    assert f"127.0.0.1:{port}" in error.value.message
    assert f"'{server.database}'" in error.value.message
    assert error.value.code == 2003


@pytest.mark.timeout(60)
def test_a_server_that_never_answers_fails_at_the_connect_timeout(server: DatabaseServer) -> None:
    with socket.socket() as silent:  # the kernel accepts connections; nothing ever speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(SourceUnreachable) as error:
            linked(server, port=port, connect_timeout=2).check()
    assert f"127.0.0.1:{port}" in error.value.message


def kill_connections(server: DatabaseServer) -> int:
    """Kill every connection of the test user except the one doing the killing."""
    con = server.connect()
    try:
        cursor = con.cursor()
        if server.engine == "postgres":
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE usename = %s AND pid <> pg_backend_pid()", (server.user,))
            return len(cursor.fetchall())
        cursor.execute("SELECT id FROM information_schema.processlist WHERE user = %s AND id <> CONNECTION_ID()",
                       (server.user,))
        ids = [row[0] for row in cursor.fetchall()]
        for thread in ids:
            cursor.execute(f"KILL {int(thread)}")
        return len(ids)
    finally:
        con.close()


@pytest.mark.timeout(120)
def test_a_connection_killed_mid_scan_raises_and_the_next_scan_reconnects(server: DatabaseServer) -> None:
    integration = linked(server)
    reader = integration.scan(LONG_SCAN[server.engine], batch_rows=1_000)
    assert reader.read_next_batch().num_rows == 1_000
    assert kill_connections(server) >= 1
    with pytest.raises(SourceError):
        for _ in reader:
            pass
    assert integration.scan("SELECT 41 + 1 AS n").read_all().to_pylist() == [{"n": 42}]
    integration.close()


@pytest.mark.timeout(180)
def test_a_restarted_server_is_reconnected(server: DatabaseServer) -> None:
    integration = linked(server)
    integration.check()
    table = TableName(unique("survivor"))
    integration.write(table, pa.table({"n": [1, 2, 3]}).to_reader(), "create")
    server.restart()
    # The pooled connection died with the server: the next call replaces it.
    assert integration.scan(f"SELECT n FROM {table.name} ORDER BY n").read_all().column("n").to_pylist() == [1, 2, 3]
    server.stop()
    try:
        with pytest.raises(SourceUnreachable) as error:
            integration.check()
        assert f"{server.host}:{server.port}" in error.value.message
    finally:
        server.start()
    integration.check()
    assert integration.tables() != []
    integration.close()


def test_an_abandoned_scan_frees_its_connection(server: DatabaseServer) -> None:
    integration = linked(server)
    for _ in range(8):  # more than the pool keeps: each abandoned scan must not hold a server slot
        reader = integration.scan(LONG_SCAN[server.engine], batch_rows=100)
        reader.read_next_batch()
        del reader
    assert integration.scan("SELECT 1 AS one").read_all().to_pylist() == [{"one": 1}]
    integration.close()


@pytest.fixture
def other_schema(postgres_server: DatabaseServer) -> Iterator[str]:
    name = unique("sales")
    con = postgres_server.connect()
    con.execute(f"CREATE SCHEMA {name}")
    yield name
    con.execute(f"DROP SCHEMA {name} CASCADE")
    con.close()


def test_postgres_schema_parameter_is_where_plain_names_go(postgres_server: DatabaseServer,
                                                           other_schema: str) -> None:
    integration = linked(postgres_server, schema=other_schema)
    assert integration.default_schema == other_schema
    integration.write(TableName("orders"), pa.table({"id": [1, 2]}).to_reader(), "create")
    con = postgres_server.connect()
    assert con.execute(f"SELECT count(*) FROM {other_schema}.orders").fetchall() == [(2,)]
    con.close()
    assert integration.scan("SELECT count(*) AS n FROM orders").read_all().to_pylist() == [{"n": 2}]
    assert [t.name for t in integration.tables(other_schema)] == ["orders"]
    integration.close()


def test_mysql_table_in_another_database(mariadb_server: DatabaseServer) -> None:
    other = unique("elsewhere")
    con = mariadb_server.connect()
    try:
        con.cursor().execute(f"CREATE DATABASE {other}")
        integration = linked(mariadb_server)
        integration.write(TableName("t", other), pa.table({"id": [5]}).to_reader(), "create")
        assert integration.schema(TableName("t", other)).names == ["id"]
        assert [t.name for t in integration.tables(other)] == ["t"]
        assert "t" not in {t.name for t in integration.tables()}
        integration.close()
    finally:
        con.cursor().execute(f"DROP DATABASE {other}")
        con.close()
