"""MindsDB's Ray Serve tutorial through the real server: a real Ray Serve application trains on
rows from a real PostgreSQL (`CREATE MODEL ... FROM mydb (...) ... format='ray_server'`), answers
one-row and JOIN predictions, and takes MindsDB's Parquet bodies; a model it already serves is
linked without FROM."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pandas as pd
import pymysql
import pytest
from tests.byom import ray_serving
from tests.conftest import SHARED_DATA, RunningServer, start_server
from tests.databases import DatabaseServer, load_csv, postgres_server  # noqa: F401
from tests.e2e.helpers import assert_complete, query, wait_for_model

ray_serve_app = ray_serving.ray_serve_app
ROWS = 200


@pytest.fixture(scope="module")
def server(postgres_server: DatabaseServer,  # noqa: F811
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with postgres_server.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS test_data")
        con.execute("DROP TABLE IF EXISTS test_data.home_rentals")
    load_csv(postgres_server, "home_rentals", "home_rentals/home_rentals.csv", schema="test_data", limit=ROWS)
    running = start_server(tmp_path_factory.mktemp("ray_serve") / "data")
    query(running, f"CREATE DATABASE mydb WITH ENGINE = 'postgres', "
                   f"PARAMETERS = {json.dumps(postgres_server.parameters())}")
    yield running
    running.stop()


def _served(app: ray_serving.RayServeApp, rows: list[dict], route: str = "predict") -> list[float]:
    """What the application itself answers for these rows."""
    response = httpx.post(f"{app.base_url}/{route}", json={"df": json.dumps(rows), "pred_args": {}}, timeout=60)
    response.raise_for_status()
    return response.json()["prediction"]


def _seen(app: ray_serving.RayServeApp) -> list[dict]:
    return httpx.get(f"{app.base_url}/seen", timeout=30).json()


def test_the_tutorial_trains_at_the_endpoint_and_predicts(server: RunningServer,
                                                          ray_serve_app: ray_serving.RayServeApp) -> None:
    url = ray_serve_app.base_url
    query(server, f"""
        CREATE MODEL mindsdb.byom_ray_serve
        FROM mydb (select number_of_rooms, initial_price, rental_price from test_data.home_rentals)
        PREDICT number_of_rooms
        USING url.train = '{url}/train', url.predict = '{url}/predict',
              dtype_dict={{"number_of_rooms": "categorical", "initial_price": "integer", "rental_price": "integer"}},
              format='ray_server'""")
    model = wait_for_model(server, "byom_ray_serve")
    assert model["STATUS"] == "complete", model["ERROR"]
    assert (model["ENGINE"], model["ERROR"]) == ("ray_serve", None)
    trained = [s for s in _seen(ray_serve_app) if s["route"] == "train"][-1]
    assert trained["columns"] == ["initial_price", "number_of_rooms", "rental_price"]
    assert trained["rows"] == ROWS
    assert trained["args"]["target"] == "number_of_rooms" and trained["args"]["format"] == "ray_server"

    one = query(server, "SELECT * FROM mindsdb.byom_ray_serve WHERE initial_price=3000 AND rental_price=3000")
    assert one == [{"number_of_rooms": _served(ray_serve_app, [{"initial_price": 3000, "rental_price": 3000}])[0],
                    "initial_price": 3000, "rental_price": 3000}]

    joined = query(server, """
        SELECT t.initial_price, t.rental_price, m.number_of_rooms AS predicted
        FROM mydb.test_data.home_rentals AS t JOIN mindsdb.byom_ray_serve AS m""")
    rows = [{"initial_price": r["initial_price"], "rental_price": r["rental_price"]} for r in joined]
    assert len(joined) == ROWS
    assert [r["predicted"] for r in joined] == _served(ray_serve_app, rows)
    # The application got only the model's inputs: no row id, no target, no other table column.
    assert _seen(ray_serve_app)[-2]["columns"] == ["initial_price", "rental_price"]

    info = query(server, "DESCRIBE mindsdb.byom_ray_serve.info")[0]
    assert (info["train_url"], info["predict_url"], info["format"]) == (f"{url}/train", f"{url}/predict", "json")
    assert info["calls"] >= 2 and info["errors"] == 0


def test_parquet_bodies_and_predict_time_arguments(server: RunningServer,
                                                   ray_serve_app: ray_serving.RayServeApp) -> None:
    url = ray_serve_app.base_url
    query(server, f"""
        CREATE MODEL mindsdb.rooms_parquet
        FROM mydb (SELECT number_of_rooms, sqft, initial_price FROM test_data.home_rentals)
        PREDICT number_of_rooms
        USING engine = 'ray_serve', train_url = '{url}/train_parquet', predict_url = '{url}/predict_parquet',
              is_parquet = true, custom = 1""")
    assert_complete(wait_for_model(server, "rooms_parquet"))
    assert [s for s in _seen(ray_serve_app) if s["route"] == "train"][-1]["args"]["custom"] == 1
    rows = query(server, "SELECT number_of_rooms FROM mindsdb.rooms_parquet WHERE sqft = 900 AND initial_price = 3100")
    shifted = query(server, "SELECT number_of_rooms FROM mindsdb.rooms_parquet "
                            "WHERE sqft = 900 AND initial_price = 3100 USING offset = 10")
    assert shifted[0]["number_of_rooms"] == rows[0]["number_of_rooms"] + 10
    assert _seen(ray_serve_app)[-1]["pred_args"] == {"offset": 10}


def test_a_served_model_links_without_training_data(server: RunningServer,
                                                    ray_serve_app: ray_serving.RayServeApp) -> None:
    """Someone trained the application elsewhere; augurdb links what it serves."""
    url = ray_serve_app.base_url
    rentals = pd.read_csv(SHARED_DATA / "home_rentals" / "home_rentals.csv", nrows=ROWS)
    rows = rentals[["initial_price", "rental_price", "number_of_rooms"]].to_dict("records")
    httpx.post(f"{url}/train", json={"df": json.dumps(rows), "target": "number_of_rooms"},
               timeout=60).raise_for_status()
    created = query(server, f"""
        CREATE MODEL mindsdb.rooms_linked PREDICT number_of_rooms
        USING engine = 'ray_serve', predict_url = '{url}/predict',
              dtype_dict = {{"initial_price": "integer", "rental_price": "integer", "number_of_rooms": "float"}}""")
    assert created[0]["STATUS"] == "complete"
    answer = query(server, "SELECT number_of_rooms FROM mindsdb.rooms_linked WHERE initial_price = 2000 "
                           "AND rental_price = 2100")
    assert answer == [{"number_of_rooms": _served(ray_serve_app, [{"initial_price": 2000, "rental_price": 2100}])[0]}]


def test_failures_are_clear_and_nothing_half_made_stays(server: RunningServer,
                                                        ray_serve_app: ray_serving.RayServeApp) -> None:
    url = ray_serve_app.base_url
    # A route that does not exist is refused at CREATE, before any worker starts.
    with pytest.raises(pymysql.err.OperationalError, match="HTTP 404"):
        query(server, f"CREATE MODEL mindsdb.nowhere FROM mydb (SELECT sqft, number_of_rooms FROM "
                      f"test_data.home_rentals) PREDICT number_of_rooms "
                      f"USING engine = 'ray_serve', train_url = '{url}/no_such', predict_url = '{url}/predict'")
    # Nothing listens there at all.
    with pytest.raises(pymysql.err.OperationalError, match="cannot be reached"):
        query(server, "CREATE MODEL mindsdb.down PREDICT y USING engine = 'ray_serve', "
                      "predict_url = 'http://127.0.0.1:9/predict', dtype_dict = {\"x\": \"integer\"}")
    assert query(server, "SELECT name FROM mindsdb.models WHERE name IN ('nowhere', 'down')") == []

    # The application says training failed: its words are the model's error.
    query(server, f"CREATE MODEL mindsdb.refused FROM mydb (SELECT sqft, number_of_rooms FROM "
                  f"test_data.home_rentals) PREDICT number_of_rooms "
                  f"USING engine = 'ray_serve', train_url = '{url}/train', predict_url = '{url}/predict', "
                  f"fail_training = true")
    refused = wait_for_model(server, "refused")
    assert refused["STATUS"] == "error"
    assert "the training set has too few classes" in refused["ERROR"]

    # Linking a model that cannot predict from the declared columns is refused, with its answer.
    with pytest.raises(pymysql.err.OperationalError, match=rf"{url}/predict answered HTTP 500"):
        query(server, f"CREATE MODEL mindsdb.wrong_columns PREDICT number_of_rooms USING engine = 'ray_serve', "
                      f"predict_url = '{url}/predict', dtype_dict = {{\"bedrooms\": \"integer\"}}")
    # A prediction that fails later: the status and the URL reach the client; the server stays up.
    with pytest.raises(pymysql.err.OperationalError, match=rf"{url}/predict answered HTTP 500"):
        query(server, "SELECT number_of_rooms FROM mindsdb.rooms_linked "
                      "WHERE initial_price = 3000 AND rental_price = 3000 USING fail = 1")
    assert query(server, "SELECT 1 AS up") == [{"up": 1}]
