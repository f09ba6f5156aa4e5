"""Restarts, crashes and authentication, each with a server of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pymysql
import pytest
from tests.conftest import RunningServer, start_server
from tests.e2e.helpers import assert_complete, query, upload, wait_for_model


def test_keeps_models_files_and_projects_across_restart(tmp_path: Path, shared_data: Path) -> None:
    server = start_server(tmp_path / "data")  # start-up time is measured by bench/server.py
    try:
        upload(server, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
        query(server, "CREATE PROJECT kept")
        query(server, "CREATE MODEL kept.m FROM files (SELECT * FROM rentals LIMIT 600) PREDICT rental_price "
                      "USING time_budget = 2, mixers = ['Linear']")
        assert_complete(wait_for_model(server, "m", project="kept"))
    finally:
        server.stop()
    server = start_server(tmp_path / "data")
    try:
        assert query(server, "SELECT count(*) AS n FROM files.rentals") == [{"n": 5037}]
        assert query(server, "SELECT status FROM kept.models")[0]["STATUS"] == "complete"
        rows = query(server, "SELECT m.rental_price FROM files.rentals AS t JOIN kept.m AS m LIMIT 2")
        assert len(rows) == 2
    finally:
        server.stop()


def test_killed_training_worker_leaves_the_model_in_error(tmp_path: Path, shared_data: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        upload(server, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
        query(server, "CREATE MODEL doomed FROM files (SELECT * FROM rentals) PREDICT rental_price "
                      "USING time_budget = 60")
        _wait_until_training(server, "doomed")
        pid = _worker_pid(server.data_dir)
        assert pid
        os.kill(pid, signal.SIGKILL)
        model = wait_for_model(server, "doomed", timeout=30)
        assert model["STATUS"] == "error" and "ended unexpectedly" in model["ERROR"]
        assert query(server, "SELECT 1 AS ok") == [{"ok": 1}]  # the server is unharmed
    finally:
        server.stop()


def test_server_killed_during_training_loses_nothing(tmp_path: Path, shared_data: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        upload(server, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
        query(server, "CREATE MODEL survivor FROM files (SELECT * FROM rentals) PREDICT rental_price "
                      "USING time_budget = 6")
        _wait_until_training(server, "survivor")
    finally:
        server.process.kill()  # kill -9: no clean shutdown
        server.process.wait()
    server = start_server(tmp_path / "data")
    try:
        model = wait_for_model(server, "survivor", timeout=60)
        assert model["STATUS"] in ("complete", "error")  # never stuck in training
        assert query(server, "SELECT count(*) AS n FROM files.rentals") == [{"n": 5037}]
    finally:
        server.stop()


def _wait_until_training(server: RunningServer, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while query(server, f"SELECT status FROM models WHERE name = '{name}'")[0]["STATUS"] != "training":
        if time.monotonic() > deadline:
            pytest.fail(f"training of {name} never started within {timeout} s")
        time.sleep(0.1)


def _worker_pid(data_dir: Path) -> int | None:
    import sqlite3

    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        row = db.execute("SELECT worker_pid FROM models WHERE name = 'doomed'").fetchone()
    return row[0] if row else None


def test_authentication_on_both_protocols(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--user", "alice", "--password", "s3cret")
    try:
        with pytest.raises(pymysql.err.OperationalError) as error:
            pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="alice", password="wrong")
        assert error.value.args[0] == 1045
        con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="alice", password="s3cret")
        con.close()
        url = f"{server.http}/api/sql/query"
        assert httpx.post(url, json={"query": "SELECT 1"}).status_code == 401
        assert httpx.post(url, json={"query": "SELECT 1"}, auth=("alice", "s3cret")).json()["data"] == [[1]]
    finally:
        server.stop()


def test_refuses_a_public_address_without_credentials(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "augurdb.cli", "serve", "--host", "0.0.0.0",
                             "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "without authentication" in result.stderr


def test_sigterm_lets_a_statement_in_flight_finish_then_stops(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    csv = tmp_path / "numbers.csv"
    csv.write_text("n\n" + "\n".join(str(i) for i in range(400)) + "\n")
    upload(server, "numbers", csv)
    # 6.4e7 rows of DuckDB work: long enough to be in flight, well inside the 8 s grace.
    slow = "SELECT SUM(a.n * b.n - c.n) AS s FROM files.numbers AS a, files.numbers AS b, files.numbers AS c"
    expected = sum(a * b for a in range(400) for b in range(400)) * 400 - 400 * 400 * sum(range(400))
    busy = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur")
    idle = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur")
    outcome: list[object] = []

    def run() -> None:
        with busy.cursor() as cur:
            cur.execute(slow)
            outcome.append(cur.fetchall())

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while not any(p["Info"] and "SUM(a.n" in p["Info"] for p in query(server, "SHOW FULL PROCESSLIST")):
        if time.monotonic() > deadline:
            pytest.fail("the slow statement never showed")
        time.sleep(0.02)
    server.process.terminate()
    thread.join(timeout=20)
    assert outcome == [((expected,),)]
    assert server.process.wait(timeout=30) == 0
    with pytest.raises(pymysql.err.OperationalError):  # the idle connection was closed
        with idle.cursor() as cur:
            cur.execute("SELECT 1")
    with pytest.raises(pymysql.err.OperationalError):  # and nothing listens any more
        pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", connect_timeout=2)


def test_repeated_failed_logins_are_slowed_on_both_protocols(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--user", "alice", "--password", "s3cret")
    try:
        for _ in range(4):
            with pytest.raises(pymysql.err.OperationalError) as error:
                pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="alice", password="guess")
            assert error.value.args[0] == 1045
        assert "login from 127.0.0.1 delayed 1 s: 3 failed logins in a row" in server.log.read_text()
        pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="alice", password="s3cret").close()
        url = f"{server.http}/api/sql/query"
        for _ in range(3):  # the right password cleared the count: three free guesses again, over HTTP
            assert httpx.post(url, json={"query": "SELECT 1"}, auth=("alice", "guess")).status_code == 401
        answer = httpx.post(url, json={"query": "SELECT 1"}, auth=("alice", "s3cret"), timeout=30)
        assert answer.json()["data"] == [[1]]
        assert server.log.read_text().count("delayed 1 s: 3 failed logins in a row") == 2
        assert "s3cret" not in server.log.read_text() and "guess" not in server.log.read_text()
        # `ps` shows the server's arguments to every user: the password is masked there.
        title = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
        assert b"s3cret" not in title and b"--password ******" in title.replace(b"\0", b" ")
    finally:
        server.stop()
