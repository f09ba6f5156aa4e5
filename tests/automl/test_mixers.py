"""Each mixer on its own: learns a simple signal, stops at its deadline, explains per column."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

from augurdb.automl.features import FeatureLayout
from augurdb.automl.mixers import TrainingData, gbm, registry
from augurdb.automl.tasks import BINARY, MULTICLASS, REGRESSION, Task


def _data(kind: str) -> TrainingData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 4)).astype("float32")
    signal = 2 * x[:, 0] - x[:, 1]
    if kind == REGRESSION:
        y, task = signal + rng.normal(scale=0.1, size=800), Task(REGRESSION)
    elif kind == BINARY:
        y, task = (signal > 0).astype(np.int64), Task(BINARY, 2)
    else:
        y, task = np.digitize(signal, [-1, 1]).astype(np.int64), Task(MULTICLASS, 3)
    return TrainingData(x[:600], y[:600], x[600:], y[600:], task, seed=0, threads=1)


def _layout() -> FeatureLayout:
    return FeatureLayout(["a", "b", "c", "d"], np.arange(4), ["a", "b", "c", "d"])


@pytest.mark.parametrize("name", list(registry.BUILT_IN))
@pytest.mark.parametrize("kind", [REGRESSION, BINARY, MULTICLASS])
def test_mixer_learns_and_explains(name, kind):
    data = _data(kind)
    mixer = registry.build(name)
    mixer.fit(data, time.monotonic() + 3)
    output = mixer.predict(data.x_valid)
    if kind == REGRESSION:
        assert data.task.score(data.y_valid, output) > 0.8
        classes = None
    else:
        assert output.shape == (200, data.task.n_classes)
        assert np.allclose(output.sum(axis=1), 1.0, atol=1e-5)
        classes = output.argmax(axis=1)
        assert data.task.score(data.y_valid, classes) > 0.75
    contributions = mixer.contributions(data.x_valid, _layout().group_matrix(), classes)
    assert contributions.shape == (200, 4)
    strongest = np.abs(contributions).mean(axis=0)
    assert strongest[0] > strongest[2] and strongest[0] > strongest[3]


def _past_deadline_data() -> TrainingData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 10)).astype("float32")
    y = x[:, 0] * x[:, 1] + np.sin(x[:, 2]) + rng.normal(scale=0.3, size=2000)
    return TrainingData(x[:1600], y[:1600], x[1600:], y[1600:], Task(REGRESSION), threads=1)


def test_lightgbm_stops_at_a_passed_deadline():
    """Behaviour, not wall time (bench/automl.py measures fit time against the budget): a deadline
    already passed leaves one boosting round of the default parameter set and no search."""
    mixer = registry.build("LightGBM")
    mixer.fit(_past_deadline_data(), time.monotonic() - 1)
    assert mixer.best_iteration == 1 and list(mixer.tried) == ["default"]
    assert mixer.predict(_past_deadline_data().x_valid).shape == (400,)


def test_neural_mixer_stops_at_a_passed_deadline():
    mixer = registry.build("EnsembleFullyConnectedNet")
    mixer.fit(_past_deadline_data(), time.monotonic() - 1)
    assert mixer.epochs == 1  # the epoch loop is left at once, no batch trained
    assert np.isfinite(mixer.predict(_past_deadline_data().x_valid)).all()


@pytest.mark.parametrize("name", ["FullyConnectedNet", "EnsembleFullyConnectedNet", "EnsembleConvNet"])
def test_neural_nets_narrow_when_the_budget_affords_few_epochs(name):
    full = _data(REGRESSION)
    data = TrainingData(full.x_train[:100], full.y_train[:100], full.x_valid[:50], full.y_valid[:50], full.task)
    generous = registry.build(name)
    generous.fit(data, time.monotonic() + 600)  # early stopping ends it long before
    assert generous.width_scale == 1.0
    hurried = registry.build(name)
    hurried.fit(data, time.monotonic() + 0.001)  # no width affords 20 epochs in a millisecond
    assert hurried.width_scale == 0.25 and np.isfinite(hurried.predict(data.x_valid)).all()
    hurried.__setstate__(hurried.__getstate__())  # rebuilt at the width it trained at
    assert np.isfinite(hurried.predict(data.x_valid)).all()


def test_a_slow_variation_scales_the_size_scaled_learning_rate():
    base = {"learning_rate": 0.1, "num_leaves": 31}
    assert gbm._varied(base, {"learning_rate_scale": 0.4}, (), 3) == {"learning_rate": pytest.approx(0.04),
                                                                        "num_leaves": 31}
    assert gbm._varied(base, {"num_leaves": 127}, (), 3) == {"learning_rate": 0.1, "num_leaves": 127}
    assert "slow" in [name for name, _, _ in gbm.VARIATIONS]


def test_lightgbm_search_finds_linear_leaves_for_a_rate_times_size_target():
    """A price that is a per-group rate times a size: the linear-leaf variation must win on
    held-out loss and still explain by column (occlusion, as TreeSHAP does not cover it)."""
    rng = np.random.default_rng(1)
    size = rng.uniform(300, 3000, 3000)
    group = rng.integers(0, 4, 3000)
    noise_column = rng.normal(size=3000)
    y = size * np.array([1.0, 1.5, 2.2, 3.1])[group]
    x = np.column_stack([size, group, noise_column, rng.normal(size=3000)]).astype("float64")
    data = TrainingData(x[:2400], y[:2400], x[2400:], y[2400:], Task(REGRESSION), seed=0, threads=1)
    mixer = registry.build("LightGBM")
    mixer.fit(data, time.monotonic() + 30)
    assert mixer.variation == "linear_trees", mixer.tried
    assert data.task.score(data.y_valid, mixer.predict(data.x_valid)) > 0.9999
    contributions = mixer.contributions(data.x_valid, _layout().group_matrix(), None)
    strongest = np.abs(contributions).mean(axis=0)
    assert strongest[0] > strongest[2] and strongest[1] > strongest[3]


@pytest.mark.parametrize("name", ["FullyConnectedNet", "EnsembleConvNet"])
def test_neural_mixers_take_sparse_rows_as_they_are(name):
    """Text's TF-IDF rows (few non-zeros in many columns) go into the first layer sparse: the same
    net gives the same outputs as on the densified rows, and learns from them."""
    rng = np.random.default_rng(0)
    words = sp.random(800, 3000, density=0.005, format="lil", dtype=np.float32, random_state=0)
    words[:, 7] = rng.integers(0, 2, size=(800, 1)).astype(np.float32)  # the word that decides the class
    words = words.tocsr()
    y = (words[:, 7].toarray().ravel() > 0).astype(np.int64)
    data = TrainingData(words[:600], y[:600], words[600:], y[600:], Task(BINARY, 2), seed=0, threads=1)
    mixer = registry.build(name)
    mixer.fit(data, time.monotonic() + 5)
    sparse_output = mixer.predict(data.x_valid)
    assert np.allclose(sparse_output, mixer.predict(data.x_valid.toarray()), atol=1e-5)
    assert data.task.score(data.y_valid, sparse_output.argmax(axis=1)) > 0.9
