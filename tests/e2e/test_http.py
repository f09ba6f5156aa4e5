"""The HTTP API over a real socket: MindsDB's query shapes, Arrow results, uploads, predictions."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from tests.conftest import RunningServer
from tests.e2e.helpers import assert_complete, wait_for_model


def sql(server: RunningServer, query: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{server.http}/api/sql/query", json={"query": query, **extra}, timeout=60)


def test_query_shapes(server: RunningServer) -> None:
    table = sql(server, "SELECT 1 AS a, 'x' AS b").json()
    assert table["type"] == "table" and table["column_names"] == ["a", "b"] and table["data"] == [[1, "x"]]
    ok = sql(server, "SET NAMES utf8mb4").json()
    assert ok["type"] == "ok"
    used = sql(server, "USE files", context={"db": "mindsdb"}).json()
    assert used["context"]["db"] == "files"


def test_errors_carry_the_mysql_code_and_a_4xx_status(server: RunningServer) -> None:
    response = sql(server, "SELECT * FROM files.nope")
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "error" and body["error_code"] == 1146 and "nope" in body["error_message"]
    syntax = sql(server, "SELEC 1")
    assert syntax.status_code == 400 and syntax.json()["error_code"] == 1064


def test_upload_csv_with_quirks_and_read_back_as_arrow(server: RunningServer, tmp_path: Path) -> None:
    text = '\ufeffid,name,note,amount\r\n1,"Smith, J","line one\nline two",10.5\r\n2,"say ""hi""",,\r\n'
    path = tmp_path / "quirks.csv"
    path.write_bytes(text.encode("utf-8"))
    with path.open("rb") as f:
        uploaded = httpx.put(f"{server.http}/api/files/quirks", files={"file": ("quirks.csv", f)}, timeout=60)
    assert uploaded.status_code == 200, uploaded.text
    response = sql(server, "SELECT * FROM files.quirks ORDER BY id", response_format="arrow")
    assert response.headers["content-type"].startswith("application/vnd.apache.arrow.stream")
    table = pa.ipc.open_stream(io.BytesIO(response.content)).read_all()
    assert table.column_names == ["id", "name", "note", "amount"]
    assert table.to_pylist() == [
        {"id": 1, "name": "Smith, J", "note": "line one\nline two", "amount": 10.5},
        {"id": 2, "name": 'say "hi"', "note": None, "amount": None},
    ]
    assert {"name": "quirks", "row_count": 2, "columns": ["id", "name", "note", "amount"]} in \
        httpx.get(f"{server.http}/api/files").json()
    assert sql(server, "DROP TABLE files.quirks").json()["type"] == "ok"
    assert sql(server, "SELECT * FROM files.quirks").status_code == 404


@pytest.mark.parametrize("suffix", ["tsv", "json", "parquet"])
def test_upload_other_formats(server: RunningServer, tmp_path: Path, suffix: str) -> None:
    import pandas as pd

    frame = pd.DataFrame({"k": [1, 2, 3], "v": ["a", "b", None]})
    path = tmp_path / f"data.{suffix}"
    {"tsv": lambda: frame.to_csv(path, sep="\t", index=False),
     "json": lambda: frame.to_json(path, orient="records"),
     "parquet": lambda: frame.to_parquet(path)}[suffix]()
    with path.open("rb") as f:
        assert httpx.put(f"{server.http}/api/files/f_{suffix}", files={"file": (path.name, f)}).status_code == 200
    rows = sql(server, f"SELECT k, v FROM files.f_{suffix} ORDER BY k").json()["data"]
    assert rows == [[1, "a"], [2, "b"], [3, None]]


def test_predict_endpoint(server: RunningServer, shared_data: Path) -> None:
    with (shared_data / "home_rentals" / "home_rentals.csv").open("rb") as f:
        httpx.put(f"{server.http}/api/files/hr_http", files={"file": ("hr.csv", f)}, timeout=60).raise_for_status()
    created = sql(server, "CREATE MODEL mindsdb.hr_http FROM files (SELECT * FROM hr_http LIMIT 1500) "
                          "PREDICT rental_price USING time_budget = 3").json()
    assert created["type"] == "table"
    assert_complete(wait_for_model(server, "hr_http"))
    row = {"number_of_rooms": 1, "number_of_bathrooms": 1, "sqft": "700", "location": "good",
           "days_on_market": 5, "initial_price": 2500, "neighborhood": "downtown"}
    response = httpx.post(f"{server.http}/api/projects/mindsdb/models/hr_http/predict", json={"data": [row, row]})
    assert response.status_code == 200, response.text
    predictions = response.json()
    assert len(predictions) == 2 and 1500 < predictions[0]["rental_price"] < 3500
    missing = httpx.post(f"{server.http}/api/projects/mindsdb/models/hr_http/predict", json={"data": [{"sqft": 1}]})
    assert missing.status_code == 400 and missing.json()["error_code"] == 1054
    model = httpx.get(f"{server.http}/api/projects/mindsdb/models/hr_http").json()
    assert model["status"] == "complete" and model["predict"] == "rental_price"


def test_status_and_openapi(server: RunningServer) -> None:
    assert httpx.get(f"{server.http}/api/status").json()["augurdb_version"]
    paths = httpx.get(f"{server.http}/openapi.json").json()["paths"]
    assert "/api/sql/query" in paths and "/api/projects/{project}/models/{name}/predict" in paths


def test_unknown_project_is_404(server: RunningServer) -> None:
    response = httpx.get(f"{server.http}/api/projects/no_such_project/models")
    assert response.status_code == 404
    assert response.json()["error_code"] == 1049
