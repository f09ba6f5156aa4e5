"""Real MySQL clients against the real server: probes, catalog browsing, errors, typed results."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import mysql.connector as mysql_connector
import pandas as pd
import pymysql
import pytest
import sqlalchemy
from tests.conftest import RunningServer
from tests.e2e.helpers import mysql, query, upload


@pytest.fixture(scope="module")
def rentals_file(server: RunningServer, shared_data: Path) -> str:
    upload(server, "home_rentals", shared_data / "home_rentals" / "home_rentals.csv")
    return "home_rentals"


def test_client_probes(server: RunningServer) -> None:
    assert query(server, "SELECT @@version_comment LIMIT 1") == [{"@@version_comment": "augurdb"}]
    assert query(server, "SELECT @@version")[0]["@@version"].startswith("8.0")
    assert query(server, "SELECT DATABASE()")[0] == {"DATABASE()": "mindsdb"}
    names = [r["Variable_name"] for r in query(server, "SHOW VARIABLES LIKE 'character_set%'")]
    assert "character_set_client" in names and all(n.startswith("character_set") for n in names)
    assert query(server, "SHOW SESSION STATUS") and query(server, "SHOW GLOBAL STATUS LIKE 'Uptime'")
    for statement in ("SET NAMES utf8mb4", "SET autocommit = 1", "SET SESSION sql_mode = 'ANSI'",
                      "START TRANSACTION", "COMMIT", "ROLLBACK"):
        assert query(server, statement) == []
    assert [r["Engine"] for r in query(server, "SHOW ENGINES")] == ["augurdb"]
    assert "utf8mb4" in [r["Charset"] for r in query(server, "SHOW CHARSET")]
    assert "utf8mb4_general_ci" in [r["Collation"] for r in query(server, "SHOW COLLATION")]
    assert query(server, "SHOW WARNINGS") == []


def test_databases_tables_and_columns(server: RunningServer, rentals_file: str) -> None:
    databases = [r["Database"] for r in query(server, "SHOW DATABASES")]
    assert databases[:3] == ["information_schema", "mindsdb", "files"]  # then linked databases, if any
    assert {"Tables_in_files": "home_rentals"} in query(server, "SHOW TABLES FROM files")
    assert {"Tables_in_files": "home_rentals", "Table_type": "BASE TABLE"} in query(server, "SHOW FULL TABLES IN files")
    columns = query(server, "SHOW COLUMNS FROM files.home_rentals")
    assert [c["Field"] for c in columns][:2] == ["number_of_rooms", "number_of_bathrooms"]
    assert query(server, "DESCRIBE files.home_rentals") == columns
    rows = query(server, "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'files'")
    assert {"t": "home_rentals"} in rows
    assert len(query(server, "SELECT * FROM information_schema.columns WHERE table_name = 'home_rentals'")) == 8
    assert {"SCHEMA_NAME": "files"} in query(server, "SELECT schema_name AS SCHEMA_NAME FROM information_schema.schemata")
    create = query(server, "SHOW CREATE TABLE files.home_rentals")[0]["Create Table"]
    assert create.startswith("CREATE TABLE `home_rentals`") and "`rental_price` double" in create


def test_use_and_plain_sql(server: RunningServer, rentals_file: str) -> None:
    with mysql(server) as con, con.cursor() as cur:
        cur.execute("USE files")
        cur.execute("SELECT location, count(*) AS n, max(rental_price) AS top FROM home_rentals "
                    "GROUP BY location HAVING count(*) > 100 ORDER BY n DESC LIMIT 2")
        rows = cur.fetchall()
        assert len(rows) == 2 and rows[0][1] >= rows[1][1]
        cur.execute("WITH big AS (SELECT * FROM home_rentals WHERE number_of_rooms >= 2) "
                    "SELECT count(*) FROM big UNION ALL SELECT count(*) FROM home_rentals")
        big, everything = (r[0] for r in cur.fetchall())
        assert 0 < big < everything == 5037
        cur.execute("SELECT CONCAT(location, '-', neighborhood), IFNULL(NULL, 3), ROUND(AVG(sqft_n), 1) FROM "
                    "(SELECT location, neighborhood, number_of_rooms * 100 AS sqft_n FROM home_rentals) s "
                    "GROUP BY 1 ORDER BY 1 LIMIT 1")
        assert cur.fetchone()[1] == 3
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("files",)


def test_results_are_typed_on_the_wire(server: RunningServer) -> None:
    rows = query(server, "SELECT 1 AS i, 2.5::DOUBLE AS f, 'héllo' AS s, NULL AS n, TRUE AS b, "
                         "DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 10:11:12' AS ts")
    assert rows == [{"i": 1, "f": 2.5, "s": "héllo", "n": None, "b": 1, "d": datetime.date(2024, 2, 29),
                     "ts": datetime.datetime(2024, 2, 29, 10, 11, 12)}]


def test_errors_have_mysql_codes_and_the_connection_survives(server: RunningServer) -> None:
    with mysql(server) as con, con.cursor() as cur:
        for sql, code in (("SELEC 1", 1064), ("SELECT * FROM nowhere.t", 1049), ("SELECT * FROM files.nope", 1146),
                          ("SELECT nope FROM information_schema.tables", 1054), ("SELECT @@nope", 1193),
                          ("SELECT * FROM mindsdb.no_model", 1146)):
            with pytest.raises(pymysql.err.MySQLError) as error:
                cur.execute(sql)
            assert error.value.args[0] == code, (sql, error.value.args)
        with pytest.raises(pymysql.err.MySQLError, match="near"):
            cur.execute("SELECT * FORM t")
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


def test_projects(server: RunningServer) -> None:
    with mysql(server) as con, con.cursor() as cur:
        cur.execute("CREATE PROJECT sandbox")
        cur.execute("CREATE DATABASE IF NOT EXISTS sandbox")
        with pytest.raises(pymysql.err.MySQLError):
            cur.execute("CREATE PROJECT sandbox")
        cur.execute("SHOW DATABASES")
        assert ("sandbox",) in cur.fetchall()
        cur.execute("DROP PROJECT sandbox")
        cur.execute("DROP DATABASE IF EXISTS sandbox")
        with pytest.raises(pymysql.err.MySQLError) as error:
            cur.execute("USE sandbox")
        assert error.value.args[0] == 1049


def test_mysql_connector_text_and_prepared(server: RunningServer, rentals_file: str) -> None:
    con = mysql_connector.connect(host="127.0.0.1", port=server.mysql_port, user="augur", password="",
                                  database="files")
    try:
        cur = con.cursor()
        cur.execute("SELECT count(*) FROM home_rentals WHERE location = 'great'")
        (count,) = cur.fetchone()
        prepared = con.cursor(prepared=True)
        prepared.execute("SELECT count(*) FROM home_rentals WHERE location = ? AND number_of_rooms >= ?",
                         ("great", 0))
        assert prepared.fetchone()[0] == count > 0
    finally:
        con.close()


def test_sqlalchemy_and_pandas(server: RunningServer, rentals_file: str) -> None:
    engine = sqlalchemy.create_engine(f"mysql+pymysql://augur:@127.0.0.1:{server.mysql_port}/files")
    with engine.connect() as con:
        assert con.execute(sqlalchemy.text("SELECT count(*) FROM home_rentals")).scalar() == 5037
    inspector = sqlalchemy.inspect(engine)
    assert "home_rentals" in inspector.get_table_names()
    assert [c["name"] for c in inspector.get_columns("home_rentals")][-1] == "rental_price"
    frame = pd.read_sql("SELECT * FROM home_rentals LIMIT 10", engine)
    assert frame.shape == (10, 8)
    assert pd.read_sql("home_rentals", engine).shape == (5037, 8)  # table reflection, then SELECT
    engine.dispose()


def test_mariadb_command_line_client(server: RunningServer, rentals_file: str) -> None:
    client = next((c for c in ("mariadb", "mysql") if subprocess.run(["which", c], capture_output=True).returncode == 0),
                  None)
    if client is None:
        pytest.fail("no mariadb/mysql client installed: `make test` installs mariadb-client")
    base = [client, "-h", "127.0.0.1", "-P", str(server.mysql_port), "-u", "augur", "--batch"]
    out = subprocess.run([*base, "-e", "SELECT count(*) AS n FROM files.home_rentals"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["n", "5037"]
    # An interactive-style session: USE reads table and column names for completion (MindsDB's hangs here).
    script = "USE files;\nSELECT location FROM home_rentals ORDER BY location LIMIT 1;\nSHOW TABLES;\n"
    out = subprocess.run([*base[:-1], "--auto-rehash"], input=script, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["location", "good"] and "home_rentals" in out.stdout
    bad = subprocess.run([*base, "-e", "SELECT * FROM files.nope"], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "1146" in bad.stderr
