"""SHOW PROCESSLIST, KILL and max_execution_time through the real server, as MySQL clients use them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from tests.conftest import RunningServer, start_server
from tests.e2e.helpers import mysql, upload

# A 10^12-row cross product: hours of DuckDB work, so only a stop ends it.
SLOW = ("SELECT SUM(a.n * b.n + c.n - d.n) AS s FROM files.numbers AS a, files.numbers AS b, "
        "files.numbers AS c, files.numbers AS d")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("processes")
    running = start_server(root / "data")
    csv = root / "numbers.csv"
    csv.write_text("n\n" + "\n".join(str(i) for i in range(1000)) + "\n")
    upload(running, "numbers", csv)
    yield running
    running.stop()


def _rows(con: pymysql.connections.Connection, sql: str) -> list[dict]:
    with con.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def _run_in_background(con: pymysql.connections.Connection, sql: str) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(_rows(con, sql))
        except pymysql.err.MySQLError as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _wait_until_running(admin: pymysql.connections.Connection, connection_id: int) -> dict:
    for _ in range(200):
        process = next(p for p in _rows(admin, "SHOW FULL PROCESSLIST") if p["Id"] == connection_id)
        if process["Command"] == "Query":
            return process
        time.sleep(0.05)
    raise AssertionError(f"connection {connection_id} never showed its query")


def test_processlist_shows_every_connection_and_what_it_runs(server: RunningServer) -> None:
    with mysql(server) as admin, mysql(server) as worker:
        admin_id = _rows(admin, "SELECT CONNECTION_ID() AS id")[0]["id"]
        worker_id = _rows(worker, "SELECT CONNECTION_ID() AS id")[0]["id"]
        assert admin_id != worker_id
        listed = {p["Id"]: p for p in _rows(admin, "SHOW PROCESSLIST")}
        assert {admin_id, worker_id} <= set(listed)
        assert listed[worker_id]["User"] == server.user and listed[worker_id]["Command"] == "Sleep"
        assert listed[admin_id]["Info"] == "SHOW PROCESSLIST"  # the statement asking is running

        thread, outcome = _run_in_background(worker, SLOW)
        assert _wait_until_running(admin, worker_id)["Info"] == SLOW
        _rows(admin, f"KILL QUERY {worker_id}")
        thread.join(60)
        assert isinstance(outcome[0], pymysql.err.OperationalError) and outcome[0].args[0] == 1317
        assert _rows(worker, "SELECT 1 AS up") == [{"up": 1}]  # KILL QUERY leaves the connection open


def test_kill_connection_ends_it_and_unknown_ids_are_an_error(server: RunningServer) -> None:
    with mysql(server) as admin:
        victim = mysql(server)
        victim_id = _rows(victim, "SELECT CONNECTION_ID() AS id")[0]["id"]
        thread, outcome = _run_in_background(victim, SLOW)
        _wait_until_running(admin, victim_id)
        _rows(admin, f"KILL {victim_id}")
        thread.join(60)
        assert isinstance(outcome[0], pymysql.err.MySQLError)
        with pytest.raises(pymysql.err.MySQLError):
            _rows(victim, "SELECT 1")
        for _ in range(400):  # the server lets go of the connection once its statement stops
            if victim_id not in {p["Id"] for p in _rows(admin, "SHOW PROCESSLIST")}:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("a killed connection is still listed")
        with pytest.raises(pymysql.err.OperationalError) as unknown:
            _rows(admin, "KILL 999999")
        assert unknown.value.args[0] == 1094


def test_max_execution_time_stops_a_select(server: RunningServer, tmp_path: Path) -> None:
    with mysql(server) as con:
        _rows(con, "SET SESSION max_execution_time = 200")
        with pytest.raises(pymysql.err.OperationalError) as stopped:
            _rows(con, SLOW)
        assert stopped.value.args[0] == 3024 and "maximum statement execution time" in stopped.value.args[1]
        assert _rows(con, "SELECT COUNT(*) AS n FROM files.numbers") == [{"n": 1000}]
        _rows(con, "SET max_execution_time = 0")
        assert _rows(con, "SELECT @@max_execution_time AS t") == [{"t": 0}]


@pytest.mark.parametrize("value", ["1e309", "99999999999999999999999999999999", "'soon'"])
def test_an_odd_max_execution_time_never_breaks_the_next_statements(server: RunningServer, value: str) -> None:
    """A huge limit is MySQL's largest; an infinite one, or one that is not a number, is no limit."""
    with mysql(server) as con:
        _rows(con, f"SET max_execution_time = {value}")
        assert _rows(con, "SELECT COUNT(*) AS n FROM files.numbers") == [{"n": 1000}]


@pytest.fixture(scope="module")
def streaming_model(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    csv = tmp_path_factory.mktemp("streaming") / "xy.csv"
    csv.write_text("x,y\n" + "\n".join(f"{(i * 7919) % 51},{(i * 104729) % 1000 / 1000}" for i in range(1000)) + "\n")
    upload(server, "xy", csv)
    with mysql(server) as con:
        _rows(con, "CREATE MODEL streamer FROM files (SELECT * FROM xy) PREDICT y "
                   "USING time_budget = 2, mixers = ['Linear'], join_learn_process = true")
    return "streamer"


# A model JOIN over a 10^9-row cross product: it streams (rows reach the client as they are
# predicted) for far longer than any test waits.
STREAMED = ("SELECT m.y FROM (SELECT a.n + b.n + c.n AS x FROM files.numbers AS a, files.numbers AS b, "
            "files.numbers AS c) AS t JOIN streamer AS m ON t.x = m.x")


def test_a_streamed_answer_stays_in_the_processlist_and_kill_stops_it(
        server: RunningServer, streaming_model: str) -> None:
    with mysql(server) as admin, mysql(server) as con:
        connection_id = _rows(con, "SELECT CONNECTION_ID() AS id")[0]["id"]
        with con.cursor(pymysql.cursors.SSCursor) as cur:  # unbuffered: rows are read as they come
            cur.execute(STREAMED)
            assert cur.fetchone() is not None  # the statement has returned its first rows
            process = _wait_until_running(admin, connection_id)
            assert process["Info"] == STREAMED
            _rows(admin, f"KILL QUERY {connection_id}")
            with pytest.raises(pymysql.err.OperationalError) as stopped:
                cur.fetchall()
            assert stopped.value.args[0] == 1317
    with mysql(server) as con:
        assert _rows(con, "SELECT 1 AS ok") == [{"ok": 1}]


def test_max_execution_time_covers_a_streamed_answer_to_its_last_batch(
        server: RunningServer, streaming_model: str) -> None:
    with mysql(server) as con:
        _rows(con, "SET SESSION max_execution_time = 1500")
        with con.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(STREAMED)
            assert cur.fetchone() is not None  # streaming: the statement returned before the limit
            with pytest.raises(pymysql.err.OperationalError) as stopped:
                cur.fetchall()
            assert stopped.value.args[0] == 3024
        _rows(con, "SET max_execution_time = 0")
        assert _rows(con, "SELECT 1 AS ok") == [{"ok": 1}]
