"""What <target>_confidence states is what held-out rows show: interval coverage for numbers,
calibrated probabilities for classes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from augurdb.automl import learn
from augurdb.automl.calibration import ProbabilityCalibration, expected_calibration_error, measured_error
from augurdb.automl.conformal import RegressionConformal, measured_coverage

from .conftest import dataset


def test_regression_intervals_cover_nominal_share():
    rng = np.random.default_rng(0)
    n = 6000
    x = rng.uniform(-2, 2, size=(n, 1))
    noise = rng.normal(scale=0.2 + np.abs(x[:, 0]), size=n)  # heteroscedastic
    y, predicted = 3 * x[:, 0] + noise, 3 * x[:, 0]
    calibration = RegressionConformal.calibrate(x[:3000], y[:3000], predicted[:3000], 0)
    for level in (0.8, 0.9, 0.95):
        low, high = calibration.intervals(x[3000:], predicted[3000:], level)
        coverage = np.mean((y[3000:] >= low) & (y[3000:] <= high))
        assert abs(coverage - level) <= 0.03, (level, coverage)
    low, high = calibration.intervals(x[3000:], predicted[3000:], 0.9)
    width = high - low
    assert width[np.abs(x[3000:, 0]) < 0.3].mean() < width[np.abs(x[3000:, 0]) > 1.5].mean()
    measured = measured_coverage(x[:3000], y[:3000], predicted[:3000], 0.9, 0)
    assert measured is not None and abs(measured - 0.9) <= 0.03


def _overconfident(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """True class drawn from softmax(logits); the stated scores are softmax(3 * logits)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k))
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (truth.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1)
    stated = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    return stated, y


def test_calibration_corrects_overconfident_scores():
    for k in (2, 4):
        proba, y = _overconfident(8000, k, seed=k)
        decided = proba.argmax(axis=1)
        before = expected_calibration_error(proba[4000:].max(axis=1), decided[4000:] == y[4000:])
        calibration = ProbabilityCalibration.fit(proba[:4000], y[:4000])
        calibrated = calibration(proba[4000:])
        after = expected_calibration_error(calibrated[np.arange(4000), decided[4000:]], decided[4000:] == y[4000:])
        assert before > 0.1, before
        assert after < 0.03, (k, after)
        assert abs(calibration.scale - 1 / 3) < 0.05, calibration.scale
        assert np.allclose(calibrated.sum(axis=1), 1.0)
        assert measured_error(proba[:4000], y[:4000], decided[:4000], 0) < 0.03


def test_calibration_of_calibrated_scores_is_near_identity():
    rng = np.random.default_rng(5)
    p1 = rng.uniform(0.02, 0.98, 6000)
    y = (rng.random(6000) < p1).astype(int)
    calibration = ProbabilityCalibration.fit(np.column_stack([1 - p1, p1]), y)
    assert abs(calibration.scale - 1) < 0.1 and max(map(abs, calibration.bias)) < 0.1


def test_engine_intervals_cover_held_out_rows():
    rng = np.random.default_rng(3)
    n = 4000
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.uniform(size=n), "c": rng.choice(list("xyz"), n)})
    df["y"] = 2 * df["a"] + (df["c"] == "x") * 3 + rng.normal(scale=0.5 + df["b"], size=n)
    train, test = df.iloc[:2800], df.iloc[2800:]
    predictor = learn(train, "y", time_budget=6, options={"mixers": ["Linear", "LightGBM"]})
    out = predictor.predict(test)
    coverage = ((test["y"] >= out["y_min"]) & (test["y"] <= out["y_max"])).mean()
    assert abs(coverage - out["y_confidence"].mean()) <= 0.03, coverage
    assert (out["y_confidence"] == 0.9).all()
    wider = predictor.predict(test, options={"confidence_level": 0.97})
    assert (wider["y_confidence"] == 0.97).all()
    assert ((wider["y_max"] - wider["y_min"]) >= (out["y_max"] - out["y_min"]) - 1e-9).all()
    report = predictor.describe("info")["calibration"][0]
    assert '"confidence_level": 0.9' in report and '"interval_coverage": 0.' in report


def test_engine_confidence_is_calibrated_on_real_data():
    """bank_marketing: the stated probability of the predicted class matches how often it is right."""
    df = dataset("bank_marketing/bank_marketing.csv")
    train, test = train_test_split(df, test_size=0.3, random_state=0, stratify=df["y"])
    predictor = learn(train.reset_index(drop=True), "y", time_budget=15, options={"mixers": ["Linear", "LightGBM"]})
    out = predictor.predict(test.drop(columns=["y"]).reset_index(drop=True), options={"explain": True})
    correct = (out["y"].astype(str).to_numpy() == test["y"].astype(str).to_numpy())
    error = expected_calibration_error(out["y_confidence"].to_numpy(), correct)
    assert error < 0.05, error
    for explain, predicted, confidence in zip(out["y_explain"][:50], out["y"][:50], out["y_confidence"][:50],
                                              strict=True):
        stated = {k: v for k, v in json.loads(explain).items() if k.startswith("probability_class_")}
        assert abs(sum(stated.values()) - 1.0) < 1e-4
        assert abs(stated[f"probability_class_{predicted}"] - confidence) < 1e-5
    measured = predictor.describe("info")["calibration"][0]
    assert '"calibration_error": 0.0' in measured, measured


def test_intervals_of_a_model_refit_on_every_row_still_cover_what_they_state():
    """home_rentals (5,037 rows: a hold-out, then LightGBM refit on every row). The refit model errs
    less than the hold-out model whose errors calibrated the intervals; the learning curve one
    step down says by how much, and the intervals narrow to match (they covered 94% before)."""
    df = dataset("home_rentals/home_rentals.csv")
    train, test = train_test_split(df, test_size=0.2, random_state=0)
    predictor = learn(train.reset_index(drop=True), "rental_price", time_budget=60,
                      options={"mixers": ["Linear", "LightGBM"]})
    report = json.loads(predictor.describe("info")["calibration"][0])
    assert json.loads(predictor.describe("info")["refitted_on_all_rows"][0])
    assert 0.5 <= report["refit_error_ratio"] < 1.0, report
    out = predictor.predict(test.drop(columns=["rental_price"]).reset_index(drop=True), options={"explain": False})
    truth = test["rental_price"].to_numpy()
    coverage = np.mean((truth >= out["rental_price_min"]) & (truth <= out["rental_price_max"]))
    assert abs(coverage - 0.9) <= 0.03, coverage
