"""Other real clients: mysql-connector-python (text and prepared), SQLAlchemy, the mysql/mariadb CLI."""

from __future__ import annotations

import datetime
import decimal
import shutil
import subprocess

import mysql.connector
import pytest
import sqlalchemy

from augurdb.server.mysql import MySQLServer


def connector(server: MySQLServer, **kwargs: object) -> mysql.connector.MySQLConnection:
    return mysql.connector.connect(host="127.0.0.1", port=server.port, user="root", password="",
                                   use_pure=True, **kwargs)


def test_connector_text_protocol(mysql_server: MySQLServer) -> None:
    with connector(mysql_server) as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1 AS a, 'x' AS b, NULL AS c, CAST('2024-01-02' AS DATE) AS d")
        assert cur.fetchall() == [(1, "x", None, datetime.date(2024, 1, 2))]
        with pytest.raises(mysql.connector.Error) as info:
            cur.execute("SELECT * FROM missing_table")
        assert info.value.errno == 1146 and info.value.sqlstate == "42S02"
        cur.execute("SELECT 'after error'")
        assert cur.fetchall() == [("after error",)]


def test_connector_prepared_statements(mysql_server: MySQLServer) -> None:
    with connector(mysql_server) as conn:
        cur = conn.cursor(prepared=True)
        params = (7, -2.5, "it's \\ \"q\" ✓", None, datetime.date(2024, 2, 29),
                  datetime.datetime(2024, 2, 29, 1, 2, 3, 400000), decimal.Decimal("-12.50"), b"\x00\xff")
        cur.execute("SELECT ? AS i, ? AS f, ? AS s, ? AS n, ? AS d, ? AS ts, ? AS dec, ? AS raw, '?' AS q", params)
        row = cur.fetchone()
        assert row[:7] == params[:7]
        assert [type(v) for v in row[:3]] == [int, float, str]
        assert bytes(row[7]) == b"\x00\xff" and row[8] == "?"
        cur.execute("SELECT x, x * 1.5 AS y, CONCAT('n', x) AS s FROM UNNEST(RANGE(?)) AS t(x) WHERE x > ?", (1000, 5))
        rows = cur.fetchall()
        assert len(rows) == 994 and rows[0] == (6, 9.0, "n6")
        cur.execute("SELECT CAST(? AS TIME) AS t, TRUE AS flag, CAST(? AS FLOAT) AS f", ("01:02:03", 0.5))
        one_two_three = datetime.timedelta(hours=1, minutes=2, seconds=3)  # TIME comes back as a timedelta
        assert cur.fetchone() == (one_two_three, 1, 0.5)


def test_connector_prepared_error_and_reuse(mysql_server: MySQLServer) -> None:
    with connector(mysql_server) as conn:
        cur = conn.cursor(prepared=True)
        with pytest.raises(mysql.connector.Error) as info:
            cur.execute("SELECT * FROM missing_table WHERE a = ?", (1,))
        assert info.value.errno == 1146
        cur.execute("SELECT ? + 1", (41,))
        assert cur.fetchone() == (42,)


def test_connector_c_extension(mysql_server: MySQLServer) -> None:
    try:
        conn = mysql.connector.connect(host="127.0.0.1", port=mysql_server.port, user="root", password="",
                                       use_pure=False)
    except (ImportError, mysql.connector.Error) as exc:
        pytest.skip(f"C extension unavailable: {exc}")
    if not type(conn).__name__.startswith("CMySQL"):
        conn.close()
        pytest.skip("C extension unavailable")
    with conn:
        cur = conn.cursor()
        cur.execute("SELECT 1, 'c-ext'")
        assert cur.fetchall() == [(1, "c-ext")]
        cur = conn.cursor(prepared=True)
        cur.execute("SELECT ?, ?", (5, "p"))
        assert cur.fetchall() == [(5, "p")]


def test_sqlalchemy(mysql_server: MySQLServer) -> None:
    engine = sqlalchemy.create_engine(f"mysql+pymysql://root@127.0.0.1:{mysql_server.port}/mindsdb")
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT 1 + 1 AS two")).scalar() == 2
            rows = conn.execute(sqlalchemy.text("SELECT :v AS v"), {"v": "bound"}).all()
            assert rows == [("bound",)]
    finally:
        engine.dispose()


CLI = shutil.which("mariadb") or shutil.which("mysql")


@pytest.mark.skipif(CLI is None, reason="no mysql/mariadb command-line client installed")
def test_cli(mysql_server: MySQLServer) -> None:
    base = [CLI, "-h", "127.0.0.1", "-P", str(mysql_server.port), "-u", "root", "--protocol=TCP"]
    out = subprocess.run([*base, "-e", "select 1"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "1" in out.stdout
    out = subprocess.run([*base, "--batch", "-e", "select 1 as a, 'x' as b, NULL as c"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "a\tb\tc\n1\tx\tNULL\n"
    out = subprocess.run([*base, "--batch", "-e", "select * from missing_table"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "ERROR 1146 (42S02)" in out.stderr


@pytest.mark.skipif(CLI is None, reason="no mysql/mariadb command-line client installed")
def test_cli_with_database_and_field_list(mysql_server: MySQLServer) -> None:
    # With a database and without -A the client lists tables and fetches their fields (COM_FIELD_LIST).
    cmd = [CLI, "-h", "127.0.0.1", "-P", str(mysql_server.port), "-u", "root", "--protocol=TCP", "mindsdb",
           "--batch", "-e", "create table cli_t (a int, b varchar); select count(*) from cli_t"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "0"


@pytest.mark.skipif(CLI is None, reason="no mysql/mariadb command-line client installed")
def test_cli_password(mysql_auth_server: MySQLServer) -> None:
    base = [CLI, "-h", "127.0.0.1", "-P", str(mysql_auth_server.port), "--protocol=TCP", "--batch", "-e", "select 7"]
    out = subprocess.run([*base, "-u", "alice", "-ps3cret"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "7"
    out = subprocess.run([*base, "-u", "alice", "-pwrong"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "ERROR 1045 (28000)" in out.stderr
