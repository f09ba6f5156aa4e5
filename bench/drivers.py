"""Source drivers: rows/s and peak memory moving a table from PostgreSQL and MariaDB to Arrow.

    .venv/bin/python bench/drivers.py [--rows 500000] [--repeat 2] [--out docs/benchmarks.md]

Starts a real PostgreSQL and a real MariaDB (tests/databases.py, the same servers the tests
use), loads the first --rows rows of flights_3m (timestamp, two ints, two short strings) and
reads `SELECT * FROM flights` with each candidate driver in a fresh Python process, so every
figure is that process's own: rows/s over the whole read (connect included) and peak RSS
above the process's RSS after importing the driver. Every candidate hands out one batch of
at most 65,536 rows at a time and drops it, as a source scan does; a driver that holds the
whole result shows a peak that grows with --rows. Candidates whose package is missing are
listed as such (mysqlclient needs libmariadb-dev and a compiler).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from augurdb.integrations.data.registry import get_data_engine  # noqa: E402

BATCH = 65_536
QUERY = "SELECT * FROM flights"
SCHEMA = pa.schema([("date", pa.timestamp("us")), ("delay", pa.int64()), ("distance", pa.int64()),
                    ("origin", pa.string()), ("destination", pa.string())])


def rows_to_batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    return pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, SCHEMA, strict=True)],
                                      schema=SCHEMA)


def fetch_batches(cursor: Any) -> Iterator[pa.RecordBatch]:
    while rows := cursor.fetchmany(BATCH):
        yield rows_to_batch(rows)


# --- PostgreSQL candidates -----------------------------------------------------------------

def pg_uri(p: dict[str, Any]) -> str:
    return (f"postgresql://{quote(p['user'], safe='')}:{quote(p['password'], safe='')}"
            f"@{p['host']}:{p['port']}/{quote(p['database'], safe='')}")


def pg_adbc(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(pg_uri(p)) as con, con.cursor() as cursor:
        cursor.execute(QUERY)
        yield from cursor.fetch_record_batch()


def pg_psycopg_copy(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    import psycopg

    with psycopg.connect(pg_uri(p)) as con, con.cursor() as cursor:
        with cursor.copy(f"COPY ({QUERY}) TO STDOUT (FORMAT binary)") as copy:
            copy.set_types(["timestamp", "bigint", "bigint", "text", "text"])
            rows: list[tuple[Any, ...]] = []
            for row in copy.rows():
                rows.append(row)
                if len(rows) == BATCH:
                    yield rows_to_batch(rows)
                    rows = []
            if rows:
                yield rows_to_batch(rows)


def pg_psycopg_cursor(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    import psycopg

    with psycopg.connect(pg_uri(p)) as con, con.cursor(name="scan", binary=True) as cursor:
        cursor.itersize = BATCH
        cursor.execute(QUERY)
        yield from fetch_batches(cursor)


def pg_connectorx(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    import connectorx as cx

    yield from cx.read_sql(pg_uri(p), QUERY, return_type="arrow_stream", batch_size=BATCH)


# --- MariaDB candidates --------------------------------------------------------------------

def my_pymysql(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    import pymysql
    import pymysql.cursors

    con = pymysql.connect(host=p["host"], port=p["port"], user=p["user"], password=p["password"],
                          database=p["database"], cursorclass=pymysql.cursors.SSCursor)
    with con, con.cursor() as cursor:
        cursor.execute(QUERY)
        yield from fetch_batches(cursor)


def my_mysqlclient(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    import MySQLdb
    import MySQLdb.cursors

    con = MySQLdb.connect(host=p["host"], port=p["port"], user=p["user"], password=p["password"],
                          database=p["database"], cursorclass=MySQLdb.cursors.SSCursor)
    try:
        cursor = con.cursor()
        cursor.execute(QUERY)
        yield from fetch_batches(cursor)
    finally:
        con.close()


def my_connector(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    import mysql.connector

    con = mysql.connector.connect(host=p["host"], port=p["port"], user=p["user"], password=p["password"],
                                  database=p["database"], use_pure=True)
    try:
        cursor = con.cursor(raw=False, buffered=False)
        cursor.execute(QUERY)
        yield from fetch_batches(cursor)
    finally:
        con.close()


def my_connectorx(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    import connectorx as cx

    uri = (f"mysql://{quote(p['user'], safe='')}:{quote(p['password'], safe='')}"
           f"@{p['host']}:{p['port']}/{p['database']}")
    yield from cx.read_sql(uri, QUERY, return_type="arrow_stream", batch_size=BATCH)


def augurdb_scan(engine: str) -> Callable[[dict[str, Any]], Iterator[pa.RecordBatch]]:
    """The integration itself: the chosen driver plus its type conversions and pooling."""
    def read(p: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        integration = get_data_engine(engine).connect("bench", p)
        yield from integration.scan(QUERY, batch_rows=BATCH)
        integration.close()
    return read


CANDIDATES: dict[str, dict[str, tuple[str, Callable[[dict[str, Any]], Iterator[pa.RecordBatch]]]]] = {
    "postgres": {
        "adbc-driver-postgresql (fetch_record_batch)": ("adbc_driver_postgresql", pg_adbc),
        "psycopg 3 binary COPY -> Arrow": ("psycopg", pg_psycopg_copy),
        "psycopg 3 server-side cursor -> Arrow": ("psycopg", pg_psycopg_cursor),
        "connectorx arrow_stream": ("connectorx", pg_connectorx),
        "augurdb postgres scan() (ADBC)": ("adbc_driver_postgresql", augurdb_scan("postgres")),
    },
    "mysql": {
        "pymysql SSCursor -> Arrow": ("pymysql", my_pymysql),
        "mysqlclient SSCursor -> Arrow": ("MySQLdb", my_mysqlclient),
        "mysql-connector-python (pure, unbuffered) -> Arrow": ("mysql.connector", my_connector),
        "connectorx arrow_stream": ("connectorx", my_connectorx),
        "augurdb mysql scan() (PyMySQL)": ("pymysql", augurdb_scan("mysql")),
    },
}


def status_kb(field: str) -> int:
    """VmRSS / VmHWM of this process; ru_maxrss would carry the parent's peak across exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def child(engine: str, name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Runs in a fresh process: import, then read the whole table batch by batch."""
    module, read = CANDIDATES[engine][name]
    try:
        __import__(module)
    except ImportError as missing:
        return {"error": f"not installed ({missing.name})"}
    base = status_kb("VmRSS")
    start = time.perf_counter()
    rows = batches = 0
    for batch in read(parameters):
        rows += batch.num_rows
        batches += 1
    seconds = time.perf_counter() - start
    peak = status_kb("VmHWM")
    return {"rows": rows, "batches": batches, "seconds": seconds, "peak_mb": (peak - base) / 1024}


def measure(engine: str, name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", engine, name, json.dumps(parameters)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1][:120]}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(rows: int, repeat: int) -> list[tuple[str, str, dict[str, Any]]]:
    from tests.databases import load_csv, start_mariadb, start_postgres

    results = []
    with tempfile.TemporaryDirectory(prefix="augurdb-bench-") as tmp:
        for engine, start in (("postgres", start_postgres), ("mysql", start_mariadb)):
            server = start(Path(tmp) / engine)
            try:
                loaded = load_csv(server, "flights", "flights_3m/flights_3m.parquet", limit=rows)
                print(f"{engine}: loaded {loaded:,} rows", file=sys.stderr)
                for name in CANDIDATES[engine]:
                    tries = [measure(engine, name, server.parameters()) for _ in range(repeat)]
                    ok = [t for t in tries if "error" not in t]
                    best = min(ok, key=lambda t: t["seconds"]) if ok else tries[0]
                    if ok:
                        best["peak_mb"] = max(t["peak_mb"] for t in ok)
                    print(f"  {name}: {best}", file=sys.stderr)
                    results.append((engine, name, best))
            finally:
                server.remove()
    return results


def table(results: list[tuple[str, str, dict[str, Any]]], rows: int, repeat: int) -> str:
    lines = [
             f"Measured {time.strftime('%Y-%m-%d')} on this machine kind (2 cores), PostgreSQL and MariaDB "
             f"from Debian bookworm on loopback, `SELECT * FROM flights` over the first {rows:,} rows of "
             f"flights_3m, each driver in a fresh process, best of {repeat} for speed and worst for memory. "
             "Peak is the RSS high-water mark above the process's RSS after importing the driver.",
             "Reproduce with:", "",
             f"    .venv/bin/python bench/drivers.py --rows {rows} --repeat {repeat}", "",
             "| engine | driver | rows/s | batches | peak RSS above import |", "|---|---|---|---|---|"]
    for engine, name, r in results:
        if "error" in r:
            lines.append(f"| {engine} | {name} | {r['error']} | | |")
        else:
            lines.append(f"| {engine} | {name} | {r['rows'] / r['seconds']:,.0f} | {r['batches']} "
                         f"| {r['peak_mb']:.0f} MB |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the section into this markdown file (docs/benchmarks.md)")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "DRIVER", "PARAMETERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, name, parameters = args.child
        print(json.dumps(child(engine, name, json.loads(parameters))))
        return
    markdown = table(run(args.rows, args.repeat), args.rows, args.repeat)
    print(markdown)
    if args.out:
        from bench.server import write_section

        write_section(args.out, markdown.rstrip(), heading="## Source drivers",
                      command="Command: `.venv/bin/python bench/drivers.py --rows 500000 --repeat 2 "
                              "--out docs/benchmarks.md`.")


if __name__ == "__main__":
    main()
