"""`augurdb serve --processes 2`: two server processes on the same ports and data directory."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from tests.conftest import RunningServer, start_server
from tests.e2e.helpers import assert_complete, mysql, upload, wait_for_model

PREDICT = "SELECT rental_price FROM mindsdb.shared_m WHERE sqft = 800 AND location = 'good'"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def _is_server(pid: int) -> bool:
    try:
        return b"augurdb.cli\0serve" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "data", "--processes", "2")
    yield server
    server.stop()


def _connections_by_process(server: RunningServer, count: int = 20) -> dict[int, list[pymysql.Connection]]:
    """At least ``count`` connections, and at least 3 on each process. The second process starts
    after the first answers, so connections keep being opened until it takes its share."""
    by_process: dict[int, list[pymysql.Connection]] = {}
    deadline = time.monotonic() + 30
    while sum(map(len, by_process.values())) < count or min(len(by_process.get(i, [])) for i in (0, 1)) < 3:
        if time.monotonic() > deadline:
            pytest.fail(f"connections by process after 30 s: { {i: len(c) for i, c in by_process.items()} }")
        con = mysql(server)
        with con.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            by_process.setdefault(cur.fetchone()[0] >> 24, []).append(con)
        if len(by_process) < 2:
            time.sleep(0.05)
    return by_process


def test_both_processes_serve_one_data_directory(two_processes: RunningServer, shared_data: Path) -> None:
    server = two_processes
    by_process = _connections_by_process(server)
    try:
        assert set(by_process) == {0, 1}, "the kernel hands connections to both processes"
        upload(server, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
        with by_process[1][0].cursor() as cur:  # created through the second process ...
            cur.execute("CREATE MODEL shared_m FROM files (SELECT sqft, location, rental_price FROM rentals) "
                        "PREDICT rental_price USING time_budget = 2, mixers = ['Linear']")
        assert_complete(wait_for_model(server, "shared_m"))  # ... trained by the queue's owner
        answers = set()
        for process in (0, 1):
            with by_process[process][0].cursor() as cur:
                cur.execute(PREDICT)
                answers.add(cur.fetchone())
                cur.execute("SELECT count(*) FROM files.rentals")
                assert cur.fetchone() == (5037,)
        assert len(answers) == 1, f"both processes answer the same: {answers}"
        _processlist_and_kill_reach_the_other_process(by_process)
    finally:
        for cons in by_process.values():
            for con in cons:
                con.close()


def _processlist_and_kill_reach_the_other_process(by_process: dict[int, list[pymysql.Connection]]) -> None:
    ids = {con.thread_id() for cons in by_process.values() for con in cons}
    busy = by_process[1][2]
    busy_id = busy.thread_id()
    with by_process[0][0].cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW FULL PROCESSLIST")
        listed = {row["Id"]: row for row in cur.fetchall()}
    assert set(ids) <= set(listed), "every connection of both processes is listed"
    assert {i >> 24 for i in listed} == {0, 1}
    assert listed[by_process[0][0].thread_id()]["Info"] == "SHOW FULL PROCESSLIST"

    # KILL QUERY from process 0 stops a statement running in process 1; the connection stays.
    def long_query() -> None:
        with busy.cursor() as cur, pytest.raises(pymysql.err.OperationalError) as stopped:
            cur.execute("SELECT count(*) FROM range(1000000000000) AS a")
        errors.append(stopped.value.args[0])

    errors: list[int] = []
    runner = threading.Thread(target=long_query)
    runner.start()
    deadline = time.monotonic() + 20
    with by_process[0][0].cursor(pymysql.cursors.DictCursor) as cur:
        while True:
            cur.execute("SHOW FULL PROCESSLIST")
            if any(row["Id"] == busy_id and row["Command"] == "Query" for row in cur.fetchall()):
                break
            if time.monotonic() > deadline:
                pytest.fail("the statement in process 1 never showed in process 0's processlist")
            time.sleep(0.1)
        cur.execute(f"KILL QUERY {busy_id}")
    runner.join(30)
    assert errors == [1317]
    with busy.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    victim = by_process[1][1]
    with by_process[0][0].cursor() as cur:
        cur.execute(f"KILL {victim.thread_id()}")
    with victim.cursor() as cur, pytest.raises(pymysql.err.OperationalError):
        cur.execute("SELECT 1")
    with by_process[0][0].cursor() as cur, pytest.raises(pymysql.err.OperationalError) as unknown:
        cur.execute(f"KILL {(1 << 24) | 999_999}")
    assert unknown.value.args[0] == 1094


def test_sigterm_stops_every_process(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--processes", "3")
    deadline = time.monotonic() + 30  # the ports answer as soon as the first process binds them
    while len(children := [pid for pid in _children(server.process.pid) if _is_server(pid)]) < 2:
        if time.monotonic() > deadline:
            pytest.fail(f"the other processes did not start: {children}")
        time.sleep(0.1)
    server.process.terminate()
    assert server.process.wait(timeout=60) == 0
    assert not any(_is_server(pid) for pid in children)
