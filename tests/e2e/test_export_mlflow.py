"""`augurdb export`: an augurdb model served by a real `mlflow models serve` answers as augurdb does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from tests.byom.serving import serve_mlflow_model
from tests.conftest import free_port

import augurdb


def test_exported_model_serves_the_same_predictions(tmp_path: Path, shared_data: Path) -> None:
    rentals = pd.read_csv(shared_data / "home_rentals" / "home_rentals.csv")
    train, test = rentals.iloc[:3000], rentals.iloc[3000:3050].drop(columns=["rental_price"])
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    data = tmp_path / "data"
    con = augurdb.connect(data)
    cur = con.cursor()
    for name in ("train", "test"):
        con.instance.files.load(name, tmp_path / f"{name}.csv")
    cur.execute("CREATE MODEL mindsdb.rentals FROM files (SELECT * FROM train) PREDICT rental_price "
                "USING time_budget = 5, mixers = ['Linear', 'LightGBM'], join_learn_process = true")
    cur.execute("SELECT m.rental_price, m.rental_price_min, m.rental_price_max FROM files.test AS t "
                "JOIN mindsdb.rentals AS m")
    ours = cur.fetchall()
    con.close()

    target = tmp_path / "exported"
    done = subprocess.run([sys.executable, "-m", "augurdb.cli", "export", "--data-dir", str(data),
                           "mindsdb.rentals", str(target)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not list(target.rglob("training_data.parquet"))  # the training rows stay in augurdb

    served = serve_mlflow_model(target, free_port())
    try:
        frame = pd.read_csv(tmp_path / "test.csv")
        body = {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
        answer = httpx.post(served.url, json=body, timeout=60).json()["predictions"]
    finally:
        served.stop()
    theirs = [(r["rental_price"], r["rental_price_min"], r["rental_price_max"]) for r in answer]
    assert len(theirs) == len(ours) == 50
    assert theirs == [pytest.approx(tuple(float(v) for v in row), rel=1e-9) for row in ours]
