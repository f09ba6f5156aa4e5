"""Taking a model out: `augurdb export`, EXPORT MODEL and the HTTP download write an MLflow model that
answers as augurdb does (served by a real `mlflow models serve`, or loaded with mlflow.pyfunc)."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pandas as pd
import pymysql
import pytest
from tests.byom.serving import serve_mlflow_model
from tests.conftest import free_port, start_server
from tests.e2e.helpers import assert_complete, query, upload, wait_for_model

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


def test_export_model_in_sql_and_over_http(tmp_path: Path, shared_data: Path) -> None:
    """EXPORT MODEL writes inside the server's export directory only; the HTTP download is the
    same MLflow model zipped. Both predict as augurdb does (loaded with mlflow.pyfunc here)."""
    import mlflow.pyfunc

    rentals = pd.read_csv(shared_data / "home_rentals" / "home_rentals.csv")
    rentals.iloc[:2000].to_csv(tmp_path / "train.csv", index=False)
    test = rentals.iloc[2000:2030].drop(columns=["rental_price"])
    server = start_server(tmp_path / "data")
    try:
        upload(server, "train", tmp_path / "train.csv")
        query(server, "CREATE MODEL mindsdb.rentals FROM files (SELECT sqft, location, number_of_rooms, rental_price "
                      "FROM train) PREDICT rental_price "
                      "USING time_budget = 5, mixers = ['Linear', 'LightGBM']")
        assert_complete(wait_for_model(server, "rentals"))
        rows = ", ".join(f"({r.sqft}, '{r.location}', {r.number_of_rooms})" for r in test.itertuples())
        ours = [r["rental_price"] for r in query(
            server, f"SELECT m.rental_price FROM (SELECT * FROM (VALUES {rows}) AS v(sqft, location, number_of_rooms)) "
                    "AS t JOIN mindsdb.rentals AS m")]

        (written,) = query(server, "EXPORT MODEL mindsdb.rentals TO 'rentals_v1'")
        assert written["path"] == str((tmp_path / "data" / "exports" / "rentals_v1").resolve())
        assert written["model"] == "mindsdb.rentals.1"
        frame = test[["sqft", "location", "number_of_rooms"]]
        from_sql = mlflow.pyfunc.load_model(written["path"]).predict(frame)["rental_price"].tolist()
        assert from_sql == pytest.approx(ours, rel=1e-9)
        for outside in ("/tmp/elsewhere", "../escaped"):
            with pytest.raises(pymysql.err.OperationalError) as refused:
                query(server, f"EXPORT MODEL mindsdb.rentals TO '{outside}'")
            assert refused.value.args[0] == 1290 and "export directory" in refused.value.args[1]
        assert not (tmp_path / "data" / "escaped").exists()

        download = httpx.get(f"{server.http}/api/projects/mindsdb/models/rentals.1/export", timeout=120)
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            archive.extractall(tmp_path / "downloaded")
        from_http = mlflow.pyfunc.load_model(str(tmp_path / "downloaded")).predict(frame)["rental_price"].tolist()
        assert from_http == pytest.approx(ours, rel=1e-9)
        assert httpx.get(f"{server.http}/api/projects/mindsdb/models/nothing/export").status_code == 404
    finally:
        server.stop()
