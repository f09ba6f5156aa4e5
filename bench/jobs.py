"""Training jobs: recovery after a kill, and ten models on the local runner vs a local Ray cluster.

    .venv/bin/python bench/jobs.py [--repeats 3] [--models 10] [--out docs/benchmarks.md]

Recovery: a real `augurdb serve` (default 10 s lease) trains a home_rentals model; its whole process
group is killed with SIGKILL while the model trains, and a new server starts at once on the same
data directory. Measured from that restart: until the interrupted run is requeued (its lease
lapsed), until a new worker trains it, and until the model is `complete`.

Scale-out: the same `--models` home_rentals models (AutoML, 3 s budget each) created at once on a
server with 2 training workers, first as local worker processes, then as Ray tasks on a
`ray start --head --num-cpus=2` cluster on this machine. Wall time from the first CREATE to the last
`complete`, and the peak resident memory of everything involved (the server and its workers; on
Ray also the cluster's processes), sampled from /proc every 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.server import write_section  # noqa: E402
from tests.conftest import SHARED_DATA, RunningServer, free_port, start_server  # noqa: E402
from tests.e2e.helpers import query, upload, wait_for_model  # noqa: E402

COMMAND = "Command: `.venv/bin/python bench/jobs.py --out docs/benchmarks.md` (2-core machine, shared)."
RENTALS = SHARED_DATA / "home_rentals" / "home_rentals.csv"
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _model_row(data_dir: Path, name: str) -> dict:
    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        db.row_factory = sqlite3.Row
        return dict(db.execute("SELECT * FROM models WHERE name = ?", (name,)).fetchone())


def recovery_once(tmp: Path) -> tuple[float, float, float]:
    data_dir = tmp / "data"
    server = subprocess_server(data_dir)
    upload(server, "rentals", RENTALS)
    query(server, "CREATE MODEL survivor FROM files (SELECT * FROM rentals) PREDICT rental_price "
                  "USING time_budget = 10")
    while _model_row(data_dir, "survivor")["status"] != "training":
        time.sleep(0.05)
    killed_worker = _model_row(data_dir, "survivor")["worker_pid"]
    time.sleep(1)
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    restarted_at = time.monotonic()
    restarted = start_server(data_dir)
    requeued = trained = None
    try:
        while True:
            row = _model_row(data_dir, "survivor")
            now = time.monotonic() - restarted_at
            if requeued is None and (row["status"] == "generating" or row["worker_pid"] != killed_worker):
                requeued = now
            if trained is None and row["status"] == "training" and row["worker_pid"] != killed_worker:
                trained = now
            if row["status"] in ("complete", "error"):
                assert row["status"] == "complete", row["error"]
                return requeued or now, trained or now, now
            time.sleep(0.05)
    finally:
        restarted.stop()


def subprocess_server(data_dir: Path) -> RunningServer:
    """A server leading its own process group (setsid execs it), so that killpg(pid) kills it and
    its workers at once, as a container runtime does."""
    return start_server(data_dir, launcher=("setsid",))


def tree_rss_mb(roots: list[int]) -> float:
    """Resident memory of these processes and all their descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, stack, seen = 0, list(roots), set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stack += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class PeakMemory:
    def __init__(self, roots: list[int]):
        self.roots, self.peak = roots, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, tree_rss_mb(self.roots))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def ten_models(tmp: Path, models: int, ray_address: str | None, ray_pid: int | None) -> tuple[float, float]:
    extra = ["--training-workers", "2"] + (["--ray-address", ray_address] if ray_address else [])
    server = start_server(tmp / "data", *extra, env=RAY_ENV)
    try:
        upload(server, "rentals", RENTALS)
        memory = PeakMemory([server.process.pid] + ([ray_pid] if ray_pid else []))
        started = time.monotonic()
        for i in range(models):
            query(server, f"CREATE MODEL m{i} FROM files (SELECT * FROM rentals) PREDICT rental_price "
                          "USING time_budget = 3")
        for i in range(models):
            assert wait_for_model(server, f"m{i}", timeout=900)["STATUS"] == "complete"
        return time.monotonic() - started, memory.stop()
    finally:
        server.stop()


def ray_cluster(temp_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                             f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
                             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **RAY_ENV})
    time.sleep(15)
    return head, f"127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the results section into this markdown file")
    args = parser.parse_args()
    runs = []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(recovery_once(Path(tmp)))
            print(f"recovery run {i + 1}: requeued {runs[-1][0]:.1f} s, training {runs[-1][1]:.1f} s, "
                  f"complete {runs[-1][2]:.1f} s", flush=True)
    requeued, trained, complete = (statistics.median(r[k] for r in runs) for k in range(3))
    lines = [
        f"Recovery after `kill -9` of the server's process group while a model trains (lease 10 s; "
        f"median of {args.repeats}): restart to requeued **{requeued:.1f} s**, to training again "
        f"{trained:.1f} s, to `complete` {complete:.1f} s (the 10 s training budget runs again). "
        f"Goal: requeued within 2 lease periods (20 s).", "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        local = ten_models(Path(tmp), args.models, None, None)
    print(f"local: {local[0]:.1f} s, {local[1]:.0f} MB", flush=True)
    with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as temp_dir:
        head, address = ray_cluster(temp_dir)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                on_ray = ten_models(Path(tmp), args.models, address, head.pid)
        finally:
            os.killpg(head.pid, signal.SIGTERM)
            head.wait()
    print(f"ray: {on_ray[0]:.1f} s, {on_ray[1]:.0f} MB", flush=True)
    lines += [f"{args.models} home_rentals models (AutoML, 3 s budget each) created at once, 2 training workers, "
              "2 CPUs:", "",
              "| runner | wall time | peak RSS (server, workers, cluster) |", "|---|---|---|",
              f"| local worker processes | {local[0]:.1f} s | {local[1]:,.0f} MB |",
              f"| Ray tasks (`ray start --head --num-cpus=2`) | {on_ray[0]:.1f} s | {on_ray[1]:,.0f} MB |"]
    report = "\n".join(lines)
    print(report)
    if args.out:
        write_section(args.out, report, heading="## Training jobs: recovery and scale-out", command=COMMAND)


if __name__ == "__main__":
    main()
