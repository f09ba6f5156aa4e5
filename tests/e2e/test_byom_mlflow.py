"""MindsDB's "bring your own model" tutorial, as written, through the real server: a text classifier
served by a real `mlflow models serve`, linked with CREATE PREDICTOR ... format='mlflow', and
joined with its test split in a real PostgreSQL."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pymysql
import pytest
from tests.byom import serving
from tests.byom.mlflow_model import held_out_rows
from tests.conftest import RunningServer, start_server
from tests.databases import DatabaseServer, postgres_server  # noqa: F401
from tests.e2e.helpers import mysql

mlflow_server = serving.mlflow_server  # the session fixture: trains and serves the model

TEST_ROWS = 300


def _run(server: RunningServer, sql: str) -> list[dict]:
    with mysql(server, database=None) as con, con.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("USE mindsdb")
        cur.execute(sql)
        return list(cur.fetchall())


def _wait_until_refused(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return
        time.sleep(0.1)
    pytest.fail(f"port {port} still accepts connections after the server was stopped")


def _served(url: str, texts: list[str]) -> list[int]:
    """What the served model itself answers for these texts."""
    response = httpx.post(url, json={"dataframe_split": {"columns": ["text"], "data": [[t] for t in texts]}},
                          timeout=60)
    response.raise_for_status()
    return [row["target"] for row in response.json()["predictions"]]


@pytest.fixture(scope="module")
def tutorial(mlflow_server: serving.MlflowServer, postgres_server: DatabaseServer,  # noqa: F811
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, serving.MlflowServer]]:
    rows = held_out_rows(TEST_ROWS)
    with postgres_server.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS test")
        con.execute("DROP TABLE IF EXISTS test.nlp_kaggle_test")
        con.execute("CREATE TABLE test.nlp_kaggle_test (id integer, text text, target integer)")
        with con.cursor() as cur:
            cur.executemany("INSERT INTO test.nlp_kaggle_test VALUES (%s, %s, %s)",
                            [(int(r.id), r.text, int(r.target)) for r in rows.itertuples()])
    server = start_server(tmp_path_factory.mktemp("byom") / "data")
    yield server, mlflow_server
    server.stop()


def test_the_tutorial_runs_as_written(tutorial: tuple[RunningServer, serving.MlflowServer],
                                      postgres_server: DatabaseServer) -> None:  # noqa: F811
    server, mlflow = tutorial
    created = _run(server, f"""
        CREATE PREDICTOR nlp_kaggle_mlflow
        PREDICT `target`
        USING url.predict='{mlflow.url}', format='mlflow',
              dtype_dict={{"text": "rich text", "target": "binary"}}""")
    assert created[0]["STATUS"] == "complete" and created[0]["ENGINE"] == "mlflow"

    text = "The tsunami is coming, seek high ground"
    one = _run(server, f"SELECT target FROM mindsdb.nlp_kaggle_mlflow WHERE text='{text}'")
    assert one == [{"target": _served(mlflow.url, [text])[0]}]

    parameters = {k: v for k, v in postgres_server.parameters().items() if k != "connect_timeout"}
    _run(server, f"CREATE DATABASE db_byom WITH ENGINE='postgres', PARAMETERS={json.dumps(parameters)}")
    joined = _run(server, "SELECT ta.text, tb.target AS predicted "
                          "FROM db_byom.test.nlp_kaggle_test AS ta JOIN mindsdb.nlp_kaggle_mlflow AS tb")
    assert len(joined) == TEST_ROWS
    assert [r["predicted"] for r in joined] == _served(mlflow.url, [r["text"] for r in joined])
    # Against the users' own labels: the model is a real classifier, not a constant.
    labels = {r[0]: r[1] for r in postgres_server.connect().execute(
        "SELECT text, target FROM test.nlp_kaggle_test").fetchall()}
    accuracy = sum(labels[r["text"]] == r["predicted"] for r in joined) / len(joined)
    assert accuracy > 0.7


def test_linked_model_facts_and_errors(tutorial: tuple[RunningServer, serving.MlflowServer]) -> None:
    server, mlflow = tutorial
    _run(server, f"CREATE MODEL mindsdb.tweets PREDICT target USING engine = 'mlflow', "
                 f"predict_url = '{mlflow.url}', dtype_dict = {{\"text\": \"rich text\", \"target\": \"binary\"}}")
    info = _run(server, "DESCRIBE mindsdb.tweets.info")[0]
    assert info["url"] == mlflow.url and json.loads(info["inputs"]) == [["text", "rich text"]]
    # Only the declared input reaches the model: the data table's other columns (id, target) do not.
    assert _run(server, "SELECT m.target FROM (SELECT 'calm sea' AS text, 7 AS id, 1 AS target) AS t "
                        "JOIN mindsdb.tweets AS m") == [{"target": _served(mlflow.url, ["calm sea"])[0]}]
    # dtype_dict says "binary"; the model answers 0/1 integers, and a client's column probe sees them so.
    assert json.loads(info["outputs"]) == [["target", "integer"]]
    with mysql(server) as con, con.cursor() as cur:
        cur.execute("SELECT target FROM mindsdb.tweets WHERE 1 = 0")
        assert cur.description[0][1] == pymysql.constants.FIELD_TYPE.LONGLONG and cur.fetchall() == ()
        with pytest.raises(pymysql.err.MySQLError) as dead:
            cur.execute("CREATE MODEL mindsdb.dead PREDICT target USING engine = 'mlflow', "
                        "predict_url = 'http://127.0.0.1:1/invocations', dtype_dict = {\"text\": \"rich text\"}")
        assert "127.0.0.1:1" in dead.value.args[1] and "cannot be reached" in dead.value.args[1]
        with pytest.raises(pymysql.err.MySQLError) as wrong:
            cur.execute(f"CREATE MODEL mindsdb.wrong PREDICT target USING engine = 'mlflow', "
                        f"predict_url = '{mlflow.url}', dtype_dict = {{\"body\": \"rich text\"}}")
        assert wrong.value.args[0] == 1210 and "text" in wrong.value.args[1]
        cur.execute("SELECT name FROM mindsdb.models WHERE name IN ('dead', 'wrong')")
        assert cur.fetchall() == ()


def test_parquet_request_bodies(tutorial: tuple[RunningServer, serving.MlflowServer]) -> None:
    """MLflow 3 takes Parquet bodies: the same predictions as JSON, for a JOIN in batches."""
    server, mlflow = tutorial
    _run(server, f"CREATE MODEL mindsdb.tweets_parquet PREDICT target USING engine = 'mlflow', "
                 f"predict_url = '{mlflow.url}', request_format = 'parquet', "
                 f"dtype_dict = {{\"text\": \"rich text\", \"target\": \"binary\"}}")
    assert _run(server, "DESCRIBE mindsdb.tweets_parquet.info")[0]["request_format"] == "parquet"
    rows = _run(server, "SELECT t.text, m.target FROM db_byom.test.nlp_kaggle_test AS t "
                        "JOIN mindsdb.tweets_parquet AS m USING batch_size = 64")
    assert len(rows) == TEST_ROWS
    assert [r["target"] for r in rows] == _served(mlflow.url, [r["text"] for r in rows])


def test_an_endpoint_that_goes_away_is_a_clear_error(tmp_path: Path) -> None:
    from tests.byom.mlflow_model import save_tweet_model
    from tests.byom.serving import serve_mlflow_model
    from tests.conftest import free_port

    save_tweet_model(tmp_path / "model")
    served = serve_mlflow_model(tmp_path / "model", free_port())
    server = start_server(tmp_path / "data")
    try:
        _run(server, f"CREATE MODEL mindsdb.fragile PREDICT target USING engine = 'mlflow', "
                     f"predict_url = '{served.url}', dtype_dict = {{\"text\": \"rich text\"}}")
        assert len(_run(server, "SELECT target FROM mindsdb.fragile WHERE text = 'fire'")) == 1
        served.stop()
        _wait_until_refused(served.port)  # uvicorn may finish a kept-alive request while it shuts down
        with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as gone:
            cur.execute("SELECT target FROM mindsdb.fragile WHERE text = 'fire'")
        assert served.url in gone.value.args[1] and "cannot be reached" in gone.value.args[1]
        assert _run(server, "SELECT 1 AS up") == [{"up": 1}]  # the server stays up
    finally:
        server.stop()
        served.stop()


def test_a_configured_ml_engine_gives_its_options_to_its_models(
        tutorial: tuple[RunningServer, serving.MlflowServer]) -> None:
    server, mlflow = tutorial
    _run(server, "CREATE ML_ENGINE served_mlflow FROM mlflow USING request_format = 'dataframe_records', "
                 "batch_size = 50, api_token = 'very-secret'")
    engines = {r["NAME"]: r for r in _run(server, "SHOW ML_ENGINES")}
    assert engines["served_mlflow"]["HANDLER"] == "mlflow"
    assert json.loads(engines["served_mlflow"]["CONNECTION_DATA"])["api_token"] == "******"
    assert "very-secret" not in json.dumps(_run(server, "SELECT * FROM information_schema.ml_engines"))
    _run(server, f"CREATE MODEL mindsdb.configured PREDICT target USING engine = 'served_mlflow', "
                 f"predict_url = '{mlflow.url}', dtype_dict = {{\"text\": \"rich text\"}}")
    shown = _run(server, "SELECT training_options FROM mindsdb.models WHERE name = 'configured'")
    assert "very-secret" not in shown[0]["TRAINING_OPTIONS"] and "******" in shown[0]["TRAINING_OPTIONS"]
    info = _run(server, "DESCRIBE mindsdb.configured.info")[0]
    assert info["request_format"] == "dataframe_records" and info["batch_size"] == 50
    assert _run(server, "SELECT engine FROM mindsdb.models WHERE name = 'configured'") == [{"ENGINE": "mlflow"}]
    _run(server, "DROP ML_ENGINE served_mlflow")
    assert "served_mlflow" not in {r["NAME"] for r in _run(server, "SHOW ML_ENGINES")}
    assert len(_run(server, "SELECT target FROM mindsdb.configured WHERE text = 'flood'")) == 1


def test_a_model_loaded_from_its_path_runs_in_a_worker(tutorial: tuple[RunningServer, serving.MlflowServer],
                                                       postgres_server: DatabaseServer,  # noqa: F811
                                                       tmp_path: Path) -> None:
    from tests.byom.mlflow_model import save_failing_model

    server, mlflow = tutorial
    parameters = {k: v for k, v in postgres_server.parameters().items() if k != "connect_timeout"}
    _run(server, f"CREATE DATABASE IF NOT EXISTS db_byom WITH ENGINE='postgres', PARAMETERS={json.dumps(parameters)}")
    _run(server, f"CREATE MODEL mindsdb.local_tweets PREDICT target USING engine = 'mlflow', "
                 f"model_uri = 'file://{mlflow.model_dir}', dtype_dict = {{\"text\": \"rich text\"}}")
    joined = _run(server, "SELECT ta.text, tb.target FROM db_byom.test.nlp_kaggle_test AS ta "
                          "JOIN mindsdb.local_tweets AS tb")
    assert [r["target"] for r in joined] == _served(mlflow.url, [r["text"] for r in joined])
    assert _run(server, "DESCRIBE mindsdb.local_tweets.info")[0]["runs_in"] == "worker process"

    failing = save_failing_model(tmp_path / "failing")
    _run(server, f"CREATE MODEL mindsdb.fragile_code PREDICT target USING engine = 'mlflow', "
                 f"model_uri = '{failing}', dtype_dict = {{\"text\": \"text\"}}")
    assert _run(server, "SELECT target FROM mindsdb.fragile_code WHERE text = 'four'") == [{"target": 4}]
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as raised:
        cur.execute("SELECT target FROM mindsdb.fragile_code WHERE text = 'boom'")
    message = raised.value.args[1]
    # The model's own traceback, down to the line of its predict that raised (its code was pickled
    # by value, so the frame is named <dynamic-code>).
    assert "ValueError: this model cannot read 'boom'" in message and "in predict" in message
    assert _run(server, "SELECT target FROM mindsdb.fragile_code WHERE text = 'again'") == [{"target": 5}]
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as missing:
        cur.execute("CREATE MODEL mindsdb.nowhere PREDICT target USING engine = 'mlflow', "
                    f"model_uri = '{tmp_path / 'nothing'}', dtype_dict = {{\"text\": \"text\"}}")
    assert missing.value.args[0] == 1210 and "MLmodel" in missing.value.args[1]
