"""Conformal calibration: held-out coverage within 3 points of nominal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from augurdb.automl import learn
from augurdb.automl.conformal import ClassificationConformal, RegressionConformal


def test_regression_intervals_cover_nominal_share():
    rng = np.random.default_rng(0)
    n = 6000
    x = rng.uniform(-2, 2, size=(n, 1))
    noise = rng.normal(scale=0.2 + np.abs(x[:, 0]), size=n)  # heteroscedastic
    y, predicted = 3 * x[:, 0] + noise, 3 * x[:, 0]
    calibration = RegressionConformal.calibrate(x[:3000], y[:3000], predicted[:3000], float(y.std()), 0)
    for level in (0.8, 0.9, 0.95):
        low, high, _ = calibration.intervals(x[3000:], predicted[3000:], level)
        coverage = np.mean((y[3000:] >= low) & (y[3000:] <= high))
        assert abs(coverage - level) <= 0.03, (level, coverage)
    low, high, _ = calibration.intervals(x[3000:], predicted[3000:], 0.9)
    width = high - low
    assert width[np.abs(x[3000:, 0]) < 0.3].mean() < width[np.abs(x[3000:, 0]) > 1.5].mean()


def test_classification_sets_cover_nominal_share():
    rng = np.random.default_rng(0)
    n, k = 8000, 3
    logits = rng.normal(size=(n, k)) * 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=p) for p in proba])
    calibration = ClassificationConformal.calibrate(proba[:4000], y[:4000])
    for level in (0.8, 0.9):
        sets = calibration.prediction_sets(proba[4000:], level)
        coverage = sets[np.arange(4000), y[4000:]].mean()
        assert abs(coverage - level) <= 0.03, (level, coverage)
    confidence = calibration.confidence(proba[4000:], proba[4000:].argmax(axis=1))
    assert ((confidence >= 0) & (confidence <= 1)).all()


def test_engine_intervals_cover_held_out_rows():
    rng = np.random.default_rng(3)
    n = 4000
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.uniform(size=n), "c": rng.choice(list("xyz"), n)})
    df["y"] = 2 * df["a"] + (df["c"] == "x") * 3 + rng.normal(scale=0.5 + df["b"], size=n)
    train, test = df.iloc[:2800], df.iloc[2800:]
    predictor = learn(train, "y", time_budget=6, options={"mixers": ["Linear", "LightGBM"]})
    out = predictor.predict(test)
    coverage = ((test["y"] >= out["y_min"]) & (test["y"] <= out["y_max"])).mean()
    assert abs(coverage - 0.9) <= 0.03, coverage
    wider = predictor.predict(test, options={"confidence_level": 0.97})
    assert ((wider["y_max"] - wider["y_min"]) >= (out["y_max"] - out["y_min"]) - 1e-9).all()
