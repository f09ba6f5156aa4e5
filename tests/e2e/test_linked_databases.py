"""Linked databases through the real server: real PostgreSQL and MariaDB (started by the test
set-up from the Debian packages), SQLite and DuckDB files, queried over the MySQL protocol."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pymysql
import pytest
from tests.conftest import RunningServer, start_server
from tests.databases import DatabaseServer, load_csv, mariadb_server, postgres_server  # noqa: F401
from tests.e2e.helpers import assert_complete, mysql, query, upload, wait_for_model


def _link(server: RunningServer, name: str, engine: str, parameters: dict[str, Any]) -> None:
    query(server, f"CREATE DATABASE {name} WITH ENGINE = '{engine}', PARAMETERS = {json.dumps(parameters)}")


def _error(server: RunningServer, sql: str) -> tuple[int, str]:
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as raised:
        cur.execute(sql)
    return raised.value.args[0], raised.value.args[1]


@pytest.fixture(scope="module")
def linked(postgres_server: DatabaseServer, mariadb_server: DatabaseServer,  # noqa: F811
           tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    """A server with pg (home_rentals in schema test, airports), my (flights sample) and files."""
    load_csv(postgres_server, "home_rentals", "home_rentals/home_rentals.csv", schema="test")
    load_csv(mariadb_server, "titanic", "titanic/train.csv")
    with postgres_server.connect() as con:
        con.execute("DROP TABLE IF EXISTS neighborhoods")
        con.execute("CREATE TABLE neighborhoods (name text, borough text)")
        con.execute("INSERT INTO neighborhoods VALUES ('downtown', 'Center'), ('westbrae', 'West'), "
                    "('berkeley_hills', 'Hills')")
    server = start_server(tmp_path_factory.mktemp("linked") / "data")
    _link(server, "pg", "postgres", postgres_server.parameters())
    _link(server, "my", "mariadb", mariadb_server.parameters())
    yield server
    server.stop()


def test_show_databases_and_tables(linked: RunningServer) -> None:
    full = {r["Database"]: r for r in query(linked, "SHOW FULL DATABASES")}
    assert full["pg"]["ENGINE"] == "postgres" and full["my"]["ENGINE"] == "mysql"
    assert full["pg"]["TYPE"] == "data"
    tables = [r["Tables_in_pg"] for r in query(linked, "SHOW TABLES FROM pg")]
    assert "neighborhoods" in tables and "test.home_rentals" in tables
    assert [r["Tables_in_pg"] for r in query(linked, "SHOW TABLES FROM pg.test")] == ["home_rentals"]
    columns = query(linked, "SELECT COLUMN_NAME FROM information_schema.columns "
                            "WHERE TABLE_SCHEMA = 'my' AND TABLE_NAME = 'titanic' ORDER BY ORDINAL_POSITION")
    assert [c["COLUMN_NAME"] for c in columns][:3] == ["PassengerId", "Survived", "Pclass"]


def test_queries_pushed_to_postgres_match_the_source(linked: RunningServer,
                                                      postgres_server: DatabaseServer) -> None:  # noqa: F811
    sql = ("SELECT location, count(*) AS n, round(avg(rental_price)) AS mean FROM pg.test.home_rentals "
           "WHERE rental_price > 3000 OR neighborhood = 'downtown' GROUP BY location ORDER BY location")
    got = query(linked, sql)
    with postgres_server.connect() as con:
        expected = con.execute("SELECT location, count(*), round(avg(rental_price)) FROM test.home_rentals "
                               "WHERE rental_price > 3000 OR neighborhood = 'downtown' GROUP BY location "
                               "ORDER BY location").fetchall()
    assert [(r["location"], r["n"], float(r["mean"])) for r in got] == [(a, b, float(c)) for a, b, c in expected]
    plan = query(linked, f"EXPLAIN {sql}")
    assert plan[0]["operator"] == "RemoteScan" and plan[0]["target"] == "pg"
    assert "GROUP BY location" in plan[0]["detail"] and "public" not in plan[0]["detail"]


def test_mariadb_filters_limit_and_offset(linked: RunningServer) -> None:
    rows = query(linked, "SELECT Name, Age FROM my.titanic WHERE Sex = 'female' AND Age IS NOT NULL "
                         "ORDER BY Age DESC, Name LIMIT 3 OFFSET 1")
    assert len(rows) == 3 and rows[0]["Age"] >= rows[1]["Age"] >= rows[2]["Age"]


def test_cross_source_join_postgres_mariadb_and_files(linked: RunningServer, tmp_path: Path,
                                                     postgres_server: DatabaseServer) -> None:  # noqa: F811
    csv = tmp_path / "classes.csv"
    csv.write_text("pclass,label\n1,first\n2,second\n3,third\n")
    upload(linked, "classes", csv)
    rows = query(linked, "SELECT c.label, count(*) AS n FROM my.titanic AS t JOIN files.classes AS c "
                         "ON t.Pclass = c.pclass WHERE t.Sex = 'male' GROUP BY c.label ORDER BY c.label")
    assert [r["label"] for r in rows] == ["first", "second", "third"] and sum(r["n"] for r in rows) == 577
    sql = ("SELECT h.neighborhood, n.borough, count(*) AS homes FROM pg.test.home_rentals AS h "
           "JOIN pg.neighborhoods AS n ON h.neighborhood = n.name "
           "JOIN files.classes AS c ON c.pclass = h.number_of_rooms "
           "GROUP BY h.neighborhood, n.borough ORDER BY homes DESC, h.neighborhood")
    rows = query(linked, sql)
    with postgres_server.connect() as con:
        expected = con.execute("SELECT h.neighborhood, n.borough, count(*) FROM test.home_rentals AS h "
                               "JOIN neighborhoods AS n ON h.neighborhood = n.name "
                               "WHERE h.number_of_rooms BETWEEN 1 AND 3 "
                               "GROUP BY 1, 2 ORDER BY 3 DESC, 1").fetchall()
    assert [(r["neighborhood"], r["borough"], r["homes"]) for r in rows] == [tuple(e) for e in expected]
    scans = [r for r in query(linked, f"EXPLAIN {sql}") if r["operator"] == "RemoteScan"]
    assert len(scans) == 1 and "JOIN" in scans[0]["detail"] and "neighborhoods" in scans[0]["detail"]


def test_native_query_in_postgres_dialect(linked: RunningServer) -> None:
    rows = query(linked, "SELECT * FROM pg (SELECT location::text AS loc, count(*) AS n FROM test.home_rentals "
                         "WHERE neighborhood ILIKE 'DOWN%' GROUP BY 1 ORDER BY 1) AS q")
    assert [r["loc"] for r in rows] == sorted(r["loc"] for r in rows) and all(r["n"] > 0 for r in rows)


def test_train_from_postgres_predict_in_a_join_and_write_back(linked: RunningServer,
                                                              postgres_server: DatabaseServer) -> None:  # noqa: F811
    query(linked, "CREATE MODEL mindsdb.pg_rentals FROM pg (SELECT * FROM test.home_rentals) "
                  "PREDICT rental_price USING time_budget = 5, mixers = ['Linear', 'LightGBM']")
    assert_complete(wait_for_model(linked, "pg_rentals"))
    rows = query(linked, "SELECT t.sqft, t.rental_price AS actual, m.rental_price AS predicted "
                         "FROM pg.test.home_rentals AS t JOIN mindsdb.pg_rentals AS m "
                         "WHERE t.neighborhood = 'downtown'")
    assert rows and all(abs(r["predicted"] - r["actual"]) < 0.2 * r["actual"] + 300 for r in rows)
    query(linked, "CREATE TABLE pg.predictions (SELECT t.sqft, t.neighborhood, m.rental_price AS predicted "
                  "FROM pg.test.home_rentals AS t JOIN mindsdb.pg_rentals AS m WHERE t.neighborhood = 'downtown')")
    with postgres_server.connect() as con:
        written = con.execute("SELECT count(*), min(predicted) FROM predictions").fetchone()
    assert written[0] == len(rows) and written[1] is not None
    query(linked, "INSERT INTO pg.predictions (SELECT t.sqft, t.neighborhood, m.rental_price "
                  "FROM pg.test.home_rentals AS t JOIN mindsdb.pg_rentals AS m WHERE t.neighborhood = 'westbrae')")
    counted = query(linked, "SELECT count(*) AS n FROM pg.predictions")
    westbrae = query(linked, "SELECT count(*) AS n FROM pg.test.home_rentals WHERE neighborhood = 'westbrae'")
    assert counted[0]["n"] == len(rows) + westbrae[0]["n"]


def test_retrain_reads_the_source_again(linked: RunningServer, postgres_server: DatabaseServer) -> None:  # noqa: F811
    with postgres_server.connect() as con:
        con.execute("DROP TABLE IF EXISTS growing")
        con.execute("CREATE TABLE growing AS SELECT * FROM test.home_rentals LIMIT 300")
    query(linked, "CREATE MODEL mindsdb.growing FROM pg (SELECT * FROM growing) PREDICT rental_price "
                  "USING time_budget = 3, mixers = ['Linear']")
    assert_complete(wait_for_model(linked, "growing"))
    with postgres_server.connect() as con:
        con.execute("INSERT INTO growing SELECT * FROM test.home_rentals OFFSET 300 LIMIT 500")
    query(linked, "RETRAIN mindsdb.growing")
    retrained = wait_for_model(linked, "growing")
    assert retrained["STATUS"] == "complete" and retrained["VERSION"] == 2
    info = {v: query(linked, f"DESCRIBE mindsdb.growing.{v}.info")[0]["training_rows"] for v in (1, 2)}
    assert info[2] > info[1]


def test_a_bad_connection_is_an_error_at_create_and_nothing_is_stored(
        linked: RunningServer, postgres_server: DatabaseServer) -> None:  # noqa: F811
    wrong_password = {**postgres_server.parameters(), "password": "nope"}
    code, message = _error(linked, "CREATE DATABASE bad WITH ENGINE = 'postgres', "
                                   f"PARAMETERS = {json.dumps(wrong_password)}")
    assert code == 1045 and "nope" not in message
    code, _ = _error(linked, "CREATE DATABASE bad WITH ENGINE = 'postgres', PARAMETERS = "
                             f"{json.dumps(postgres_server.parameters(database='missing_db'))}")
    assert code == 1049
    code, message = _error(linked, "CREATE DATABASE bad WITH ENGINE = 'postgres', PARAMETERS = "
                                   f"{json.dumps(postgres_server.parameters(port=1))}")
    assert code == 2003 and "1" in message
    code, message = _error(linked, "CREATE DATABASE bad WITH ENGINE = 'oracle9', PARAMETERS = {}")
    assert code == 1210 and "postgres" in message
    assert "bad" not in [r["Database"] for r in query(linked, "SHOW DATABASES")]


def test_credentials_are_masked_and_encrypted_at_rest(linked: RunningServer,
                                                      postgres_server: DatabaseServer) -> None:  # noqa: F811
    shown = query(linked, "SELECT * FROM information_schema.databases WHERE NAME = 'pg'")
    assert postgres_server.password not in json.dumps(shown, default=str)
    assert json.loads(shown[0]["CONNECTION_DATA"])["password"] == "******"
    http = httpx.post(f"{linked.http}/api/sql/query", json={"query": "SHOW FULL DATABASES"}).text
    assert postgres_server.password not in http
    catalog = (linked.data_dir / "catalog.sqlite").read_bytes()
    wal = linked.data_dir / "catalog.sqlite-wal"
    stored = catalog + (wal.read_bytes() if wal.exists() else b"")
    assert postgres_server.password.encode() not in stored and b'"host"' not in stored
    assert postgres_server.password not in linked.log.read_text()


def test_hostile_names_and_values_reach_the_source_quoted(linked: RunningServer,
                                                          postgres_server: DatabaseServer) -> None:  # noqa: F811
    table = 'we"ird; DROP TABLE neighborhoods; --'
    with postgres_server.connect() as con:
        con.execute(f'CREATE TABLE "{table.replace(chr(34), chr(34) * 2)}" ("co`l\'s" text)')
        con.execute(f'INSERT INTO "{table.replace(chr(34), chr(34) * 2)}" VALUES (%s)', ("it's \\ ; -- x",))
    backticked = table.replace("`", "``")
    rows = query(linked, f"SELECT `co``l's` AS v FROM pg.`{backticked}` WHERE `co``l's` = 'it''s \\\\ ; -- x'")
    assert rows == [{"v": "it's \\ ; -- x"}]
    assert query(linked, "SELECT count(*) AS n FROM pg.neighborhoods") == [{"n": 3}]


def test_sqlite_and_duckdb_files(linked: RunningServer, tmp_path: Path) -> None:
    lite = tmp_path / "shop.sqlite"
    with sqlite3.connect(lite) as con:
        con.execute("CREATE TABLE orders (id INTEGER, amount REAL, city TEXT)")
        con.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(1, 9.5, "Oslo"), (2, 20.0, "Rome"), (3, 1.0, "Oslo")])
    duck = tmp_path / "cities.duckdb"
    with duckdb.connect(str(duck)) as con:
        con.execute("CREATE TABLE cities AS SELECT * FROM (VALUES ('Oslo', 'NO'), ('Rome', 'IT')) t(city, country)")
    _link(linked, "lite", "sqlite", {"db_file": str(lite)})
    _link(linked, "duck", "duckdb", {"database": str(duck)})
    rows = query(linked, "SELECT c.country, sum(o.amount) AS total FROM lite.orders AS o "
                         "JOIN duck.cities AS c ON o.city = c.city GROUP BY c.country ORDER BY c.country")
    assert rows == [{"country": "IT", "total": 20.0}, {"country": "NO", "total": 10.5}]
    query(linked, "DROP DATABASE lite")
    assert _error(linked, "SELECT * FROM lite.orders")[0] == 1049


def test_a_source_that_goes_down_is_a_clear_error_and_comes_back(tmp_path: Path) -> None:
    from tests.databases import start_postgres

    pg = start_postgres(tmp_path / "pg")
    server = start_server(tmp_path / "data")
    try:
        _link(server, "flaky", "postgres", pg.parameters())
        assert query(server, "SELECT * FROM flaky (SELECT 1 AS one)") == [{"one": 1}]
        pg.stop()
        code, message = _error(server, "SELECT * FROM flaky (SELECT 1 AS x)")
        assert code == 2003 and f"127.0.0.1:{pg.port}" in message
        assert query(server, "SELECT 2 AS two") == [{"two": 2}]  # the server stays up
        pg.start()
        assert query(server, "SELECT * FROM flaky (SELECT 1 AS x)") == [{"x": 1}]
    finally:
        server.stop()
        pg.remove()


def test_a_write_that_fails_part_way_leaves_the_target_as_it_was(linked: RunningServer,
                                                                  postgres_server: DatabaseServer) -> None:  # noqa: F811
    with postgres_server.connect() as con:
        con.execute("DROP TABLE IF EXISTS guarded")
        con.execute("CREATE TABLE guarded (id integer CHECK (id < 60000))")
        con.execute("INSERT INTO guarded VALUES (1), (2), (3)")
    # 100,000 rows go in batches of 50,000: the second batch breaks the CHECK.
    code, message = _error(linked, "INSERT INTO pg.guarded (SELECT i AS id FROM range(100000) AS r(i))")
    assert "guarded_id_check" in message
    assert query(linked, "SELECT count(*) AS n FROM pg.guarded") == [{"n": 3}]
    query(linked, "CREATE TABLE files.guarded (SELECT 1 AS id)")
    code, message = _error(linked, "INSERT INTO files.guarded (SELECT CASE WHEN i < 60000 THEN "
                                   "CAST(i AS CHAR) ELSE 'x' END FROM range(100000) AS r(i))")
    assert code == 1210 and "files.guarded" in message
    assert query(linked, "SELECT count(*) AS n FROM files.guarded") == [{"n": 1}]
