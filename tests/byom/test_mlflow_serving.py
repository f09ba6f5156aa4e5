"""What a real `mlflow models serve` (MLflow 3.17) accepts and answers, for the MLflow engine.

Every accepted request format must give the in-process pyfunc predictions; the rejected ones
are pinned with their status and body, MindsDB's own 1.x-style request among them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import mlflow.pyfunc
import pandas as pd
import pytest
from tests.byom import serving
from tests.byom.mlflow_model import held_out_rows
from tests.byom.serving import MlflowServer

N_ROWS = 50
JSON = "application/json"

# The session fixture, bound here so pytest finds it (tests/byom has no conftest of its own).
mlflow_server = serving.mlflow_server


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return held_out_rows(N_ROWS)


@pytest.fixture(scope="module")
def expected(mlflow_server: MlflowServer, rows: pd.DataFrame) -> list[int]:
    """The in-process predictions of the very model directory the server serves."""
    predicted = mlflow.pyfunc.load_model(str(mlflow_server.model_dir)).predict(rows[["text"]])
    return [int(v) for v in predicted["target"]]


@pytest.fixture(scope="module")
def client(mlflow_server: MlflowServer) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def post(client: httpx.Client, server: MlflowServer, content: str | bytes | None,
         content_type: str | None) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    return client.post(server.url, content=content, headers=headers)


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


# name -> (body built from the `text` column, content type); all are DataFrame inputs.
Encoder = Callable[[pd.DataFrame], str | bytes]
ACCEPTED: dict[str, tuple[Encoder, str]] = {
    "dataframe_split": (lambda f: json.dumps(
        {"dataframe_split": {"columns": list(f.columns), "data": f.values.tolist()}}), JSON),
    # pandas' own to_json(orient="split") adds "index"; the server takes it as it is.
    "dataframe_split_pandas": (lambda f: f'{{"dataframe_split": {f.to_json(orient="split")}}}', JSON),
    "dataframe_records": (lambda f: json.dumps({"dataframe_records": f.to_dict(orient="records")}), JSON),
    "inputs_columns": (lambda f: json.dumps({"inputs": f.to_dict(orient="list")}), JSON),
    "inputs_records": (lambda f: json.dumps({"inputs": f.to_dict(orient="records")}), JSON),
    # A bare list of values: only because the signature has a single input column.
    "inputs_values": (lambda f: json.dumps({"inputs": f["text"].tolist()}), JSON),
    "instances_records": (lambda f: json.dumps({"instances": f.to_dict(orient="records")}), JSON),
    "instances_columns": (lambda f: json.dumps({"instances": f.to_dict(orient="list")}), JSON),
    "json_charset_utf8": (lambda f: json.dumps({"dataframe_records": f.to_dict(orient="records")}),
                          "application/json; charset=utf-8"),
    "csv": (lambda f: f.to_csv(index=False), "text/csv"),
    "parquet": (_parquet, "application/vnd.apache.parquet"),
}


def test_ping_and_version(mlflow_server: MlflowServer, client: httpx.Client) -> None:
    assert client.get(f"{mlflow_server.base_url}/ping").status_code == 200
    assert client.get(f"{mlflow_server.base_url}/health").status_code == 200
    assert client.get(f"{mlflow_server.base_url}/version").text == "3.17.2"


def test_reference_predictions_are_not_constant(expected: list[int], rows: pd.DataFrame) -> None:
    """Both classes occur, so agreeing with them says something about each format."""
    assert set(expected) == {0, 1}
    assert len(expected) == len(rows) == N_ROWS


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_format_matches_in_process_predict(
        name: str, mlflow_server: MlflowServer, client: httpx.Client,
        rows: pd.DataFrame, expected: list[int]) -> None:
    encode, content_type = ACCEPTED[name]
    response = post(client, mlflow_server, encode(rows[["text"]]), content_type)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    # A DataFrame output is sent as records under "predictions".
    assert response.json() == {"predictions": [{"target": v} for v in expected]}


def test_extra_columns_are_ignored(mlflow_server: MlflowServer, client: httpx.Client,
                                   rows: pd.DataFrame, expected: list[int]) -> None:
    """MindsDB sends every column of the query (and `__mindsdb_row_id` in JOINs)."""
    frame = rows.assign(__mindsdb_row_id=range(len(rows)))
    response = post(client, mlflow_server, json.dumps({"dataframe_split": json.loads(
        frame.to_json(orient="split", index=False))}), JSON)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [{"target": v} for v in expected]}


def test_mindsdb_pandas_records_request_is_refused(mlflow_server: MlflowServer,
                                                   client: httpx.Client, rows: pd.DataFrame) -> None:
    """MindsDB's handler sends MLflow 1.x's request; 3.17 refuses it on the content type alone."""
    body = rows[["text"]].head(2).to_json(orient="records")
    response = post(client, mlflow_server, body, "application/json; format=pandas-records")
    assert response.status_code == 415
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("Unrecognized content type parameters: format. IMPORTANT: The MLflow "
                                    "Model scoring protocol has changed in MLflow version 2.0.")


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error_code", "message", "sqlstate", "error_class"}
    return body


def test_bare_records_list_is_refused(mlflow_server: MlflowServer, client: httpx.Client,
                                      rows: pd.DataFrame) -> None:
    """The same 1.x body under a plain JSON content type gets past the header, not the parser."""
    response = post(client, mlflow_server, rows[["text"]].head(2).to_json(orient="records"), JSON)
    assert response.status_code == 400
    body = _error(response)
    assert (body["error_code"], body["error_class"], body["sqlstate"]) == (
        "BAD_REQUEST", "INVALID_PARAMETER_VALUE", "KAM00")
    assert body["message"].endswith("Received a list.")


def test_mlflow_1x_split_body_is_refused(mlflow_server: MlflowServer, client: httpx.Client) -> None:
    response = post(client, mlflow_server, json.dumps({"columns": ["text"], "data": [["fire"]]}), JSON)
    assert response.status_code == 400
    body = _error(response)
    assert body["error_code"] == "BAD_REQUEST"
    assert "Received dictionary with input fields: []" in body["message"]


def test_invalid_json_is_refused(mlflow_server: MlflowServer, client: httpx.Client) -> None:
    response = post(client, mlflow_server, '{"dataframe_split": ', JSON)
    assert response.status_code == 400
    body = _error(response)
    assert (body["error_code"], body["error_class"]) == ("BAD_REQUEST", "INVALID_PARAMETER_VALUE")
    assert body["message"].startswith("Invalid input. Ensure that input is a valid JSON formatted string.")


def test_missing_column_is_a_schema_error(mlflow_server: MlflowServer, client: httpx.Client) -> None:
    response = post(client, mlflow_server, json.dumps({"dataframe_records": [{"tweet": "fire"}]}), JSON)
    assert response.status_code == 400
    body = _error(response)
    assert (body["error_code"], body["error_class"], body["sqlstate"]) == (
        "INVALID_PARAMETER_VALUE", "SCHEMA_ENFORCEMENT_FAILED", "KAM01")
    assert "Model is missing inputs ['text']. Note that there were extra inputs: ['tweet']." in body["message"]


def test_unsupported_content_type_is_refused(mlflow_server: MlflowServer, client: httpx.Client) -> None:
    response = post(client, mlflow_server, "fire", "text/plain")
    assert response.status_code == 415
    assert response.text == ("This predictor only supports the following content types: Types: "
                             "['text/csv', 'application/json', 'application/vnd.apache.parquet']. "
                             "Got 'text/plain'.")


def test_empty_probe_post(mlflow_server: MlflowServer, client: httpx.Client) -> None:
    """MindsDB's URL check posts an empty body and fails only on 404/405."""
    # Without a content type the server crashes; uvicorn then drops the connection, so this
    # request gets one of its own rather than a pooled one of `client`.
    bare = httpx.post(mlflow_server.url, timeout=30)
    assert (bare.status_code, bare.text) == (500, "Internal Server Error")
    as_json = post(client, mlflow_server, b"", JSON)
    assert as_json.status_code == 400
    assert _error(as_json)["error_code"] == "BAD_REQUEST"
    assert client.get(mlflow_server.url).status_code == 405
