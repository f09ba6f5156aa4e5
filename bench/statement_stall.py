"""One heavy statement beside another connection's `SELECT 1`, against one `augurdb serve`.

    .venv/bin/python bench/statement_stall.py [--values 150000] [--out docs/benchmarks.md]

Sends `SELECT count(*) ... WHERE id IN (<--values literals>)` (a 916 KB statement at 150k values)
over pymysql while a second client process sends `SELECT 1` every 10 ms on its own connection,
and reports the heavy statement's time and the `SELECT 1` latencies measured while it ran (the
probe runs in its own process, so the sender's own Python does not delay it), beside the probe's
latencies with the server idle, in the same run. Then the same for a 700 KB expression
(`SELECT 1+1+...`), which must fail with a clear error.
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
from tests.conftest import start_server  # noqa: E402

COMMAND = "Command: `.venv/bin/python bench/statement_stall.py --out docs/benchmarks.md` (2-core machine, shared)."


def _connect(port: int) -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", port=port, user="augur", autocommit=True, ssl_disabled=True)


def _probe(port: int, stop, out) -> None:
    """SELECT 1 every 10 ms until ``stop`` is set; puts [(monotonic start, latency s)]."""
    con = _connect(port)
    samples = []
    with con.cursor() as cur:
        while not stop.is_set():
            started = time.monotonic()
            cur.execute("SELECT 1")
            cur.fetchall()
            samples.append((started, time.monotonic() - started))
            time.sleep(0.01)
    con.close()
    out.put(samples)


def probe_during(port: int, statement: str, idle: float = 2.0) -> dict:
    """The statement's time and answer, and the probe's latencies before it (idle) and while it ran."""
    stop, out = multiprocessing.Event(), multiprocessing.Queue()
    probe = multiprocessing.Process(target=_probe, args=(port, stop, out))
    con = _connect(port)
    probe.start()
    time.sleep(idle)
    started = time.monotonic()
    with con.cursor() as cur:
        try:
            cur.execute(statement)
            answer = str(cur.fetchall())
        except pymysql.MySQLError as error:
            answer = f"error {error.args[0]}: {str(error.args[1])[:100]}"
    ended = time.monotonic()
    time.sleep(0.2)
    stop.set()
    samples = out.get(timeout=30)
    probe.join()
    con.close()
    during = [latency for at, latency in samples if started <= at <= ended]
    baseline = [latency for at, latency in samples if at < started - 0.2]
    return {"seconds": ended - started, "answer": answer, "during": during, "idle": baseline}


def _ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (f"p50 {1000 * statistics.median(values):.1f} ms, p99 {1000 * percentile(values, .99):.1f} ms, "
            f"max {1000 * max(values):.1f} ms ({len(values)} samples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", type=int, default=150_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    in_list = ("SELECT count(*) FROM (SELECT range AS id FROM range(200000)) AS t WHERE id IN ("
               + ",".join(map(str, range(args.values))) + ")")
    expression = "SELECT " + "+".join(["1"] * 350_000)  # 700 KB
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(Path(folder) / "data", timeout=60)
        try:
            for label, statement in ((f"IN list of {args.values:,} values ({len(in_list) // 1024} KB)", in_list),
                                     (f"expression of {len(expression) // 1024} KB", expression)):
                run = probe_during(server.mysql_port, statement)
                lines.append(f"- {label}: answered in **{run['seconds']:.2f} s** ({run['answer']}); another "
                             f"connection's `SELECT 1` meanwhile: {_ms(run['during'])}; idle before: {_ms(run['idle'])}")
                print(lines[-1], flush=True)
        finally:
            server.stop()
    report = "\n".join(lines)
    print(report)
    if args.out:
        write_section(args.out, report, heading="## One heavy statement beside a SELECT 1", command=COMMAND)


if __name__ == "__main__":
    main()
