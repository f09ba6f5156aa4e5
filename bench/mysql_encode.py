"""Micro-benchmark: MySQL text- and binary-protocol row encoding of 1M rows x 5 columns.

Run: python bench/mysql_encode.py [rows]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pyarrow as pa

from augurdb.server.mysql.columns import codec_for, plain_type
from augurdb.server.mysql.resultset import encode_slice, rows_per_slice


def make_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "score": pa.array(rng.random(rows)),
            "name": pa.array([f"name-{i % 1000}" for i in range(rows)]),
            "at": pa.array(np.datetime64("2024-01-01") + rng.integers(0, 10**12, rows).astype("timedelta64[us]")),
            "qty": pa.array(rng.integers(-1000, 1000, rows).astype(np.int32), mask=rng.random(rows) < 0.1),
        }
    )


def encode(table: pa.Table, binary: bool) -> int:
    codecs = [codec_for(plain_type(f.type)) for f in table.schema]
    step, seq, size = rows_per_slice(table), 0, 0
    for start in range(0, table.num_rows, step):
        data, seq = encode_slice(table.slice(start, step).columns, codecs, seq, binary)
        size += len(data)
    return size


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    table = make_table(rows)
    for binary in (False, True):
        start = time.perf_counter()
        size = encode(table, binary)
        elapsed = time.perf_counter() - start
        kind = "binary" if binary else "text"
        print(f"{kind:6s}: {rows:,} rows x 5 cols in {elapsed:.3f}s = {rows / elapsed / 1e6:.2f} M rows/s, "
              f"{size / elapsed / 1e6:.0f} MB/s")


if __name__ == "__main__":
    main()
