"""Both password plugins through the real server with real clients: caching_sha2_password (MySQL 8's
default, here from mysql-connector, with and without TLS) and mysql_native_password (pymysql)."""

from __future__ import annotations

from collections.abc import Iterator

import mysql.connector
import pymysql
import pytest
from tests.conftest import RunningServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("auth") / "data", "--user", "alice", "--password", "s3cret pw")
    yield running
    running.stop()


@pytest.mark.parametrize("tls", [False, True])
def test_caching_sha2_password_logs_in_on_its_fast_path(server: RunningServer, tls: bool) -> None:
    con = mysql.connector.connect(host="127.0.0.1", port=server.mysql_port, user="alice", password="s3cret pw",
                                  auth_plugin="caching_sha2_password", use_pure=True, ssl_disabled=not tls)
    cursor = con.cursor()
    cursor.execute("SELECT CURRENT_USER()")
    assert cursor.fetchall() == [("alice@localhost",)]
    con.close()
    with pytest.raises(mysql.connector.errors.ProgrammingError) as denied:
        mysql.connector.connect(host="127.0.0.1", port=server.mysql_port, user="alice", password="wrong",
                                auth_plugin="caching_sha2_password", use_pure=True, ssl_disabled=not tls)
    assert denied.value.errno == 1045


def test_native_password_still_works(server: RunningServer) -> None:
    con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="alice", password="s3cret pw")
    with con.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    con.close()
    with pytest.raises(pymysql.err.OperationalError) as denied:
        pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="alice", password="nope")
    assert denied.value.args[0] == 1045
