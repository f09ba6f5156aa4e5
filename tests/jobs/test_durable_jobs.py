"""Training runs that end `complete` or `error` whatever dies, with real servers and workers.

The kill test kills the server's whole process group with SIGKILL, as a container runtime does,
under a stand-in for a PID 1 that never reaps (no_reap_init.py): the dead server and worker
stay zombies whose PIDs still answer os.kill(pid, 0), the case that fooled PID-based recovery.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import RunningServer, start_server
from tests.e2e.helpers import query, upload, wait_for_model

import augurdb

LEASE = "2"  # seconds: short, so that recovery is quick to see
FAST = {"AUGURDB_JOB_LEASE_SECONDS": LEASE}
NO_REAP_INIT = Path(__file__).with_name("no_reap_init.py")


def _catalog_row(data_dir: Path, sql: str, *params: Any) -> dict[str, Any] | None:
    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        db.row_factory = sqlite3.Row
        row = db.execute(sql, params).fetchone()
    return dict(row) if row else None


def _model(data_dir: Path, name: str) -> dict[str, Any]:
    row = _catalog_row(data_dir, "SELECT * FROM models WHERE name = ? ORDER BY version DESC", name)
    assert row is not None, f"no model {name}"
    return row


def _wait_for_status(data_dir: Path, name: str, statuses: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (model := _model(data_dir, name))["status"] not in statuses:
        if time.monotonic() > deadline:
            pytest.fail(f"{name} is still {model['status']} after {timeout} s, not {statuses}")
        time.sleep(0.1)
    return model


def _state(pid: int) -> str | None:
    """The process's state letter from /proc (Z: a zombie), None when no such process exists."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def _wait_until_gone(pids: list[int], failure: str, timeout: float = 15) -> None:
    """Until no such processes exist (not even as zombies: their parent reaped them)."""
    deadline = time.monotonic() + timeout
    while any(_state(pid) is not None for pid in pids):
        if time.monotonic() > deadline:
            pytest.fail(f"{failure}: {[_state(pid) for pid in pids]}")
        time.sleep(0.1)


def _start_training(server: RunningServer, shared_data: Path, name: str, budget: int = 8) -> None:
    query(server, f"CREATE MODEL {name} FROM files (SELECT * FROM rentals) PREDICT rental_price "
                  f"USING time_budget = {budget}")


@pytest.fixture
def rentals_server(tmp_path: Path, shared_data: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "data", env=FAST)
    upload(server, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
    yield server
    server.stop()


def test_a_server_group_killed_under_an_init_that_never_reaps_resumes_the_run(
        tmp_path: Path, shared_data: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, env=FAST, launcher=(sys.executable, str(NO_REAP_INIT)))
    try:
        upload(server, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
        _start_training(server, shared_data, "survivor")
        first = _wait_for_status(data_dir, "survivor", ("training",))
        server_pid = int((data_dir / "catalog.jobs.lock").read_text())
        os.killpg(os.getpgid(server_pid), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while {_state(server_pid), _state(first["worker_pid"])} != {"Z"} and time.monotonic() < deadline:
            time.sleep(0.05)
        # The dead stay zombies: their PIDs answer as if alive, and the run's row says `training`.
        assert _state(server_pid) == "Z" and _state(first["worker_pid"]) == "Z"
        os.kill(first["worker_pid"], 0)
        assert _model(data_dir, "survivor")["status"] == "training"

        restarted = start_server(data_dir, env=FAST)
        try:
            model = wait_for_model(restarted, "survivor", timeout=120)
            assert model["STATUS"] == "complete", model["ERROR"]
            final = _model(data_dir, "survivor")
            assert final["worker_pid"] != first["worker_pid"]
            assert final["trained_by"].endswith(f":{restarted.process.pid}")
            assert query(restarted, "SELECT count(*) AS n FROM files.rentals") == [{"n": 5037}]
            rows = query(restarted, "SELECT m.rental_price FROM files.rentals AS t JOIN survivor AS m LIMIT 3")
            assert len(rows) == 3 and all(r["rental_price"] is not None for r in rows)
            assert not list((data_dir / "staging").iterdir()) and not list((data_dir / "training").iterdir())
        finally:
            restarted.stop()
    finally:
        server.process.kill()  # the stand-in init; its zombies go with it
        server.process.wait()


def test_a_run_whose_worker_keeps_hanging_ends_in_error_with_the_reason(
        rentals_server: RunningServer, shared_data: Path) -> None:
    """A stopped worker is alive but silent: only its lapsed lease tells. The server requeues the
    run once and kills the hung worker; when the second attempt hangs too, RETRAIN is the way on."""
    server, data_dir = rentals_server, rentals_server.data_dir
    _start_training(server, shared_data, "hangs", budget=30)
    hung: list[int] = []
    for _ in range(2):
        deadline = time.monotonic() + 30
        while (model := _model(data_dir, "hangs"))["status"] != "training" or model["worker_pid"] in hung:
            if time.monotonic() > deadline:
                pytest.fail(f"no new attempt started: {model}")
            time.sleep(0.05)
        hung.append(model["worker_pid"])
        os.kill(model["worker_pid"], signal.SIGSTOP)
    model = wait_for_model(server, "hangs", timeout=30)
    assert model["STATUS"] == "error"
    assert "each of its 2 workers stopped before it finished" in model["ERROR"] and "RETRAIN" in model["ERROR"]
    assert _catalog_row(data_dir, "SELECT * FROM jobs") is None
    _wait_until_gone(hung, "the hung workers were not killed and reaped by the server")


def test_a_second_process_on_the_data_directory_leaves_the_servers_jobs_alone(
        rentals_server: RunningServer, shared_data: Path) -> None:
    server, data_dir = rentals_server, rentals_server.data_dir
    _start_training(server, shared_data, "first", budget=5)
    _start_training(server, shared_data, "queued", budget=3)  # one training worker: this one waits
    _wait_for_status(data_dir, "first", ("training",))
    assert _model(data_dir, "queued")["status"] == "generating"
    # An embedded connection reads and queries, and its own CREATE MODEL is the server's to train.
    with augurdb.connect(data_dir) as con:
        names = {row[0] for row in con.execute("SELECT name FROM models").fetchall()}
        assert {"first", "queued"} <= names
        assert con.execute("SELECT count(*) FROM files.rentals").fetchall() == [(5037,)]
        con.execute("CREATE MODEL third FROM files (SELECT * FROM rentals LIMIT 500) PREDICT rental_price "
                    "USING time_budget = 2")
    # close() waited for `third`, which the server trained.
    assert _model(data_dir, "third")["status"] == "complete"
    assert _model(data_dir, "third")["trained_by"].endswith(f":{server.process.pid}")
    cli = subprocess.run([sys.executable, "-m", "augurdb.cli", "sql", "SHOW MODELS", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=60, env={**os.environ, **FAST})
    assert cli.returncode == 0 and "first" in cli.stdout, cli.stderr
    for name in ("first", "queued"):
        model = wait_for_model(server, name, timeout=120)
        assert model["STATUS"] == "complete", model["ERROR"]


def test_drop_model_while_training_stops_the_run_and_removes_its_files(
        rentals_server: RunningServer, shared_data: Path) -> None:
    server, data_dir = rentals_server, rentals_server.data_dir
    _start_training(server, shared_data, "dropped", budget=60)
    worker = _wait_for_status(data_dir, "dropped", ("training",))["worker_pid"]
    query(server, "DROP MODEL dropped")
    _wait_until_gone([worker], "the dropped model's worker kept running")
    assert _catalog_row(data_dir, "SELECT * FROM jobs") is None
    assert not list((data_dir / "staging").iterdir()) and not list((data_dir / "training").iterdir())
    assert query(server, "SELECT 1 AS ok") == [{"ok": 1}]


def test_a_training_worker_runs_below_the_servers_priority(
        rentals_server: RunningServer, shared_data: Path) -> None:
    """Training yields the CPU to predictions: its worker is 10 nicer than the server (default
    --training-nice), and every thread it starts (LightGBM's, torch's) inherits that."""
    server, data_dir = rentals_server, rentals_server.data_dir
    _start_training(server, shared_data, "background", budget=60)
    worker = _wait_for_status(data_dir, "background", ("training",))["worker_pid"]
    server_nice = os.getpriority(os.PRIO_PROCESS, server.process.pid)
    assert os.getpriority(os.PRIO_PROCESS, worker) == min(server_nice + 10, 19)
    query(server, "DROP MODEL background")
    _wait_until_gone([worker], "the dropped model's worker kept running")


def test_sigterm_while_training_hands_the_run_back_and_the_next_start_resumes_it(
        rentals_server: RunningServer, shared_data: Path) -> None:
    server, data_dir = rentals_server, rentals_server.data_dir
    _start_training(server, shared_data, "resumed", budget=4)
    _wait_for_status(data_dir, "resumed", ("training",))
    server.process.terminate()
    assert server.process.wait(timeout=30) == 0
    stopped = _model(data_dir, "resumed")
    assert stopped["status"] == "generating" and "resumes when a server starts" in stopped["phase_name"]
    job = _catalog_row(data_dir, "SELECT state, attempts FROM jobs")
    assert job == {"state": "queued", "attempts": 0}
    restarted = start_server(data_dir, env=FAST)
    try:
        model = wait_for_model(restarted, "resumed", timeout=120)
        assert model["STATUS"] == "complete", model["ERROR"]
    finally:
        restarted.stop()
