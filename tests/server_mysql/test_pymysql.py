"""Text protocol end to end with PyMySQL: queries, types, errors, big packets."""

from __future__ import annotations

import datetime
import decimal

import pymysql
import pytest

from augurdb.server.mysql import MySQLServer


def connect(server: MySQLServer, **kwargs: object) -> pymysql.Connection:
    return pymysql.connect(host="127.0.0.1", port=server.port, user="root", password="", **kwargs)


def test_select_one(mysql_server: MySQLServer) -> None:
    with connect(mysql_server) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 AS one, 'a' AS letter")
        assert cur.fetchall() == ((1, "a"),)
        assert [d[0] for d in cur.description] == ["one", "letter"]


def test_types_round_trip(mysql_server: MySQLServer) -> None:
    sql = """SELECT CAST(-5 AS TINYINT) t, CAST(300 AS SMALLINT) s, 70000 i, 9007199254740993 b,
             CAST(0.1 AS DOUBLE) d, CAST(0.5 AS FLOAT) f, CAST('12.50' AS DECIMAL(10, 2)) dec,
             TRUE AS flag, 'héllo ✓' AS txt, CAST('2024-02-29' AS DATE) dt,
             CAST('2024-02-29 13:14:15.123456' AS DATETIME) ts, CAST('2024-02-29 13:14:15' AS DATETIME) ts0,
             CAST('01:02:03' AS TIME) tm, NULL AS nothing"""
    with connect(mysql_server) as conn, conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    assert row == (
        -5, 300, 70000, 9007199254740993, 0.1, 0.5, decimal.Decimal("12.50"), 1, "héllo ✓",
        datetime.date(2024, 2, 29), datetime.datetime(2024, 2, 29, 13, 14, 15, 123456),
        datetime.datetime(2024, 2, 29, 13, 14, 15), datetime.timedelta(hours=1, minutes=2, seconds=3), None,
    )


def test_unsigned_blob_and_json_text(mysql_server: MySQLServer) -> None:
    with connect(mysql_server) as conn, conn.cursor() as cur:
        cur.execute("SELECT CAST(18446744073709551615 AS UNSIGNED) u, X'00FF41' AS raw")
        assert cur.fetchone() == (18446744073709551615, b"\x00\xffA")


def test_nulls_and_many_rows(mysql_server: MySQLServer) -> None:
    with connect(mysql_server) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT x, CASE WHEN x % 3 = 0 THEN NULL ELSE CONCAT('v', x) END AS s FROM UNNEST(RANGE(100000)) AS t(x)"
        )
        rows = cur.fetchall()
    assert len(rows) == 100000
    assert rows[0] == (0, None) and rows[1] == (1, "v1") and rows[99998] == (99998, "v99998")


def test_empty_result_keeps_columns(mysql_server: MySQLServer) -> None:
    with connect(mysql_server) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 AS a, 'x' AS b WHERE 1 = 0")
        assert cur.fetchall() == ()
        assert [d[0] for d in cur.description] == ["a", "b"]


def test_ok_packet_affected_rows(mysql_server: MySQLServer) -> None:
    with connect(mysql_server) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE pm_affected (a INT)")
        assert cur.execute("INSERT INTO pm_affected VALUES (1), (2), (3)") == 3
        cur.execute("SELECT COUNT(*) FROM pm_affected")
        assert cur.fetchone() == (3,)


def test_errors_carry_code_and_connection_survives(mysql_server: MySQLServer) -> None:
    with connect(mysql_server) as conn, conn.cursor() as cur:
        with pytest.raises(pymysql.err.ProgrammingError) as info:
            cur.execute("SELECT * FROM missing_table")
        assert info.value.args[0] == 1146
        assert "missing_table" in info.value.args[1]
        with pytest.raises(pymysql.err.MySQLError) as info:
            cur.execute("SELECT 'boom'")
        assert info.value.args == (1105, "Internal error: RuntimeError: boom happened")
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)


def test_use_and_connect_with_db(mysql_server: MySQLServer) -> None:
    with connect(mysql_server, database="files") as conn, conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("files",)
        conn.select_db("mindsdb")
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("mindsdb",)
        with pytest.raises(pymysql.err.OperationalError) as info:
            conn.select_db("nope")
        assert info.value.args[0] == 1049
    with pytest.raises(pymysql.err.OperationalError) as info:
        connect(mysql_server, database="nope")
    assert info.value.args[0] == 1049


def test_query_larger_than_16mb(mysql_server: MySQLServer) -> None:
    payload = "x" * (17 * 1024 * 1024)
    with connect(mysql_server) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT LENGTH('{payload}') AS n, '{payload}' AS s")
        n, s = cur.fetchone()
        assert n == len(payload) and s == payload
        cur.execute("SELECT 'still in sync'")
        assert cur.fetchone() == ("still in sync",)


def test_empty_query_and_ping(mysql_server: MySQLServer) -> None:
    with connect(mysql_server) as conn, conn.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as info:
            cur.execute("   ")
        assert info.value.args[0] == 1065
        conn.ping(reconnect=False)


def test_wrong_password(mysql_auth_server: MySQLServer) -> None:
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(host="127.0.0.1", port=mysql_auth_server.port, user="alice", password="wrong")
    assert info.value.args[0] == 1045
    assert "Access denied for user 'alice'@'127.0.0.1' (using password: YES)" in info.value.args[1]
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(host="127.0.0.1", port=mysql_auth_server.port, user="bob", password="s3cret")


def test_right_password(mysql_auth_server: MySQLServer) -> None:
    with pymysql.connect(host="127.0.0.1", port=mysql_auth_server.port, user="alice", password="s3cret") as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)


def test_caching_sha2_client_is_switched(mysql_auth_server: MySQLServer) -> None:
    conn = pymysql.connect(host="127.0.0.1", port=mysql_auth_server.port, user="alice", password="s3cret",
                           auth_plugin_map={}, defer_connect=True)
    conn._auth_plugin_name = "caching_sha2_password"
    conn.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT 'switched'")
        assert cur.fetchone() == ("switched",)
    conn.close()
