"""learn()/Predictor end to end on synthetic data: API contract and robustness cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.automl.conftest import regression_frame

from augurdb.automl import AutoMLError, Predictor, learn

FAST = {"mixers": ["Linear", "LightGBM"]}


@pytest.fixture(scope="module")
def regression_predictor():
    df = regression_frame()
    df["y"] = np.rint(df["y"] + 100).astype(int)  # an integer target
    df.loc[:9, "y"] = None  # target NULLs are dropped and counted
    phases = []
    predictor = learn(df, "y", time_budget=8, progress=lambda i, n, name: phases.append((i, n, name)))
    return predictor, df, phases


def test_learn_reports_phases_and_accuracy(regression_predictor):
    predictor, _, phases = regression_predictor
    starts = [p[2] for p in phases if ":" not in p[2]]  # steps inside a phase: tests/automl/test_progress.py
    assert starts == ["DataExtractor", "StatsGenerator", "DataVectorizer", "DataEncoder", "ModelTrainer", "Analysis"]
    assert all(total == 6 for _, total, _ in phases)
    assert predictor.accuracy > 0.9
    assert predictor.target == "y"
    assert predictor.input_columns == ["a", "b", "colour", "gappy"]  # row_id is an identifier
    assert predictor.dtype_dict["row_id"] == "identifier"


def test_predict_output_contract(regression_predictor):
    predictor, df, _ = regression_predictor
    rows = df.iloc[20:70].drop(columns=["y"])
    out = predictor.predict(rows)
    assert list(out.columns) == ["y", "y_confidence", "y_explain", "y_min", "y_max"]
    assert len(out) == 50 and list(out.index) == list(rows.index)
    assert out["y"].dtype.kind == "i"  # an integer target stays integer
    assert ((out["y_confidence"] >= 0) & (out["y_confidence"] <= 1)).all()
    assert (out["y_min"] <= out["y"]).all() and (out["y"] <= out["y_max"]).all()
    explanation = json.loads(out["y_explain"].iloc[0])
    assert explanation["top_columns"] and {d["column"] for d in explanation["top_columns"]} <= set(predictor.input_columns)
    fast = predictor.predict(rows, options={"explain": False})
    assert fast["y_explain"].isna().all()  # not asked for: no JSON built at all


def test_rows_given_as_lists_predict_as_the_vectorised_batch_does(regression_predictor):
    """One-row predictions skip pandas (plain lists, None for missing as Arrow gives them); they
    must answer exactly what the batch path answers for the same rows."""
    predictor, df, _ = regression_predictor
    rows = df.iloc[20:120].drop(columns=["y"])  # more rows than the small-batch path takes
    assert rows["gappy"].isna().any()
    batch = predictor.predict(rows, options={"explain": False})
    for position in range(len(rows)):
        row = rows.iloc[position]
        columns = {c: [None if isinstance(v, float) and np.isnan(v) else v] for c, v in row.items()}
        one = predictor.predict_columns(columns, 1, {"explain": False})
        assert one["y"][0] == batch["y"].iloc[position] and one["y_confidence"][0] == batch["y_confidence"].iloc[position]
        for name in ("y_min", "y_max"):  # float32 matrix products round a 1-row and a 100-row batch apart
            assert one[name][0] == pytest.approx(batch[name].iloc[position], rel=1e-6), (position, name)


def test_missing_input_column_is_named(regression_predictor):
    predictor, df, _ = regression_predictor
    with pytest.raises(AutoMLError, match="colour"):
        predictor.predict(df.drop(columns=["colour", "y"]))
    with pytest.raises(AutoMLError, match="bogus"):
        predictor.predict(df, options={"bogus": 1})


def test_describe_tables(regression_predictor):
    predictor, _, _ = regression_predictor
    assert predictor.describe()["tables"].tolist() == ["info", "features", "model", "ensemble"]
    info = predictor.describe("info").iloc[0]
    assert json.loads(info["accuracies"])["r2_score"] == pytest.approx(predictor.accuracy)
    assert set(json.loads(info["column_importances"])) == set(predictor.input_columns)
    assert info["target_null_rows_dropped"] == 10 and info["training_rows"] == 590
    features = predictor.describe("features").set_index("column")
    assert features.loc["y", "role"] == "target" and features.loc["row_id", "role"] == "ignored"
    assert features.loc["colour", "encoder"] == "CategoricalEncoder"
    assert "counts like a row number" in features.loc["row_id", "reason"]
    models = predictor.describe("model")
    assert {"name", "performance", "training_time", "selected", "accuracy_functions"} <= set(models.columns)
    assert models["selected"].sum() >= 1
    ensemble = json.loads(predictor.describe("ensemble").iloc[0]["ensemble"])
    assert abs(sum(ensemble["mixers"].values()) - 1) < 1e-6
    with pytest.raises(AutoMLError, match="info"):
        predictor.describe("nonsense")


def test_save_load_round_trip(regression_predictor, tmp_path):
    predictor, df, _ = regression_predictor
    predictor.save(tmp_path / "m")
    loaded = Predictor.load(tmp_path / "m")
    rows = df.iloc[100:130]
    pd.testing.assert_frame_equal(predictor.predict(rows), loaded.predict(rows))
    assert loaded.accuracy == predictor.accuracy and loaded.input_columns == predictor.input_columns
    with pytest.raises(AutoMLError):
        Predictor.load(tmp_path / "empty")


def test_imbalanced_classes_tuned_for_balanced_accuracy(classification_frame):
    train, test = classification_frame.iloc[:1100], classification_frame.iloc[1100:]
    tuned = learn(train, "label", time_budget=4, options=FAST)
    plain = learn(train, "label", time_budget=4, options={**FAST, "tune_threshold": False})
    from sklearn.metrics import balanced_accuracy_score

    tuned_score = balanced_accuracy_score(test["label"], tuned.predict(test)["label"])
    plain_score = balanced_accuracy_score(test["label"], plain.predict(test)["label"])
    assert tuned_score > plain_score + 0.03
    out = tuned.predict(test.iloc[:5])
    assert set(out.columns) == {"label", "label_confidence", "label_explain"}
    explain = json.loads(out["label_explain"].iloc[0])
    assert explain["probability_class_no"] + explain["probability_class_yes"] == pytest.approx(1, abs=1e-5)


def test_numeric_target_that_is_really_categorical():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(900, 2))
    grade = np.digitize(x[:, 0] + 0.3 * rng.normal(size=900), [-1, 0, 1]) + 1  # 1..4
    df = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "grade": grade})
    predictor = learn(df, "grade", time_budget=4, options=FAST)
    assert predictor.dtype_dict["grade"] == "categorical"
    out = predictor.predict(df.head(20))
    assert set(out["grade"].unique()) <= {1, 2, 3, 4} and out["grade"].dtype.kind == "i"
    assert predictor.accuracy > 0.6
    assert "probability_class_3" in json.loads(out["grade_explain"].iloc[0])


def test_many_classes():
    rng = np.random.default_rng(4)
    n = 1500
    centre = rng.integers(0, 12, n)
    df = pd.DataFrame({"u": centre + rng.normal(scale=0.3, size=n), "v": rng.normal(size=n),
                       "kind": [f"k{c}" for c in centre]})
    predictor = learn(df, "kind", time_budget=6, options=FAST)
    assert predictor.accuracy > 0.8
    assert predictor.predict(df.head(3))["kind"].str.startswith("k").all()


def test_tiny_data_and_bad_inputs():
    with pytest.raises(AutoMLError, match="at least"):
        learn(pd.DataFrame({"x": range(5), "y": range(5)}), "y", time_budget=2)
    x = np.random.default_rng(7).permutation(30) + 0.5
    tiny = pd.DataFrame({"x": x, "z": x % 3, "y": 2 * x + 1})
    small = learn(tiny, "y", time_budget=3)
    assert set(small.describe("model")["name"]) <= {"Linear", "LightGBM"}
    assert abs(small.predict(pd.DataFrame({"x": [10.5], "z": [1.5]}))["y"].iloc[0] - 22) < 3
    with pytest.raises(AutoMLError, match="nope"):
        learn(tiny, "nope")
    with pytest.raises(AutoMLError, match="frobnicate"):
        learn(tiny, "y", options={"frobnicate": True})
    with pytest.raises(AutoMLError, match="single value"):
        learn(tiny.assign(y=1.0), "y", time_budget=2)
    with pytest.raises(AutoMLError, match="Linear"):
        learn(tiny, "y", options={"mixers": ["Quantum"]})


def test_constant_and_empty_columns_are_ignored():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=200), "same": 7, "empty": [None] * 200})
    df["y"] = 2 * df["x"]
    predictor = learn(df, "y", time_budget=3, options=FAST)
    assert predictor.input_columns == ["x"]
    reasons = predictor.describe("features").set_index("column")["reason"]
    assert "single value" in reasons["same"] and "no values" in reasons["empty"]


def test_every_mixer_trains_within_one_budget():
    rng = np.random.default_rng(6)
    n = 8000
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(list("abcdef"), n),
                       "t": [f"word{i % 50} other{i % 7} thing" for i in range(n)]})
    df["y"] = df["a"] * df["b"] + (df["c"] == "a") + rng.normal(scale=0.1, size=n)
    # Fit time against the budget is a benchmark figure (bench/automl.py, on a pinned core), not an assert.
    predictor = learn(df, "y", time_budget=10)
    assert predictor.accuracy > 0.5
    trained = set(predictor.describe("model")["name"])
    assert {"Linear", "LightGBM", "FullyConnectedNet"} <= trained


def test_user_chosen_rnn_encoder_for_text():
    rng = np.random.default_rng(8)
    words = np.array(["good", "bad", "fine", "awful", "great", "meh"])
    texts = [" ".join(rng.choice(words, 5)) for _ in range(300)]
    label = ["pos" if ("good" in t or "great" in t) else "neg" for t in texts]
    df = pd.DataFrame({"review": texts, "label": label})
    predictor = learn(df, "label", time_budget=6, options={**FAST, "encoders": {"review": "RNNEncoder"}})
    features = predictor.describe("features").set_index("column")
    assert features.loc["review", "encoder"] == "RNNEncoder"
    assert predictor.predict(df.head(3))["label"].isin(["pos", "neg"]).all()
    with pytest.raises(AutoMLError, match="RNNEncoder"):
        learn(df, "label", time_budget=3, options={"encoders": {"review": "Nope"}})


def test_predict_without_confidence_skips_the_conformal_step(regression_predictor):
    predictor, df, _ = regression_predictor
    rows = df.iloc[:30].drop(columns=["y"])
    full = predictor.predict(rows)
    lean = predictor.predict(rows, options={"confidence": False, "explain": False})
    assert (lean["y"] == full["y"]).all()
    assert lean[["y_confidence", "y_min", "y_max"]].isna().all().all()


def test_small_tables_repeat_cross_validation_within_budget():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    df["label"] = np.where(df["a"] + 0.5 * rng.normal(size=150) > 0, "yes", "no")
    # The Linear mixer alone takes milliseconds a round, so a second round fits the budget however
    # loaded the machine is (LightGBM's search fills its share, which leaves rounds to chance).
    predictor = learn(df, "label", time_budget=15, options={"mixers": ["Linear"]})
    info = predictor.describe("info").iloc[0]
    assert info["validation"] == "cross_validation" and info["cv_rounds"] >= 2
    assert predictor.predict(df.head(2))["label"].isin(["yes", "no"]).all()


def test_hold_out_tables_refit_kept_mixers_on_every_row():
    rng = np.random.default_rng(10)
    n = 2500
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    # Noise makes LightGBM early-stop, leaving time for the refit (a noiseless linear target
    # keeps it improving until its deadline, which spends the whole budget).
    df["y"] = 2 * df["a"] - df["b"] + rng.normal(scale=1.0, size=n)
    predictor = learn(df, "y", time_budget=8, options=FAST)
    info = predictor.describe("info").iloc[0]
    assert info["validation"] == "holdout" and json.loads(info["refitted_on_all_rows"])
    assert predictor.accuracy > 0.7


def test_accuracy_functions_reported_and_checked_against_the_task():
    frame = regression_frame()
    predictor = learn(frame, "y", time_budget=3,
                      options={**FAST, "accuracy_functions": ["mean_absolute_error", "r2_score"]})
    accuracies = json.loads(predictor.describe("info")["accuracies"].iloc[0])
    assert set(accuracies) == {"r2_score", "mean_absolute_error"}
    assert accuracies["mean_absolute_error"] > 0
    with pytest.raises(AutoMLError, match="f1_score does not apply"):
        learn(frame, "y", time_budget=3, options={**FAST, "accuracy_functions": ["f1_score"]})
    with pytest.raises(AutoMLError, match="unknown accuracy function"):
        learn(frame, "y", time_budget=3, options={"accuracy_functions": ["bogus"]})


def test_a_model_saved_in_format_1_still_loads_and_states_its_scores(classification_frame, tmp_path):
    """Format 1 kept conformal scores for classes and no calibration: it still predicts, its
    confidence being the uncalibrated probability of the predicted class."""
    import joblib

    from augurdb.automl.conformal import ClassificationConformal

    predictor = learn(classification_frame, "label", time_budget=4, options=FAST)
    old = predictor._model
    old.conformal, old.calibration = ClassificationConformal(np.array([0.1, 0.5])), None
    del old.__dict__["calibration"]  # as a format-1 pickle has it: no such attribute at all
    (tmp_path / "m").mkdir()
    joblib.dump(old, tmp_path / "m" / "model.joblib")
    (tmp_path / "m" / "manifest.json").write_text(json.dumps({"format_version": 1, "target": "label"}))
    loaded = Predictor.load(tmp_path / "m")
    out = loaded.predict(classification_frame.iloc[:10], options={"explain": True})
    assert out["label"].isin(["yes", "no"]).all()
    for explain, label, confidence in zip(out["label_explain"], out["label"], out["label_confidence"], strict=True):
        assert json.loads(explain)[f"probability_class_{label}"] == pytest.approx(confidence, abs=1e-6)
    (tmp_path / "m" / "manifest.json").write_text(json.dumps({"format_version": 9}))
    with pytest.raises(AutoMLError, match="format 9"):
        Predictor.load(tmp_path / "m")
