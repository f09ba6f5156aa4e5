"""Bring-your-own-model benchmarks: a JOIN against a model served by `mlflow models serve`.

    .venv/bin/python bench/byom.py [--rows 10000] [--out docs/benchmarks.md]

Serves the tutorial's tweet classifier (tests/byom/mlflow_model.py) with a real `mlflow models
serve`, starts `augurdb serve`, links the model and uploads `--rows` tweets as a file. In the same
run, for batch sizes 1, 100, 1,000 and 10,000:
- the JOIN `SELECT t.text, m.target FROM files.tweets t JOIN m USING batch_size = B` over the MySQL
  protocol (all rows fetched), with one request in flight and with four, and with Parquet bodies;
- the same rows sent to the endpoint directly from Python (httpx, one kept-alive client, the
  same batches one after another);
and single-row latency: `SELECT target FROM m WHERE text = ...` over pymysql against one direct
call of the endpoint with one row (p50 over 200 calls each). Then the same JOINs against the
in-process engine (`USING model_uri = ...`, the model in a worker process) beside
`mlflow.pyfunc.load_model(...).predict` called directly on the same batches.

Each rows/s figure is the median of `--repeats` runs, the JOIN and its reference interleaved,
because the machine is shared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
import pymysql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.server import percentile, timed_queries, write_section  # noqa: E402
from tests.byom.mlflow_model import held_out_rows, save_tweet_model, train_rows  # noqa: E402
from tests.byom.serving import serve_mlflow_model  # noqa: E402
from tests.conftest import free_port, start_server  # noqa: E402
from tests.e2e.helpers import upload  # noqa: E402

BATCHES = (1, 100, 1_000, 10_000)

COMMAND = "Command: `.venv/bin/python bench/byom.py --out docs/benchmarks.md` (2-core machine, shared)."


def direct_rows_per_s(client: httpx.Client, url: str, texts: list[str], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        part = texts[start:start + batch]
        response = client.post(url, json={"dataframe_split": {"columns": ["text"], "data": [[t] for t in part]}})
        response.raise_for_status()
        assert len(response.json()["predictions"]) == len(part)
    return len(texts) / (time.perf_counter() - started)


def pyfunc_rows_per_s(model: object, texts: list[str], batch: int) -> float:
    """mlflow.pyfunc's own predict over the same batches, in this process."""
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        part = texts[start:start + batch]
        assert len(model.predict(pd.DataFrame({"text": part}))) == len(part)  # type: ignore[attr-defined]
    return len(texts) / (time.perf_counter() - started)


def join_rows_per_s(con: pymysql.connections.Connection, batch: int, in_flight: int, rows: int,
                    model: str = "tweets", limit: str = "") -> float:
    sql = (f"SELECT t.text, m.target FROM files.tweets AS t JOIN mindsdb.{model} AS m{limit} "
           f"USING batch_size = {batch}, in_flight = {in_flight}")
    started = time.perf_counter()
    with con.cursor() as cur:
        cur.execute(sql)
        got = len(cur.fetchall())
    assert got == rows, got
    return rows / (time.perf_counter() - started)


def in_process_lines(con: pymysql.connections.Connection, model_dir: Path, texts: list[str],
                     repeats: int) -> list[str]:
    """The JOIN against the model loaded from its directory, beside mlflow.pyfunc in this process."""
    import mlflow.pyfunc

    with con.cursor() as cur:
        cur.execute(f"CREATE MODEL tweets_local PREDICT target USING engine = 'mlflow', model_uri = '{model_dir}', "
                    "dtype_dict = {\"text\": \"rich text\", \"target\": \"binary\"}")
        cur.execute("SELECT target FROM mindsdb.tweets_local WHERE text = 'warm up'")  # starts its worker
        cur.fetchall()
    model = mlflow.pyfunc.load_model(str(model_dir))
    lines = ["The same rows joined with the model loaded in process (`USING model_uri = ...`: a worker "
             "process of the server), beside `mlflow.pyfunc.load_model(...).predict` in the benchmark's "
             "own process on the same batches.", "",
             "| batch size | mlflow.pyfunc direct (rows/s) | JOIN (rows/s) | ratio |", "|---|---|---|---|"]
    for batch in BATCHES[1:]:  # one row per call is the REST case's question
        runs = [(pyfunc_rows_per_s(model, texts, batch), join_rows_per_s(con, batch, 1, len(texts), "tweets_local"))
                for _ in range(repeats)]
        direct, joined = (statistics.median(r[i] for r in runs) for i in range(2))
        lines.append(f"| {batch:,} | {direct:,.0f} | {joined:,.0f} | {joined / direct:.2f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--single-row-runs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (the median is reported)")
    parser.add_argument("--out", type=Path, help="write the results section into this markdown file")
    args = parser.parse_args()
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        save_tweet_model(root / "model")
        mlflow = serve_mlflow_model(root / "model", free_port(), log=root / "mlflow.log")
        server = start_server(root / "data")
        try:
            texts = (pd.concat([train_rows(), held_out_rows()])["text"].tolist() * 2)[:args.rows]
            pd.DataFrame({"text": texts}).to_csv(root / "tweets.csv", index=False)
            upload(server, "tweets", root / "tweets.csv")
            con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", database="mindsdb",
                                  autocommit=True)
            with con.cursor() as cur:
                for name, request_format in (("tweets", "dataframe_split"), ("tweets_parquet", "parquet")):
                    cur.execute(f"CREATE MODEL {name} PREDICT target USING engine = 'mlflow', predict_url = "
                                f"'{mlflow.url}', request_format = '{request_format}', "
                                f"dtype_dict = {{\"text\": \"rich text\", \"target\": \"binary\"}}")
            lines += [f"{args.rows:,} tweets (a file) joined with the tutorial's classifier served by "
                      f"`mlflow models serve` (mlflow-skinny 3.17.2), all in one run; medians of {args.repeats} "
                      "interleaved runs.", "",
                      "| batch size | direct httpx calls (rows/s) | JOIN, 1 in flight | ratio | JOIN, 4 in flight |"
                      " ratio | JOIN, Parquet bodies, 1 in flight | ratio |", "|---|---|---|---|---|---|---|---|"]
            with httpx.Client(timeout=120) as client:
                for batch in BATCHES:
                    # One row per request: a tenth of the rows gives the same rows/s in a tenth of the time.
                    rows = texts[:len(texts) // 10] if batch == 1 else texts
                    limit = f" LIMIT {len(rows)}"
                    runs = [(direct_rows_per_s(client, mlflow.url, rows, batch),
                             join_rows_per_s(con, batch, 1, len(rows), limit=limit),
                             join_rows_per_s(con, batch, 4, len(rows), limit=limit),
                             join_rows_per_s(con, batch, 1, len(rows), "tweets_parquet", limit=limit))
                            for _ in range(args.repeats)]
                    direct, one, four, parquet = (statistics.median(r[i] for r in runs) for i in range(4))
                    lines.append(f"| {batch:,} | {direct:,.0f} | {one:,.0f} | {one / direct:.2f} | {four:,.0f} | "
                                 f"{four / direct:.2f} | {parquet:,.0f} | {parquet / direct:.2f} |")
                    print(lines[-1], flush=True)
                text = "The tsunami is coming, seek high ground"
                direct_ms = []
                for _ in range(args.single_row_runs):
                    started = time.perf_counter()
                    client.post(mlflow.url, json={"dataframe_split": {"columns": ["text"], "data": [[text]]}})
                    direct_ms.append((time.perf_counter() - started) * 1000)
            via = timed_queries(con, f"SELECT target FROM mindsdb.tweets WHERE text = '{text}'",
                                args.single_row_runs)
            added = percentile(via, .5) - percentile(direct_ms, .5)
            lines += ["", f"- one row: direct call p50 {percentile(direct_ms, .5):.2f} ms; "
                          f"`SELECT target FROM m WHERE text = ...` over pymysql p50 {percentile(via, .5):.2f} ms "
                          f"(p99 {percentile(via, .99):.2f} ms): **{added:.2f} ms added**"]
            lines += ["", *in_process_lines(con, root / "model", texts, args.repeats)]
            con.close()
        finally:
            server.stop()
            mlflow.stop()
    report = "\n".join(lines)
    print(report)
    if args.out:
        write_section(args.out, report, heading="## Bring your own model (MLflow)", command=COMMAND)


if __name__ == "__main__":
    main()
