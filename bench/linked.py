"""Linked-database benchmarks: a model JOIN over flights_3m in PostgreSQL, end to end.

    .venv/bin/python bench/linked.py [--rows 3000000] [--out docs/benchmarks.md]

Starts a real PostgreSQL (tests/databases.py: Debian's server, loopback, temp dir) and loads
flights_3m into it, starts `augurdb serve`, links the database and trains a model from a sample
of it. Then, in the same run:
- a plain fetch of the table by the same driver augurdb uses (the integration's scan, in this
  process), and the model's own predict over the same rows, in this process;
- `SELECT t.*, m.delay FROM pg.flights t JOIN m` through the server to the mariadb C client
  (--quick, output discarded) and as an Arrow stream over HTTP, with the server's peak RSS;
- the same JOIN over the same rows uploaded as a file (the reference from docs/benchmarks.md);
- a selective JOIN (`WHERE t.origin = 'X'`, about 1% of rows): the rows PostgreSQL read, from
  its own statistics (pg_stat_user_tables), against the rows that match.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.server import arrow_rows_per_s, mariadb_rows_per_s, peak_rss_mb, rss_mb, write_section  # noqa: E402
from tests.conftest import start_server  # noqa: E402
from tests.databases import load_csv, start_postgres  # noqa: E402

COMMAND = ("Command: `.venv/bin/python bench/linked.py --out docs/benchmarks.md` (2-core machine, shared; "
           "add `--mixers Linear,LightGBM,FullyConnectedNet` for a slower model).")


def _query(con: pymysql.connections.Connection, sql: str) -> list[tuple]:
    with con.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def _plain_fetch_and_predict(data_dir: Path, parameters: dict, model_id: int) -> tuple[float, float, int]:
    """Seconds to read the table with the integration's driver, and for the model to predict it."""
    import pyarrow as pa

    from augurdb.integrations.data.registry import get_data_engine
    from augurdb.integrations.ml.base import PredictRequest
    from augurdb.integrations.ml.registry import get_engine
    from augurdb.jobs.training import model_dir

    source = get_data_engine("postgres").connect("pg", parameters)
    started, rows, batches = time.perf_counter(), 0, []
    for batch in source.scan("SELECT * FROM public.flights"):
        rows += batch.num_rows
        batches.append(batch)
    fetch_s = time.perf_counter() - started
    source.close()
    model = get_engine("automl").load(model_dir(data_dir, model_id), {})
    started = time.perf_counter()
    for batch in batches:
        table = pa.Table.from_batches([batch])
        model.predict(PredictRequest(table.select(model.input_columns), frozenset({"delay"})))
    return fetch_s, time.perf_counter() - started, rows


def _pg_reads(pg: object, table: str) -> tuple[int, int]:
    """(seq_tup_read, idx_tup_fetch) of a table, from PostgreSQL's own statistics."""
    with pg.connect() as con:  # type: ignore[attr-defined]
        con.execute("SELECT pg_stat_clear_snapshot()")
        row = con.execute("SELECT coalesce(seq_tup_read, 0), coalesce(idx_tup_fetch, 0) "
                          "FROM pg_stat_user_tables WHERE relname = %s", (table,)).fetchone()
    return int(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3_000_000, help="rows of flights_3m to load")
    parser.add_argument("--mixers", default="LightGBM",
                        help="the model's mixers (a fast one shows the data path's own cost best)")
    parser.add_argument("--out", type=Path, help="write the results section into this markdown file")
    args = parser.parse_args()
    mixers = ", ".join(f"'{m.strip()}'" for m in args.mixers.split(","))
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        pg = start_postgres(Path(tmp) / "pg")
        server = None
        try:
            started = time.perf_counter()
            loaded = load_csv(pg, "flights", "flights_3m/flights_3m.parquet", limit=args.rows)
            with pg.connect() as con:
                con.execute("CREATE INDEX flights_origin ON flights (origin)")
                con.execute("ANALYZE flights")
            print(f"loaded {loaded:,} rows into PostgreSQL in {time.perf_counter() - started:.0f} s", flush=True)
            server = start_server(Path(tmp) / "data")
            con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", database="mindsdb",
                                  autocommit=True)
            parameters = pg.parameters()
            _query(con, f"CREATE DATABASE pg WITH ENGINE = 'postgres', PARAMETERS = {json.dumps(parameters)}")
            _query(con, "CREATE MODEL flights_delay FROM pg (SELECT * FROM flights TABLESAMPLE SYSTEM (1) "
                        f"LIMIT 20000) PREDICT delay USING time_budget = 20, mixers = [{mixers}], join_learn_process = true")
            status = _query(con, "SELECT status, error FROM models WHERE name = 'flights_delay'")
            assert status[0][0] == "complete", status
            idle_mb = rss_mb(server.process.pid)
            # Load the model (and the libraries it needs) before timing: the first query pays for it.
            _query(con, "SELECT m.delay FROM pg.flights AS t JOIN mindsdb.flights_delay AS m LIMIT 10")
            loaded_mb = rss_mb(server.process.pid)
            joined = "SELECT t.*, m.delay AS predicted FROM pg.flights AS t JOIN mindsdb.flights_delay AS m"
            plain = "SELECT * FROM pg.flights"
            mysql_join, rows = mariadb_rows_per_s(server.mysql_port, joined)
            assert rows == loaded, rows
            peak_after_mysql = peak_rss_mb(server.process.pid)
            arrow_join, rows = arrow_rows_per_s(server.http, joined)
            assert rows == loaded, rows
            peak_after_arrow = peak_rss_mb(server.process.pid)
            mysql_plain, _ = mariadb_rows_per_s(server.mysql_port, plain)
            arrow_plain, _ = arrow_rows_per_s(server.http, plain)

            model_id = int(_model_id(server.data_dir))
            fetch_s, predict_s, fetched = _plain_fetch_and_predict(server.data_dir, parameters, model_id)
            bound = 1.5 * (fetch_s + predict_s)
            lines += [
                f"flights_3m: {loaded:,} rows x 5 columns in PostgreSQL {pg_version(pg)}, model ({args.mixers}) "
                "trained from a 20k-row sample (`FROM pg (... TABLESAMPLE ...)`), all in one run.",
                "",
                "| measure | value |",
                "|---|---|",
                f"| plain fetch, same driver (ADBC), in process | {fetched / fetch_s:,.0f} rows/s ({fetch_s:.1f} s) |",
                f"| the model's own predict over the same rows, in process | {fetched / predict_s:,.0f} rows/s "
                f"({predict_s:.1f} s) |",
                f"| goal: end to end within 1.5 x (fetch + predict) | {bound:.1f} s, i.e. "
                f"{loaded / bound:,.0f} rows/s |",
                f"| JOIN with the model, MySQL protocol to the mariadb CLI | **{mysql_join:,.0f} rows/s** "
                f"({loaded / mysql_join:.1f} s) |",
                f"| JOIN with the model, HTTP Arrow stream | **{arrow_join:,.0f} rows/s** ({loaded / arrow_join:.1f} s) |",
                f"| same rows without the model: MySQL / HTTP Arrow | {mysql_plain:,.0f} / {arrow_plain:,.0f} rows/s |",
                f"| server RSS: idle / with the model loaded / peak after the MySQL JOIN / after the Arrow JOIN | "
                f"{idle_mb:,.0f} / {loaded_mb:,.0f} / **{peak_after_mysql:,.0f}** / **{peak_after_arrow:,.0f} MB** |",
            ]
            print("\n".join(lines), flush=True)
            lines += _file_reference(server, con, loaded)
            lines += _selective(pg, server, con)
        finally:
            if server is not None:
                server.stop()
            pg.stop()
    report = "\n".join(lines)
    print(report)
    if args.out:
        write_section(args.out, report, heading="## Linked databases", command=COMMAND)


def pg_version(pg: object) -> str:
    with pg.connect() as con:  # type: ignore[attr-defined]
        return str(con.execute("SHOW server_version").fetchone()[0])


def _model_id(data_dir: Path) -> int:
    import sqlite3

    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        return int(db.execute("SELECT id FROM models WHERE name = 'flights_delay'").fetchone()[0])


def _file_reference(server, con, loaded: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The same JOIN over the same rows as an uploaded file (bench/server.py's query)."""
    _query(con, "CREATE TABLE files.flights (SELECT * FROM pg.flights)")
    joined = "SELECT t.*, m.delay AS predicted FROM files.flights AS t JOIN mindsdb.flights_delay AS m"
    mysql_rate, rows = mariadb_rows_per_s(server.mysql_port, joined)
    assert rows == loaded, rows
    arrow_rate, _ = arrow_rows_per_s(server.http, joined)
    return [f"| the same JOIN over the rows as a file: MySQL / HTTP Arrow | {mysql_rate:,.0f} / {arrow_rate:,.0f} "
            "rows/s |"]


def _selective(pg, server, con) -> list[str]:  # type: ignore[no-untyped-def]
    """A 1% filter joined with the model: PostgreSQL reads only the matching rows."""
    origin, matching = _query(con, "SELECT origin, n FROM pg (SELECT origin, count(*) AS n FROM flights "
                                   "GROUP BY origin ORDER BY abs(count(*) - (SELECT count(*) / 100 FROM flights)) "
                                   "LIMIT 1) AS q")[0]
    sql = (f"SELECT t.*, m.delay AS predicted FROM pg.flights AS t JOIN mindsdb.flights_delay AS m "
           f"WHERE t.origin = '{origin}'")
    sent = [r for r in _query(con, f"EXPLAIN {sql}") if r[1] == "RemoteScan"][0][4]
    time.sleep(1.5)  # PostgreSQL publishes a backend's table statistics at most once a second
    before = _pg_reads(pg, "flights")
    rate, rows = mariadb_rows_per_s(server.mysql_port, sql)
    time.sleep(1.5)
    after = _pg_reads(pg, "flights")
    return ["", f"Selective JOIN `... WHERE t.origin = '{origin}'` ({matching:,} of the rows match, "
                f"{rows:,} returned, {rate:,.0f} rows/s): PostgreSQL received `{sent}` and, by "
                f"pg_stat_user_tables, read **{after[1] - before[1]:,} rows through the origin index and "
                f"{after[0] - before[0]:,} by sequential scan**."]


if __name__ == "__main__":
    main()
