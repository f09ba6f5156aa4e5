"""LightGBM's kept trees compiled to machine code: the same output as LightGBM's own predict,
kept in the model file, and never at the cost of a wrong or missing prediction."""

from __future__ import annotations

import pickle
import time

import lightgbm as lgb
import numpy as np
import pytest

from augurdb.automl.mixers import TrainingData, compiled_trees
from augurdb.automl.mixers.gbm import LightGBMMixer, _Choice
from augurdb.automl.tasks import BINARY, MULTICLASS, REGRESSION, Task

pytestmark = pytest.mark.skipif(not compiled_trees.available(), reason="lleaves is a dependency; its LLVM must load")


def _data(task: Task, rows: int = 3000, seed: int = 0) -> TrainingData:
    """Numbers with missing values, and a category code (feature 3) with labels not coded (NaN)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6)).astype("float32")
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:, 3] = rng.integers(0, 40, size=rows)
    x[rng.random(rows) < 0.05, 3] = np.nan
    signal = 2 * np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) ** 2 + (np.nan_to_num(x[:, 3]) % 3)
    if task.kind == REGRESSION:
        y = signal + rng.normal(size=rows)
    else:
        y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, task.n_classes + 1)[1:-1])).astype(float)
    cut = rows * 4 // 5
    return TrainingData(x[:cut], y[:cut], x[cut:], y[cut:], task, seed=0, threads=1, categorical=(3,))


@pytest.mark.parametrize("task", [Task(REGRESSION), Task(BINARY, 2), Task(MULTICLASS, 4)], ids=lambda t: t.kind)
def test_compiled_trees_predict_what_lightgbm_predicts(task):
    data = _data(task)
    mixer = LightGBMMixer()
    mixer.fit(data, time.monotonic() + 30)
    if mixer.params.get("linear_tree"):
        pytest.skip("linear leaves won on this draw")  # their own test is below
    interpreted = mixer.predict(data.x_valid)
    assert mixer.compile(60) > 0 and mixer.compiled is not None
    assert np.abs(mixer.predict(data.x_valid) - interpreted).max() < 1e-9
    one_row = data.x_valid[:1]
    assert np.allclose(mixer.predict(one_row), interpreted[:1], atol=1e-9)


def test_the_compiled_code_travels_in_the_model_file():
    data = _data(Task(REGRESSION))
    mixer = LightGBMMixer()
    mixer.fit(data, time.monotonic() + 30)
    mixer.compile(60)
    expected = mixer.predict(data.x_valid)
    loaded = pickle.loads(pickle.dumps(mixer))
    assert loaded.compiled is not None and loaded.compiled._model is None  # not compiled again: loaded
    assert np.array_equal(loaded.predict(data.x_valid), expected)
    assert loaded.compiled._model is not None  # the machine code answered


def test_code_for_another_machine_falls_back_to_lightgbm(caplog):
    data = _data(Task(REGRESSION))
    mixer = LightGBMMixer()
    mixer.fit(data, time.monotonic() + 30)
    expected = mixer.predict(data.x_valid)
    mixer.compile(60)
    moved = pickle.loads(pickle.dumps(mixer))
    moved.compiled.triple = "riscv64-unknown-linux-gnu"
    assert np.allclose(moved.predict(data.x_valid), expected, atol=1e-9)
    assert "compiled trees not used" in caplog.text


def test_linear_leaves_and_a_short_allowance_stay_with_lightgbm():
    data = _data(Task(REGRESSION))
    mixer = LightGBMMixer()
    mixer.fit(data, time.monotonic() + 30)
    assert mixer.compile(1e-4) == 0.0 and mixer.compiled is None  # the estimate does not fit
    linear = lgb.train({"objective": "regression", "linear_tree": True, "verbose": -1},
                       lgb.Dataset(data.x_train, data.y_train), num_boost_round=20)
    assert not compiled_trees.compilable(linear)
    assert compiled_trees.CompiledTrees.build(linear, 20) is None


def _choice(booster: lgb.Booster, losses: np.ndarray) -> _Choice:
    return _Choice(booster, rounds=10, loss=float(losses.mean()), row_losses=losses, cost=1e-6)


def test_linear_leaves_replace_compiled_constant_ones_only_for_a_gain_beyond_noise():
    data = _data(Task(REGRESSION))
    constant = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(data.x_train, data.y_train), 10)
    linear = lgb.train({"objective": "regression", "linear_tree": True, "verbose": -1},
                       lgb.Dataset(data.x_train, data.y_train), 10)
    mixer = LightGBMMixer()
    mixer.task = data.task
    rng = np.random.default_rng(1)
    base = rng.exponential(size=len(data.y_valid))
    noisy = base + rng.normal(scale=1.0, size=len(base)) - 0.01  # 1% lower on average, within noise
    clear = base * 0.8  # 20% lower on every row
    assert not mixer._earns_its_cost(_choice(linear, noisy), _choice(constant, base), data)
    assert mixer._earns_its_cost(_choice(linear, clear), _choice(constant, base), data)
    # Equal costs: any gain counts (the caller has already asked for _MIN_GAIN).
    assert mixer._earns_its_cost(_choice(constant, noisy), _choice(constant, base), data)
