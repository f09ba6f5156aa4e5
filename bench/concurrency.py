"""Many clients predicting single rows at once, against one `augurdb serve`.

    .venv/bin/python bench/concurrency.py [--clients 20] [--seconds 10] [--processes 1 2] [--out docs/benchmarks.md]

Trains a home_rentals model, then runs `--clients` MySQL connections (pymysql, spread over 4
client processes so the clients' own Python does not serialise them) that each send one-row
`SELECT rental_price, rental_price_confidence FROM m WHERE ...` with varying values for
`--seconds`. Reports the predictions per second of all clients together and the latency
percentiles, beside the same clients sending `SELECT 1`, in the same run, and once more while a
model trains (a 5-minute AutoML run in its worker process, started just before). Each figure is measured
against a server of each `--processes` count in turn (`augurdb serve --processes N`), on the same
data directory and model.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.server import percentile, write_section  # noqa: E402
from tests.conftest import SHARED_DATA, RunningServer, start_server  # noqa: E402
from tests.e2e.helpers import upload, wait_for_model  # noqa: E402

COMMAND = "Command: `.venv/bin/python bench/concurrency.py --out docs/benchmarks.md` (2-core machine, shared)."
PROCESSES = 4


def _one_row(i: int) -> str:
    return (f"SELECT rental_price, rental_price_confidence FROM mindsdb.rentals WHERE sqft = {500 + i % 900} "
            f"AND location = '{('great', 'good', 'poor')[i % 3]}' AND number_of_rooms = {i % 4} "
            f"AND number_of_bathrooms = {1 + i % 2} AND days_on_market = {i % 30} "
            f"AND initial_price = {1500 + i % 2000} AND neighborhood = 'downtown'")


def _client_process(port: int, threads: int, seconds: float, kind: str, out: multiprocessing.Queue) -> None:
    import threading

    latencies: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        con = pymysql.connect(host="127.0.0.1", port=port, user="augur", database="mindsdb", autocommit=True)
        mine, i, deadline = [], offset, time.perf_counter() + seconds
        with con.cursor() as cur:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                cur.execute(_one_row(i) if kind == "predict" else "SELECT 1")
                cur.fetchall()
                mine.append((time.perf_counter() - started) * 1000)
                i += 7
        con.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=client, args=(n * 1000,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(latencies)


def run_clients(port: int, clients: int, seconds: float, kind: str) -> tuple[float, list[float]]:
    """(statements per second of all clients together, every latency in ms)."""
    out: multiprocessing.Queue = multiprocessing.Queue()
    per_process = [clients // PROCESSES + (1 if n < clients % PROCESSES else 0) for n in range(PROCESSES)]
    processes = [multiprocessing.Process(target=_client_process, args=(port, n, seconds, kind, out))
                 for n in per_process if n]
    started = time.perf_counter()
    for process in processes:
        process.start()
    latencies = [v for _ in processes for v in out.get()]
    for process in processes:
        process.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def _start_a_long_training(server: RunningServer) -> None:
    """A home_rentals model with a 5-minute budget, in its worker process once this returns."""
    con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", database="mindsdb", autocommit=True)
    with con.cursor() as cur:
        cur.execute("CREATE OR REPLACE MODEL mindsdb.busy FROM files (SELECT * FROM rentals) PREDICT rental_price "
                    "USING time_budget = 300")
        while True:
            cur.execute("SELECT status FROM models WHERE name = 'busy'")
            if cur.fetchone()[0] == "training":
                break
            time.sleep(0.1)
    con.close()


def _drop_the_long_training(server: RunningServer) -> None:
    con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", database="mindsdb", autocommit=True)
    with con.cursor() as cur:
        cur.execute("DROP MODEL IF EXISTS mindsdb.busy")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, help="write the results section into this markdown file")
    args = parser.parse_args()
    lines = [f"{args.clients} clients at once for {args.seconds:.0f} s each run (pymysql, {PROCESSES} client "
             "processes), a home_rentals model (AutoML, 20 s budget), `augurdb serve --processes N` on the same "
             "data directory for each N.", "",
             "| server processes | statement | total per second | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        server = start_server(data_dir)
        try:
            upload(server, "rentals", SHARED_DATA / "home_rentals" / "home_rentals.csv")
            con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", database="mindsdb",
                                  autocommit=True)
            with con.cursor() as cur:
                cur.execute("CREATE MODEL mindsdb.rentals FROM files (SELECT * FROM rentals) PREDICT rental_price "
                            "USING time_budget = 20")
            assert wait_for_model(server, "rentals")["STATUS"] == "complete"
            con.close()
        finally:
            server.stop()
        for processes in args.processes:
            server = start_server(data_dir, "--processes", str(processes))
            try:
                run_clients(server.mysql_port, args.clients, 2.0, "predict")  # every process loads the model
                for kind, label in (("select1", "`SELECT 1`"), ("predict", "one-row prediction with confidence"),
                                    ("training", "the same, while a model trains")):
                    if kind == "training":
                        _start_a_long_training(server)
                    rate, latencies = run_clients(server.mysql_port, args.clients, args.seconds,
                                                  "select1" if kind == "select1" else "predict")
                    lines.append(f"| {processes} | {label} | {rate:,.0f} | {statistics.median(latencies):.1f} | "
                                 f"{percentile(latencies, .99):.1f} |")
                    print(lines[-1], flush=True)
                _drop_the_long_training(server)  # or the next server would resume it
            finally:
                server.stop()
    report = "\n".join(lines)
    print(report)
    if args.out:
        write_section(args.out, report, heading="## Concurrent one-row predictions", command=COMMAND)


if __name__ == "__main__":
    main()
