"""Train and predict through the real server: home_rentals (regression) and titanic (classification)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pymysql
import pytest
from tests.conftest import RunningServer
from tests.e2e.helpers import assert_complete, mysql, query, upload, wait_for_model


def _split(frame: pd.DataFrame, tmp: Path, name: str) -> pd.DataFrame:
    """Upload 80% as files.<name>_train and 20% as files.<name>_test; returns the test part."""
    shuffled = frame.sample(frac=1.0, random_state=0)
    cut = int(len(shuffled) * 0.8)
    for part, rows in (("train", shuffled.iloc[:cut]), ("test", shuffled.iloc[cut:])):
        path = tmp / f"{name}_{part}.csv"
        rows.to_csv(path, index=False)
    return shuffled.iloc[cut:]


@pytest.fixture(scope="module")
def rentals(server: RunningServer, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    tmp = tmp_path_factory.mktemp("rentals")
    test = _split(pd.read_csv(shared_data / "home_rentals" / "home_rentals.csv"), tmp, "rentals")
    upload(server, "rentals_train", tmp / "rentals_train.csv")
    upload(server, "rentals_test", tmp / "rentals_test.csv")
    rows = query(server, "CREATE MODEL mindsdb.rentals FROM files (SELECT * FROM rentals_train) "
                         "PREDICT rental_price USING time_budget = 8")
    assert rows[0]["STATUS"] == "generating"  # CREATE returns at once; training runs in a worker
    model = wait_for_model(server, "rentals")
    assert model["STATUS"] == "complete", model["ERROR"]
    return test


def test_regression_is_accurate_on_held_out_rows(server: RunningServer, rentals: pd.DataFrame) -> None:
    rows = query(server, "SELECT t.rental_price AS actual, m.rental_price AS predicted, "
                         "m.rental_price_min AS low, m.rental_price_max AS high "
                         "FROM files.rentals_test AS t JOIN mindsdb.rentals AS m")
    assert len(rows) == len(rentals)
    actual = np.array([r["actual"] for r in rows], dtype=float)
    predicted = np.array([r["predicted"] for r in rows], dtype=float)
    r2 = 1 - ((actual - predicted) ** 2).sum() / ((actual - actual.mean()) ** 2).sum()
    assert r2 > 0.99
    inside = np.mean([r["low"] <= r["actual"] <= r["high"] for r in rows])
    assert inside > 0.8  # the intervals cover most true values


def test_single_row_prediction_with_confidence_and_explanation(server: RunningServer, rentals: pd.DataFrame) -> None:
    rows = query(server, "SELECT rental_price, rental_price_confidence, rental_price_explain FROM mindsdb.rentals "
                         "WHERE number_of_rooms = 2 AND number_of_bathrooms = 1 AND sqft = 900 "
                         "AND location = 'great' AND days_on_market = 10 AND initial_price = 3000 "
                         "AND neighborhood = 'downtown'")
    assert len(rows) == 1
    assert 2000 < rows[0]["rental_price"] < 4000
    assert 0 <= rows[0]["rental_price_confidence"] <= 1
    assert json.loads(rows[0]["rental_price_explain"])


@pytest.mark.parametrize("value", ["99999999999999999999999999999999", "-9223372036854775809"])
def test_an_input_past_bigint_is_a_number_not_an_internal_error(server: RunningServer, rentals: pd.DataFrame,
                                                                value: str) -> None:
    rows = query(server, "SELECT rental_price FROM mindsdb.rentals WHERE number_of_rooms = 2 AND "
                         f"number_of_bathrooms = 1 AND sqft = 900 AND location = {value} AND days_on_market = 10 "
                         f"AND initial_price = {value} AND neighborhood = 'downtown'")
    assert len(rows) == 1 and isinstance(rows[0]["rental_price"], float)


def test_missing_input_columns_are_an_error_not_nulls(server: RunningServer, rentals: pd.DataFrame) -> None:
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.OperationalError) as error:
        cur.execute("SELECT rental_price FROM mindsdb.rentals WHERE sqft = 900")
    assert error.value.args[0] == 1054
    assert "initial_price" in error.value.args[1]


def test_join_filters_order_and_limit_apply_to_the_data(server: RunningServer, rentals: pd.DataFrame) -> None:
    rows = query(server, "SELECT t.sqft, t.days_on_market, m.rental_price FROM files.rentals_test AS t "
                         "JOIN mindsdb.rentals AS m "
                         "WHERE t.neighborhood = 'downtown' ORDER BY t.days_on_market DESC LIMIT 7")
    downtown = rentals[rentals.neighborhood == "downtown"]
    expected_days = downtown.days_on_market.sort_values(ascending=False).head(7)
    assert [int(r["days_on_market"]) for r in rows] == expected_days.tolist()
    # Rows tied on days_on_market may come in any order: each returned pair must be a downtown row.
    pairs = set(zip(downtown.days_on_market, downtown.sqft.astype(str), strict=True))
    assert {(r["days_on_market"], str(r["sqft"])) for r in rows} <= pairs


def test_outer_query_groups_and_filters_on_predictions(server: RunningServer, rentals: pd.DataFrame) -> None:
    rows = query(server, "SELECT t.location, count(*) AS n, avg(m.rental_price) AS mean_price "
                         "FROM files.rentals_test AS t JOIN mindsdb.rentals AS m "
                         "WHERE m.rental_price > 1000 GROUP BY t.location ORDER BY mean_price DESC")
    assert {r["location"] for r in rows} <= {"great", "good", "poor"}
    assert sum(r["n"] for r in rows) <= len(rentals)
    assert [r["mean_price"] for r in rows] == sorted((r["mean_price"] for r in rows), reverse=True)


def test_describe_shows_candidates_features_and_importance(server: RunningServer, rentals: pd.DataFrame) -> None:
    summary = query(server, "DESCRIBE rentals")[0]
    assert summary["STATUS"] == "complete" and "features" in summary["TABLES"]
    features = query(server, "DESCRIBE mindsdb.rentals.features")
    assert {"column", "type", "encoder", "role"} <= set(features[0])
    candidates = query(server, "DESCRIBE rentals.model")
    assert sum(int(c["selected"]) for c in candidates) >= 1
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as error:
        cur.execute("DESCRIBE mindsdb.rentals.featurez")
    assert error.value.args[0] == 1210 and "unknown describe attribute 'featurez'" in error.value.args[1]


def test_infer_limit_bounds_what_the_kept_mixers_cost(server: RunningServer, rentals: pd.DataFrame) -> None:
    """USING infer_limit (seconds per row): each mixer's predict time is in DESCRIBE, the kept ones
    fit the limit, and a limit that is no number is refused at CREATE with nothing written."""
    query(server, "CREATE MODEL mindsdb.rentals_quick FROM files (SELECT * FROM rentals_train) "
                  "PREDICT rental_price USING infer_limit = 0.000002, time_budget = 5")
    model = wait_for_model(server, "rentals_quick")
    assert model["STATUS"] == "complete", model["ERROR"]
    candidates = query(server, "DESCRIBE rentals_quick.model")
    timed = [float(c["predict_seconds_per_row"]) for c in candidates if c["status"] == "trained"]
    assert timed and all(cost > 0 for cost in timed)
    kept = [float(c["predict_seconds_per_row"]) for c in candidates if int(c["selected"])]
    if sum(kept) > 0.000002:  # no mixer fits on its own
        assert kept == [min(timed)]
    rows = query(server, "SELECT m.rental_price FROM files.rentals_test AS t JOIN mindsdb.rentals_quick AS m LIMIT 5")
    assert len(rows) == 5 and all(row["rental_price"] > 0 for row in rows)
    with mysql(server) as con, con.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as error:
            cur.execute("CREATE MODEL rentals_stuck FROM files (SELECT * FROM rentals_train) PREDICT rental_price "
                        "USING infer_limit = 'soon'")
        assert error.value.args[0] == 1210 and "infer_limit must be a positive number" in error.value.args[1]
        cur.execute("SELECT name FROM models WHERE name = 'rentals_stuck'")
        assert cur.fetchall() == ()


def test_lightwood_tutorial_using_keys_run_unchanged(server: RunningServer, rentals: pd.DataFrame) -> None:
    """MindsDB's "tuning the Lightwood engine" form: encoders.<col>.module, model.args submodels,
    accuracy_functions; Lightwood-only args are accepted without effect."""
    query(server, "CREATE MODEL mindsdb.rentals_lightwood FROM files (SELECT * FROM rentals_train) "
                  "PREDICT rental_price USING "
                  "encoders.location.module = 'CategoricalAutoEncoder', "
                  "encoders.rental_price.module = 'NumericEncoder', "
                  "encoders.rental_price.args.positive_domain = 'True', "
                  "model.args = '{\"submodels\": [{\"module\": \"LightGBM\", "
                  "\"args\": {\"stop_after\": 12, \"fit_on_dev\": true}}]}', "
                  "accuracy_functions = \"['r2_score', 'mean_absolute_error']\", time_budget = 5")
    model = wait_for_model(server, "rentals_lightwood")
    assert model["STATUS"] == "complete", model["ERROR"]
    accuracies = json.loads(query(server, "DESCRIBE rentals_lightwood.info")[0]["accuracies"])
    assert set(accuracies) == {"r2_score", "mean_absolute_error"} and accuracies["r2_score"] > 0.99
    assert {c["name"] for c in query(server, "DESCRIBE rentals_lightwood.model")} == {"LightGBM"}
    features = {f["column"]: f for f in query(server, "DESCRIBE rentals_lightwood.features")}
    assert features["location"]["encoder"] == "CategoricalEncoder"
    with mysql(server) as con, con.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as error:
            cur.execute("CREATE MODEL rentals_forest FROM files (SELECT * FROM rentals_train) PREDICT rental_price "
                        "USING model.args = '{\"submodels\": [{\"module\": \"RandomForest\"}]}'")
        assert error.value.args[0] == 1210 and "RandomForest" in error.value.args[1]
    assert not query(server, "SELECT * FROM models WHERE name = 'rentals_forest'")


def test_models_table_has_mindsdb_columns(server: RunningServer, rentals: pd.DataFrame) -> None:
    row = query(server, "SELECT * FROM mindsdb.models WHERE name = 'rentals'")[0]
    for column in ("NAME", "ENGINE", "PROJECT", "ACTIVE", "VERSION", "STATUS", "ACCURACY", "PREDICT",
                   "UPDATE_STATUS", "ERROR", "SELECT_DATA_QUERY", "TRAINING_OPTIONS", "TAG", "CREATED_AT",
                   "TRAINING_TIME", "CURRENT_TRAINING_PHASE", "TOTAL_TRAINING_PHASES", "TRAINING_PHASE_NAME"):
        assert column in row
    assert row["ACCURACY"] > 0.99 and row["ENGINE"] == "automl" and row["PREDICT"] == "rental_price"
    assert "rentals" in [r["NAME"] for r in query(server, "SHOW MODELS")]


def test_classification_on_titanic(server: RunningServer, shared_data: Path,
                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("titanic")
    test = _split(pd.read_csv(shared_data / "titanic" / "train.csv"), tmp, "titanic")
    upload(server, "titanic_train", tmp / "titanic_train.csv")
    upload(server, "titanic_test", tmp / "titanic_test.csv")
    query(server, "CREATE PREDICTOR titanic FROM files (SELECT * FROM titanic_train) PREDICT Survived "
                  "USING time_budget = 8")
    model = wait_for_model(server, "titanic")
    assert model["STATUS"] == "complete", model["ERROR"]
    rows = query(server, "SELECT t.Survived AS actual, m.Survived AS predicted, m.Survived_confidence AS c "
                         "FROM files.titanic_test AS t JOIN titanic AS m")
    assert len(rows) == len(test)
    actual = np.array([int(r["actual"]) for r in rows])
    predicted = np.array([int(r["predicted"]) for r in rows])
    balanced = np.mean([np.mean(predicted[actual == k] == k) for k in (0, 1)])
    assert balanced > 0.72


def test_versions_retrain_activate_and_drop(server: RunningServer, rentals: pd.DataFrame) -> None:
    query(server, "CREATE MODEL versioned FROM files (SELECT * FROM rentals_train LIMIT 800) PREDICT rental_price "
                  "USING time_budget = 3, mixers = ['Linear']")
    assert_complete(wait_for_model(server, "versioned"))
    query(server, "RETRAIN versioned USING time_budget = 3")
    assert_complete(wait_for_model(server, "versioned"))
    versions = query(server, "SELECT version, active FROM models WHERE name = 'versioned' ORDER BY version")
    assert [(v["VERSION"], bool(v["ACTIVE"])) for v in versions] == [(1, False), (2, True)]
    rows = query(server, "SELECT m.rental_price FROM files.rentals_test AS t JOIN mindsdb.versioned.1 AS m LIMIT 3")
    assert len(rows) == 3
    with mysql(server) as con, con.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError, match="active version"):
            cur.execute("DROP MODEL versioned.2")
        cur.execute("SET active versioned.1")
        cur.execute("DROP MODEL versioned.2")
        cur.execute("DROP MODEL versioned")
        cur.execute("DROP MODEL IF EXISTS versioned")
    assert not query(server, "SELECT * FROM models WHERE name = 'versioned'")


def test_wrong_source_query_fails_at_create_and_writes_nothing(server: RunningServer, rentals: pd.DataFrame) -> None:
    with mysql(server) as con, con.cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as error:
            cur.execute("CREATE MODEL broken FROM files (SELECT * FROM no_such_file) PREDICT y")
        assert error.value.args[0] == 1146
        with pytest.raises(pymysql.err.MySQLError) as error:
            cur.execute("CREATE MODEL broken FROM files (SELECT * FROM rentals_train) PREDICT no_such_column")
        assert error.value.args[0] == 1054
        with pytest.raises(pymysql.err.MySQLError) as error:
            cur.execute("CREATE MODEL broken FROM files (SELECT * FROM rentals_train) PREDICT rental_price "
                        "USING nonsense = 1")
        assert "nonsense" in error.value.args[1]
        # Checked against the data before a worker starts: columns options name, metrics vs the target.
        for using, message in (("encoders = {'nope': 'NumericEncoder'}", "not in the data: ['nope']"),
                               ("dtype_dict = {'Sqft': 'integer'}", "not in the data: ['Sqft']"),
                               ("accuracy_functions = ['f1_score']", "f1_score does not apply")):
            with pytest.raises(pymysql.err.MySQLError) as error:
                cur.execute(f"CREATE MODEL broken FROM files (SELECT * FROM rentals_train) PREDICT rental_price "
                            f"USING {using}")
            assert error.value.args[0] == 1210 and message in error.value.args[1], error.value.args
        with pytest.raises(pymysql.err.MySQLError) as error:
            cur.execute("CREATE MODEL rentals FROM files (SELECT * FROM rentals_train) PREDICT rental_price")
        assert "already exists" in error.value.args[1]
        cur.execute("CREATE MODEL IF NOT EXISTS rentals FROM files (SELECT * FROM rentals_train) PREDICT rental_price")
    assert not query(server, "SELECT * FROM models WHERE name = 'broken'")


def test_predict_time_using_options(server: RunningServer, rentals: pd.DataFrame) -> None:
    narrow = query(server, "SELECT m.rental_price_min AS lo, m.rental_price_max AS hi FROM files.rentals_test AS t "
                           "JOIN mindsdb.rentals AS m LIMIT 20 USING confidence_level = 0.5")
    wide = query(server, "SELECT m.rental_price_min AS lo, m.rental_price_max AS hi FROM files.rentals_test AS t "
                         "JOIN mindsdb.rentals AS m LIMIT 20 USING confidence_level = 0.99")
    assert all(w["hi"] - w["lo"] >= n["hi"] - n["lo"] for n, w in zip(narrow, wide, strict=True))
    assert any(w["hi"] - w["lo"] > n["hi"] - n["lo"] for n, w in zip(narrow, wide, strict=True))
    with mysql(server) as con, con.cursor() as cur, pytest.raises(pymysql.err.MySQLError, match="bogus"):
        cur.execute("SELECT m.rental_price FROM files.rentals_test AS t JOIN mindsdb.rentals AS m USING bogus = 1")


def test_where_false_answers_the_model_columns(server: RunningServer, rentals: pd.DataFrame) -> None:
    with mysql(server) as con, con.cursor() as cur:
        cur.execute("SELECT * FROM mindsdb.rentals WHERE 1 = 0")
        assert cur.fetchall() == ()
        names = [d[0] for d in cur.description]
    assert names[:3] == ["rental_price", "rental_price_confidence", "rental_price_explain"]
    assert "sqft" in names
    options = query(server, "SELECT training_options->>'$.using.time_budget' AS budget FROM models "
                            "WHERE name = 'rentals'")
    assert options == [{"budget": "8"}]


def test_join_shapes_subquery_cte_model_first_and_case(server: RunningServer, rentals: pd.DataFrame) -> None:
    sub = query(server, "SELECT t.sqft, m.rental_price FROM (SELECT * FROM files.rentals_test WHERE number_of_rooms > 1) "
                        "AS t JOIN mindsdb.rentals AS m LIMIT 3")
    assert len(sub) == 3
    cte = query(server, "WITH few AS (SELECT * FROM files.rentals_test LIMIT 10) "
                        "SELECT count(*) AS n, avg(m.RENTAL_PRICE) AS p FROM few AS t JOIN rentals AS m")
    assert cte[0]["n"] == 10 and cte[0]["p"] > 0
    first = query(server, "SELECT m.Rental_Price_Confidence AS c FROM mindsdb.rentals AS m "
                          "JOIN files.rentals_test AS t LIMIT 2")
    assert len(first) == 2 and all(0 <= r["c"] <= 1 for r in first)  # read case-insensitively, so computed
