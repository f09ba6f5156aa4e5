"""Predicted values as users see them: each classification dataset is trained through a real
`augurdb serve`, and the predictions, fetched over the MySQL protocol (pymysql), are compared
with the test split's labels as the CSV spells them. Run through `bench/automl.py --check-values`.

Reported per dataset: the share of uploaded test labels that come back from `files.<test>` as
written, the share of predicted values spelled like a label of the training file, and the
balanced accuracy computed on the strings alone (no casting), beside the engine's own figure
from `bench/automl.py` in the same split.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pymysql
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.automl import DATA, DATASETS  # noqa: E402
from tests.conftest import start_server  # noqa: E402
from tests.e2e.helpers import upload, wait_for_model  # noqa: E402


def raw_split(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """bench/automl.py's split, with every value as the file spells it (text, nothing parsed)."""
    train_file, test_file, target, _ = DATASETS[name]
    raw = pd.read_csv(DATA / train_file, dtype=str, keep_default_na=False)
    typed = pd.read_csv(DATA / train_file)
    known = typed[target].notna().to_numpy()
    raw, typed = raw[known].reset_index(drop=True), typed[known].reset_index(drop=True)
    if test_file:
        test = pd.read_csv(DATA / test_file, dtype=str, keep_default_na=False)
        return raw, test[pd.read_csv(DATA / test_file)[target].notna().to_numpy()], target
    train_rows, test_rows = train_test_split(np.arange(len(raw)), test_size=0.2, random_state=0, stratify=typed[target])
    return raw.iloc[np.sort(train_rows)], raw.iloc[np.sort(test_rows)], target


def _check(server, name: str, budget: float, work: Path) -> str:
    train, test, target = raw_split(name)
    train.to_csv(work / f"{name}_train.csv", index=False)
    test.to_csv(work / f"{name}_test.csv", index=False)
    upload(server, f"{name}_train", work / f"{name}_train.csv")
    upload(server, f"{name}_test", work / f"{name}_test.csv")
    con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", database="mindsdb",
                          autocommit=True, ssl_disabled=True)
    with con.cursor() as cur:
        cur.execute(f"CREATE MODEL mindsdb.{name} FROM files (SELECT * FROM {name}_train) PREDICT `{target}` "
                    f"USING time_budget = {budget}")
        status = wait_for_model(server, name, timeout=budget * 6 + 120)
        if status["STATUS"] != "complete":
            return f"| {name} | model {status['STATUS']}: {status['ERROR']} | | | |"
        started = time.perf_counter()
        cur.execute(f"SELECT t.`{target}`, m.`{target}` FROM files.{name}_test AS t JOIN mindsdb.{name} AS m")
        rows = cur.fetchall()
        seconds = time.perf_counter() - started
    con.close()
    written = test[target].tolist()
    returned = ["" if t is None else str(t) for t, _ in rows]
    predicted = ["" if p is None else str(p) for _, p in rows]
    labels = set(train[target])
    as_written = np.mean([a == b for a, b in zip(returned, written, strict=True)])
    spelled = np.mean([p in labels for p in predicted])
    accuracy = balanced_accuracy_score(written, predicted)
    return (f"| {name} | {100 * as_written:.1f}% | {100 * spelled:.1f}% | {accuracy:.4f} | "
            f"{len(rows):,} rows in {seconds:.2f} s |")


def check_values(names: list[str], budget: float) -> str:
    lines = ["| dataset | test labels back from files.<test> as written | predictions spelled like a training "
             "label | balanced accuracy on the strings | JOIN over pymysql |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        server = start_server(work / "data", timeout=60)
        try:
            for name in names:
                lines.append(_check(server, name, budget, work))
                print(lines[-1], flush=True)
        finally:
            server.stop()
    return "\n".join(lines)
