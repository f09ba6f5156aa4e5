"""Training as Ray tasks on a real local Ray cluster (`ray start --head`, 2 CPUs, loopback,
dashboard and usage stats off): progress, the outcome, a failure's reason and DROP MODEL behave
as they do with local worker processes."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import RunningServer, free_port, start_server
from tests.e2e.helpers import query, upload, wait_for_model
from tests.jobs.test_durable_jobs import _model, _wait_for_status

pytest.importorskip("ray")
RAY = Path(sys.executable).with_name("ray")
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    port = free_port()
    # Ray's socket paths must stay short (a Unix socket path has at most 107 bytes).
    with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as temp_dir:
        log = Path(temp_dir) / "head.log"
        with log.open("w") as out:
            head = subprocess.Popen([str(RAY), "start", "--head", "--block", f"--port={port}",
                                     "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false",
                                     "--disable-usage-stats", f"--temp-dir={temp_dir}"],
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                    env={**os.environ, **RAY_ENV})
        try:
            deadline = time.monotonic() + 120
            while True:
                assert head.poll() is None, log.read_text()[-3000:]
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(log.read_text()[-3000:])
                    time.sleep(0.2)
            yield f"127.0.0.1:{port}"
        finally:
            # The cluster lives in a temporary directory and holds nothing to save: kill its whole
            # process group at once (SIGTERM to `ray start --block` took over 30 s to end it).
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


@pytest.fixture(scope="module")
def ray_server(ray_cluster: str, tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("ray-server")
    # Model JOINs over files of 1,000 rows or more go to Ray Data (the default is 1,000,000).
    # Two workers on a 2-CPU cluster: Ray Data must still find a CPU for its own tasks.
    server = start_server(root / "data", "--ray-address", ray_cluster, "--training-workers", "2",
                          env={**RAY_ENV, "AUGURDB_JOB_LEASE_SECONDS": "3", "AUGURDB_RAY_BATCH_MIN_ROWS": "1000"})
    upload(server, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
    ids = root / "ids.csv"
    with ids.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        writer.writerows([i, "a" if i % 2 else "b"] for i in range(50))
    upload(server, "ids", ids)
    yield server
    server.stop()


def test_a_model_trains_as_a_ray_task_with_progress(ray_server: RunningServer) -> None:
    query(ray_server, "CREATE MODEL on_ray FROM files (SELECT * FROM rentals) PREDICT rental_price "
                      "USING time_budget = 4")
    phases = set()
    deadline = time.monotonic() + 180
    while (model := _model(ray_server.data_dir, "on_ray"))["status"] not in ("complete", "error"):
        phases.add(model["current_phase"])
        if time.monotonic() > deadline:
            pytest.fail(f"the model did not finish training on Ray: {model}")
        time.sleep(0.05)
    assert model["status"] == "complete", model["error"]
    assert len(phases - {None}) >= 2, f"progress was not reported: {phases}"
    worker = model["worker_pid"]
    assert worker != ray_server.process.pid and Path(f"/proc/{worker}/cmdline").read_bytes().find(b"ray") >= 0
    rows = query(ray_server, "SELECT m.rental_price FROM files.rentals AS t JOIN on_ray AS m LIMIT 3")
    assert len(rows) == 3 and all(r["rental_price"] > 0 for r in rows)


def test_a_failing_training_reports_its_reason_as_on_local_workers(ray_server: RunningServer) -> None:
    query(ray_server, "CREATE MODEL hopeless FROM files (SELECT * FROM ids) PREDICT label")
    model = wait_for_model(ray_server, "hopeless", timeout=120)
    assert model["STATUS"] == "error"
    assert model["ERROR"].startswith("AutoMLError: no usable input columns to predict 'label' from")


def test_drop_model_stops_its_ray_task(ray_server: RunningServer) -> None:
    query(ray_server, "CREATE MODEL dropped_on_ray FROM files (SELECT * FROM rentals) PREDICT rental_price "
                      "USING time_budget = 120")
    worker = _wait_for_status(ray_server.data_dir, "dropped_on_ray", ("training",), timeout=120)["worker_pid"]
    query(ray_server, "DROP MODEL dropped_on_ray")
    deadline = time.monotonic() + 20
    while Path(f"/proc/{worker}").exists() and b"_train_task" in Path(f"/proc/{worker}/cmdline").read_bytes():
        if time.monotonic() > deadline:
            pytest.fail("the dropped model's Ray task kept running")
        time.sleep(0.2)
    assert not list((ray_server.data_dir / "staging").iterdir())
    assert query(ray_server, "SELECT 1 AS ok") == [{"ok": 1}]


def test_a_model_join_over_a_big_file_runs_on_ray_data_with_the_local_answer(ray_server: RunningServer) -> None:
    if _model(ray_server.data_dir, "on_ray")["status"] != "complete":
        pytest.skip("needs the model of test_a_model_trains_as_a_ray_task_with_progress")
    join = ("SELECT t.sqft, t.neighborhood, m.rental_price AS predicted FROM files.rentals AS t JOIN on_ray AS m "
            "WHERE t.number_of_rooms >= 1")
    on_ray = query(ray_server, join)
    assert "model JOIN of mindsdb.on_ray on Ray Data" in ray_server.log.read_text()
    here = query(ray_server, join + " ORDER BY t.sqft")  # ORDER BY needs all rows: not streamed, local
    expected = len(query(ray_server, "SELECT sqft FROM files.rentals WHERE number_of_rooms >= 1"))
    assert len(on_ray) == expected > 0
    key = lambda r: (r["sqft"], r["neighborhood"], r["predicted"])  # noqa: E731
    assert sorted(on_ray, key=key) == sorted(here, key=key)
    first = query(ray_server, "SELECT t.sqft, m.rental_price FROM files.rentals AS t JOIN on_ray AS m LIMIT 5")
    file_order = query(ray_server, "SELECT sqft FROM files.rentals LIMIT 5")
    assert [r["sqft"] for r in first] == [r["sqft"] for r in file_order]  # the first rows, in order
