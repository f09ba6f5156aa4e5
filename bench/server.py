"""Server benchmarks: start time, single-row latency, batch JOIN throughput and peak memory.

    .venv/bin/python bench/server.py [--rows 100000 1000000] [--out docs/benchmarks.md]

Runs a real `augurdb serve` on free ports with a fresh data directory, trains two models on
flights_3m (a 20k-row sample; one with the defaults, one with a tight `USING infer_limit`, which
makes the AutoML keep cheaper mixers) and measures:
- launch -> first `SELECT 1` answered over the MySQL protocol;
- `SELECT 1` and a one-row `SELECT delay FROM m WHERE ...` over pymysql (p50/p99);
- `SELECT t.*, m.delay FROM files.flights t JOIN m LIMIT n` (the tight model at the largest n
  only) delivered to the mariadb C client
  (--quick --batch, output discarded), to pymysql, and over HTTP as Arrow; each next to the same
  query without the model, run in the same session, as the reference;
- the server's resident memory when idle after start, and its peak (VmHWM) after the batches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pymysql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import SHARED_DATA, start_server  # noqa: E402

FLIGHTS = SHARED_DATA / "flights_3m" / "flights_3m.parquet"


MODELS = ("flights_delay", "flights_delay_quick")
QUICK_LIMIT = 0.000002  # seconds per row


def _held_out_r2(cur: pymysql.cursors.Cursor, model: str) -> float:
    cur.execute(f"DESCRIBE {model}.info")
    return float(json.loads(cur.fetchone()[0])["r2_score"])


def _kept(cur: pymysql.cursors.Cursor, model: str) -> str:
    """The kept mixers, each with its predict time per row."""
    cur.execute(f"DESCRIBE {model}.model")
    columns = [d[0] for d in cur.description]
    kept = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    return ", ".join(f"{c['name']} ({float(c['predict_seconds_per_row']) * 1e6:.1f} µs a row)"
                     for c in kept if int(c["selected"]))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed_queries(con: pymysql.connections.Connection, sql: str, n: int) -> list[float]:
    out = []
    with con.cursor() as cur:
        for _ in range(n):
            start = time.perf_counter()
            cur.execute(sql)
            cur.fetchall()
            out.append((time.perf_counter() - start) * 1000)
    return out


def mariadb_rows_per_s(port: int, sql: str) -> tuple[float, int]:
    start = time.perf_counter()
    out = subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(port), "-u", "augur", "--quick", "--batch",
                          "--skip-column-names", "-e", sql], capture_output=True, check=True)
    elapsed = time.perf_counter() - start
    rows = out.stdout.count(b"\n")
    return rows / elapsed, rows


def pymysql_rows_per_s(port: int, sql: str) -> tuple[float, int]:
    con = pymysql.connect(host="127.0.0.1", port=port, user="augur", cursorclass=pymysql.cursors.SSCursor)
    start = time.perf_counter()
    with con.cursor() as cur:
        cur.execute(sql)
        rows = sum(1 for _ in cur)
    elapsed = time.perf_counter() - start
    con.close()
    return rows / elapsed, rows


def arrow_rows_per_s(http: str, sql: str) -> tuple[float, int]:
    import io

    import pyarrow as pa

    start = time.perf_counter()
    response = httpx.post(f"{http}/api/sql/query", json={"query": sql, "response_format": "arrow"}, timeout=600)
    response.raise_for_status()
    rows = pa.ipc.open_stream(io.BytesIO(response.content)).read_all().num_rows
    return rows / (time.perf_counter() - start), rows


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmHWM:")


def rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmRSS:")


def bare_lightgbm_ms(runs: int) -> list[float]:
    """The floor of a one-row tree prediction: LightGBM's own predict of one numpy row."""
    import lightgbm as lgb
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 10))
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(x, x @ rng.normal(size=10)),
                        num_boost_round=100)
    row = x[:1]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        booster.predict(row, num_threads=1)
        out.append((time.perf_counter() - start) * 1000)
    return out


def start_seconds(data_dir: Path) -> float:
    """Launch `augurdb serve` on a fresh data directory and time it to the first `SELECT 1` answered."""
    launched = time.perf_counter()
    server = start_server(data_dir)
    try:
        con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", autocommit=True)
        with con.cursor() as cur:
            cur.execute("SELECT 1")
        elapsed = time.perf_counter() - launched
        con.close()
    finally:
        server.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--single-row-runs", type=int, default=500)
    parser.add_argument("--single-only", action="store_true", help="start time and one-row latency only")
    parser.add_argument("--starts", type=int, default=5, help="server launches timed (the median is reported)")
    parser.add_argument("--out", type=Path, help="write the results section into this markdown file")
    args = parser.parse_args()
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", database="mindsdb",
                              autocommit=True)
        with con.cursor() as cur:
            cur.execute("SELECT 1")
        idle_mb = rss_mb(server.process.pid)
        try:
            with FLIGHTS.open("rb") as f:
                httpx.put(f"{server.http}/api/files/flights", files={"file": ("flights.parquet", f)},
                          timeout=600).raise_for_status()
            with con.cursor() as cur:
                cur.execute("CREATE MODEL flights_delay FROM files (SELECT * FROM flights USING SAMPLE 20000 ROWS) "
                            "PREDICT delay USING time_budget = 20, join_learn_process = true")
                # The same table under a tight USING infer_limit: the AutoML keeps cheaper mixers.
                cur.execute("CREATE MODEL flights_delay_quick FROM files (SELECT * FROM flights USING SAMPLE "
                            f"20000 ROWS) PREDICT delay USING time_budget = 20, infer_limit = {QUICK_LIMIT}, "
                            "join_learn_process = true")
                for model in MODELS:
                    cur.execute(f"SELECT status, error FROM models WHERE name = '{model}'")
                    status = cur.fetchone()
                    assert status[0] == "complete", status
                accuracy = {model: _held_out_r2(cur, model) for model in MODELS}
                kept = {model: _kept(cur, model) for model in MODELS}
                cur.execute("SELECT * FROM files.flights LIMIT 1")
                sample = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
            where = " AND ".join(f"{k} = '{v}'" for k, v in sample.items() if k != "delay")
            one_row = f"SELECT delay, delay_confidence FROM flights_delay WHERE {where}"
            select1 = timed_queries(con, "SELECT 1", args.single_row_runs)
            timed_queries(con, one_row, 20)  # warm the model cache
            single = timed_queries(con, one_row, args.single_row_runs)
            bare = bare_lightgbm_ms(args.single_row_runs)
            starts = [start_seconds(Path(tmp) / f"start{i}") for i in range(args.starts)]
            lines += [f"- start: launch to first `SELECT 1` answered: **{statistics.median(starts):.2f} s** median of "
                      f"{args.starts} launches ({min(starts):.2f}–{max(starts):.2f} s); idle RSS {idle_mb:,.0f} MB",
                      f"- `SELECT 1` over pymysql: p50 {percentile(select1, .5):.2f} ms, "
                      f"p99 {percentile(select1, .99):.2f} ms",
                      f"- bare LightGBM `Booster.predict` of one row (100 trees, this process): "
                      f"p50 {percentile(bare, .5):.3f} ms",
                      f"- one-row prediction with confidence `{one_row[:60]}...` over pymysql: "
                      f"**p50 {percentile(single, .5):.2f} ms, p99 {percentile(single, .99):.2f} ms** "
                      f"({statistics.mean(single):.2f} ms mean, {args.single_row_runs} runs): "
                      f"{percentile(single, .5) / percentile(select1, .5):.1f}× `SELECT 1`, "
                      f"{percentile(single, .5) / percentile(bare, .5):.1f}× the bare LightGBM predict"]
            if not args.single_only:
                lines += ["", "Models: " + "; ".join(
                              f"`{model}` ({'USING infer_limit = ' + str(QUICK_LIMIT) if model.endswith('quick') else 'defaults'}"
                              f"): {kept[model]}, held-out R² {accuracy[model]:.4f}" for model in MODELS),
                          "", "| model | rows | client | with model (rows/s) | same rows, no model (rows/s) | ratio |",
                          "|---|---|---|---|---|---|"]
            for n in ([] if args.single_only else args.rows):
                plain = f"SELECT t.* FROM files.flights AS t LIMIT {n}"
                for model in MODELS if n == max(args.rows) else MODELS[:1]:
                    joined = (f"SELECT t.*, m.delay AS predicted FROM files.flights AS t "
                              f"JOIN mindsdb.{model} AS m LIMIT {n}")
                    for client, run in (("HTTP Arrow", lambda q: arrow_rows_per_s(server.http, q)),
                                        ("MySQL, mariadb CLI", lambda q: mariadb_rows_per_s(server.mysql_port, q)),
                                        ("MySQL, pymysql", lambda q: pymysql_rows_per_s(server.mysql_port, q))):
                        if client == "MySQL, pymysql" and n > 100_000:
                            continue  # pure-Python parsing dominates; the C client above measures the server
                        with_model, rows = run(joined)
                        assert rows == n, (client, rows)
                        without, _ = run(plain)
                        lines.append(f"| `{model}` | {n:,} | {client} | {with_model:,.0f} | {without:,.0f} | "
                                     f"{with_model / without:.2f} |")
                        print(lines[-1], flush=True)
            if not args.single_only:
                lines += ["", f"- server peak RSS (VmHWM) after the batches: "
                              f"**{peak_rss_mb(server.process.pid):,.0f} MB**"]
        finally:
            con.close()
            server.stop()
    report = "\n".join(lines)
    print(report)
    if args.out and args.single_only:
        write_section(args.out, report, heading="## One-row predictions and start",
                      command="Command: `.venv/bin/python bench/server.py --single-only --out docs/benchmarks.md` "
                              "(2-core machine, shared).")
    elif args.out:
        write_section(args.out, report)


def write_section(path: Path, report: str, heading: str = "## Server",
                  command: str = "Command: `.venv/bin/python bench/server.py --out docs/benchmarks.md` "
                                 "(2-core machine, shared).") -> None:
    """Put `report` under `heading` in a markdown file, replacing that section if it is there."""
    section = f"{heading}\n\n{command}\n\n{report}\n"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end + 1:] if end != -1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
