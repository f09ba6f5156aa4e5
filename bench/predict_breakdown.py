"""Where a bulk prediction's time goes: reading, encoding, each kept mixer, the rest.

    .venv/bin/python bench/predict_breakdown.py [--train-rows 20000] [--draw-from 0] [--rows 1000000]

Trains the AutoML in process on a sample of flights_3m (``--draw-from N`` draws the sample from
the first N rows; 0, the default, from all of them), then predicts ``--rows`` rows in the
batches a streamed model JOIN uses, through the engine adapter the server calls
(Arrow in, Arrow out). Each part is timed on the same batches and reported in µs a row; the
whole adapter call is the reference the parts add up to. The sample decides which mixers are
kept, so run it with more than one sample before reading much into one figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from augurdb.automl import learn  # noqa: E402
from augurdb.automl.features import assemble  # noqa: E402
from augurdb.automl.vectorizer import vectorize  # noqa: E402
from augurdb.executor.stream import STREAM_BATCH_ROWS  # noqa: E402
from augurdb.integrations.ml.automl_engine import AutoMLModel  # noqa: E402

FLIGHTS = ROOT.parent / "shared" / "data" / "flights_3m" / "flights_3m.parquet"
TARGET = "delay"


class _Request:
    """What the executor hands a loaded model: rows, options, and the columns the query reads."""

    def __init__(self, rows: pa.Table):
        self.rows, self.options, self.reads = rows, {}, {TARGET}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--draw-from", type=int, default=0, help="draw the sample from the first N rows (0: all)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--budget", type=float, default=20)
    args = parser.parse_args()
    table = pq.read_table(FLIGHTS)
    pool = table.slice(0, args.draw_from) if args.draw_from else table
    predictor = learn(pool.to_pandas().sample(args.train_rows, random_state=0), TARGET, time_budget=args.budget)
    model = predictor._model
    print("kept:", ", ".join(f"{name} ({weight:.2f})" for name, weight in model.weights.items()))
    adapter = AutoMLModel(predictor)
    batches = [pa.Table.from_batches([b]) for b in table.slice(0, args.rows).drop([TARGET]).to_batches(STREAM_BATCH_ROWS)]
    rows = sum(b.num_rows for b in batches)
    for batch in batches[:2]:
        adapter.predict(_Request(batch))  # warm-up: thread pools, caches
    seconds: dict[str, float] = defaultdict(float)
    for batch in batches:
        started = time.perf_counter()
        adapter.predict(_Request(batch))
        seconds["whole adapter call"] += time.perf_counter() - started
        started = time.perf_counter()
        frame = batch.to_pandas()
        values = vectorize(frame, model.stats, model.input_columns)
        seconds["Arrow to pandas, typed values"] += time.perf_counter() - started
        started = time.perf_counter()
        x = assemble([model.encoders[name].transform(values[name]) for name in model.input_columns])
        seconds["encoders and assemble"] += time.perf_counter() - started
        for name in model.weights:
            started = time.perf_counter()
            model.mixers[name].predict(x)
            seconds[f"mixer {name}"] += time.perf_counter() - started
    print(f"{rows:,} rows in batches of {STREAM_BATCH_ROWS:,}, µs a row:")
    for part, spent in seconds.items():
        print(f"  {part:<34} {spent / rows * 1e6:7.2f}")


if __name__ == "__main__":
    main()
