"""The nets see each many-valued number also as a piecewise-linear encoding over quantile bins."""

from __future__ import annotations

import pickle
import time

import numpy as np
import scipy.sparse as sp
import torch

from augurdb.automl.mixers import TrainingData, neural, registry
from augurdb.automl.mixers.neural import _PiecewiseLinear, _quantile_edges
from augurdb.automl.tasks import REGRESSION, Task


def test_only_many_valued_columns_are_binned_at_their_quantiles():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.uniform(0, 100, 4000), rng.integers(0, 2, 4000), rng.integers(0, 5, 4000)])
    columns, edges = _quantile_edges(x.astype("float32"))
    assert columns.tolist() == [0]  # a 0/1 column and a five-valued code are left as they are
    assert np.all(np.diff(edges[0]) > 0)
    assert np.allclose(edges[0, [0, 4, 8]], [0, 50, 100], atol=3)
    assert _quantile_edges(sp.csr_matrix(x)) is None  # text's sparse rows go in as they are


def test_a_bin_reads_zero_below_it_one_above_it_and_the_position_within_it():
    encoding = _PiecewiseLinear(np.array([0]), np.array([[0.0, 1.0, 3.0]]))
    out = encoding(torch.tensor([[-1.0, 7.0], [0.5, 7.0], [2.0, 7.0], [9.0, 7.0]]))
    assert out.tolist() == [[-1.0, 7.0, 0.0, 0.0], [0.5, 7.0, 0.5, 0.0], [2.0, 7.0, 1.0, 0.5], [9.0, 7.0, 1.0, 1.0]]


def test_a_column_with_few_quantiles_pads_out_with_bins_that_stay_empty():
    x = np.repeat(np.arange(12, dtype="float32"), [200] + [10] * 11)[:, None]  # most rows are 0
    columns, edges = _quantile_edges(x)
    assert np.all(np.diff(edges) > 0)
    inputs = torch.from_numpy(x).requires_grad_(True)
    encoded = _PiecewiseLinear(columns, edges)(inputs)
    assert encoded.shape == (x.shape[0], 1 + 8)
    assert torch.all(encoded[:, 1:] >= 0) and torch.all(encoded[:, 1:] <= 1)
    (gradient,) = torch.autograd.grad(encoded.sum(), inputs)  # what explanations take
    assert torch.isfinite(gradient).all()


def _step(rows: int = 3000) -> TrainingData:
    """A target that jumps where one number crosses 0.3: a tree's split, a plain MLP's struggle."""
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (rows, 3)).astype("float32")
    y = np.where(x[:, 0] > 0.3, 10.0, 0.0) + x[:, 1] + rng.normal(0, 0.1, rows)
    cut = rows * 3 // 4
    return TrainingData(x[:cut], y[:cut], x[cut:], y[cut:], Task(REGRESSION), seed=0, threads=1)


def _r2(mixer, data: TrainingData) -> float:
    predicted = mixer.predict(data.x_valid)
    return float(1 - np.mean((predicted - data.y_valid) ** 2) / np.var(data.y_valid))


def test_a_net_with_the_encoding_learns_a_step_better_and_saves_it(monkeypatch):
    data = _step()
    encoded = registry.build("FullyConnectedNet")
    encoded.fit(data, time.monotonic() + 20)
    assert encoded.piecewise is not None and encoded.piecewise[0].tolist() == [0, 1, 2]
    monkeypatch.setattr(neural, "_quantile_edges", lambda x: None)
    plain = registry.build("FullyConnectedNet")
    plain.fit(data, time.monotonic() + 20)
    assert plain.piecewise is None
    assert _r2(encoded, data) > _r2(plain, data) + 0.01  # 0.953 against 0.928 here
    restored = pickle.loads(pickle.dumps(encoded))
    assert np.array_equal(restored.predict(data.x_valid), encoded.predict(data.x_valid))


def test_a_net_saved_before_the_encoding_still_loads():
    data = _step(400)
    mixer = registry.build("FullyConnectedNet")
    mixer.fit(data, time.monotonic() + 5)
    del mixer.piecewise  # what a model saved before the encoding holds: no such attribute
    mixer.net = mixer._network()
    restored = pickle.loads(pickle.dumps(mixer))
    assert restored.predict(data.x_valid).shape == (data.x_valid.shape[0],)
