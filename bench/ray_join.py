"""A model JOIN over a 10M-row table: Ray Data on a local Ray cluster vs the server's local stream.

    .venv/bin/python bench/ray_join.py [--copies 3] [--out docs/benchmarks.md]

flights_3m repeated `--copies` times (+1 extra third: 10M rows with the default) is loaded with
`augurdb load`, and a flights delay model (AutoML, 20 s budget, a 20k-row sample) is trained once.
The same `SELECT t.*, m.delay FROM files.flights AS t JOIN m` is then delivered to the mariadb C
client (--quick, output discarded) by a server streaming locally, then by a server on the same data
directory with `--ray-address` of `ray start --head --num-cpus=2` (the JOIN runs as Ray Data
`map_batches`, 2 workers). Measured: rows/s, the server process's peak RSS (VmHWM), and on Ray the
peak RSS of the cluster's processes. Then the same JOIN written into a new file table with
`CREATE TABLE files.scored (...)` by a fresh local server: rows/s and its peak RSS.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.jobs import RAY_ENV, PeakMemory, ray_cluster  # noqa: E402
from bench.server import mariadb_rows_per_s, peak_rss_mb, write_section  # noqa: E402
from tests.conftest import start_server  # noqa: E402
from tests.e2e.helpers import query  # noqa: E402

COMMAND = "Command: `.venv/bin/python bench/ray_join.py --out docs/benchmarks.md` (2-core machine, shared)."
FLIGHTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "flights_3m" / "flights_3m.parquet"
JOIN = "SELECT t.*, m.delay AS predicted FROM files.flights AS t JOIN mindsdb.flights_delay AS m"


def big_table(tmp: Path, copies: int) -> Path:
    path = tmp / "flights_10m.parquet"
    source = str(FLIGHTS).replace("'", "''")
    union = " UNION ALL ".join([f"SELECT * FROM read_parquet('{source}')"] * copies)
    third = f"SELECT * FROM (SELECT * FROM read_parquet('{source}') LIMIT 1000000)"
    duckdb.sql(f"COPY ({union} UNION ALL {third}) TO '{path}' (FORMAT parquet)")
    return path


def run_join(data_dir: Path, *extra: str, ray_pid: int | None = None) -> tuple[float, int, float, float]:
    server = start_server(data_dir, *extra, env=RAY_ENV, timeout=60)
    try:
        query(server, f"{JOIN} LIMIT 1")  # loads the model (and on Ray, connects and starts workers)
        cluster = PeakMemory([ray_pid]) if ray_pid else None
        rate, rows = mariadb_rows_per_s(server.mysql_port, JOIN)
        return rate, rows, peak_rss_mb(server.process.pid), cluster.stop() if cluster else 0.0
    finally:
        server.stop()


def run_insert(data_dir: Path) -> tuple[float, float]:
    """INSERT the scored rows into a new file table; rows/s and the server's peak RSS."""
    server = start_server(data_dir, timeout=60)
    try:
        started = time.perf_counter()
        query(server, f"CREATE TABLE files.scored ({JOIN})")
        elapsed = time.perf_counter() - started
        (count,) = (r["n"] for r in query(server, "SELECT count(*) AS n FROM files.scored"))
        peak = peak_rss_mb(server.process.pid)
        query(server, "DROP TABLE files.scored")
        return count / elapsed, peak
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the results section into this markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        table = big_table(Path(tmp), args.copies)
        subprocess.run([sys.executable, "-m", "augurdb.cli", "load", str(table), "--name", "flights",
                        "--data-dir", str(data_dir)], check=True)
        table.unlink()
        subprocess.run([sys.executable, "-m", "augurdb.cli", "sql", "--data-dir", str(data_dir),
                        "CREATE MODEL flights_delay FROM files (SELECT * FROM flights USING SAMPLE 20000 ROWS) "
                        "PREDICT delay USING time_budget = 20"], check=True)
        local = run_join(data_dir)
        print(f"local stream: {local[0]:,.0f} rows/s ({local[1]:,} rows), server peak {local[2]:,.0f} MB", flush=True)
        written = run_insert(data_dir)
        print(f"CREATE TABLE files.scored (JOIN): {written[0]:,.0f} rows/s, server peak {written[1]:,.0f} MB", flush=True)
        with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as temp_dir:
            head, address = ray_cluster(temp_dir)
            try:
                on_ray = run_join(data_dir, "--ray-address", address, "--training-workers", "2", ray_pid=head.pid)
            finally:
                os.killpg(head.pid, signal.SIGTERM)
                head.wait()
                time.sleep(2)
        print(f"Ray Data: {on_ray[0]:,.0f} rows/s ({on_ray[1]:,} rows), server peak {on_ray[2]:,.0f} MB, "
              f"cluster peak {on_ray[3]:,.0f} MB", flush=True)
    assert local[1] == on_ray[1], "both must deliver every row"
    report = "\n".join([
        f"`{JOIN}` over {local[1]:,} rows (flights_3m repeated), to the mariadb C client, output discarded; "
        "the same data directory and model for both:", "",
        "| | rows/s | server peak RSS | Ray cluster peak RSS |", "|---|---|---|---|",
        f"| local stream | {local[0]:,.0f} | {local[2]:,.0f} MB | |",
        f"| Ray Data `map_batches`, 2 workers (`ray start --head --num-cpus=2`) | {on_ray[0]:,.0f} | "
        f"{on_ray[2]:,.0f} MB | {on_ray[3]:,.0f} MB |",
        f"| `CREATE TABLE files.scored (<the JOIN>)`, local stream into a file table | {written[0]:,.0f} | "
        f"{written[1]:,.0f} MB | |",
        "", f"Ratio Ray Data / local: {on_ray[0] / local[0]:.2f}. On one 2-core machine Ray Data adds no CPU, only "
        "its overhead (the object store, the driver in the server process): it pays off when the cluster has "
        "nodes beyond the server's."])
    print(report)
    if args.out:
        write_section(args.out, report, heading="## Model JOIN on Ray Data", command=COMMAND)


if __name__ == "__main__":
    main()
