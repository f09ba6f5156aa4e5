"""Category codes: many-valued classes also reach LightGBM as codes it may split on as categories,
while the mixers that read every feature as an amount never see them."""

from __future__ import annotations

import time

import numpy as np
import pytest

from augurdb.automl.encoders.base import TargetView
from augurdb.automl.encoders.categorical import MAX_CODES, CategoricalEncoder
from augurdb.automl.encoders.numeric import NumericEncoder
from augurdb.automl.features import FeatureLayout
from augurdb.automl.mixers import TrainingData, registry
from augurdb.automl.mixers.gbm import LightGBMMixer
from augurdb.automl.tasks import REGRESSION, Task


def _labels(n_labels: int, rows: int, seed: int = 0) -> np.ndarray:
    return np.array([f"r{i}" for i in np.random.default_rng(seed).integers(0, n_labels, rows)], dtype=object)


def test_a_many_valued_column_gets_a_code_per_label_by_frequency():
    values = np.array(["a"] * 50 + ["b"] * 30 + [f"x{i}" for i in range(40) for _ in range(3)], dtype=object)
    encoder = CategoricalEncoder("c")
    out = encoder.fit_transform(values, TargetView(np.zeros(len(values)), 0))
    assert encoder.high_cardinality and encoder.feature_names[-1] == "c:code"
    assert encoder.category_codes == (len(encoder.feature_names) - 1,)
    codes = out[:, -1]
    assert codes[0] == 0 and codes[50] == 1  # the most frequent labels first
    assert sorted(set(codes[80:].tolist())) == list(range(2, 42))
    served = encoder.transform(np.array(["b", "never-seen", None], dtype=object))
    assert served[0, -1] == 1.0 and np.isnan(served[1:, -1]).all()  # a label not coded, or none: missing


def test_only_columns_with_many_but_not_too_many_labels_get_codes():
    few = CategoricalEncoder("few")
    few.fit_transform(_labels(10, 2000), TargetView(np.zeros(2000), 0))
    too_many = CategoricalEncoder("ids")
    too_many.fit_transform(_labels(MAX_CODES * 3, 20_000), TargetView(np.zeros(20_000), 0))
    assert not few.high_cardinality and too_many.high_cardinality
    assert few.category_codes == () and too_many.category_codes == ()
    assert not any(name.endswith(":code") for name in few.feature_names + too_many.feature_names)


def test_the_layout_places_codes_among_every_encoders_features():
    number = NumericEncoder("n")
    number.fit_transform(np.arange(100.0), TargetView(np.zeros(100), 0))
    routes = CategoricalEncoder("route")
    routes.fit_transform(_labels(60, 3000), TargetView(np.zeros(3000), 0))
    layout = FeatureLayout.from_encoders({"n": number, "route": routes})
    assert [layout.feature_names[i] for i in layout.category_codes] == ["route:code"]
    assert layout.category_codes == (len(number.feature_names) + routes.category_codes[0],)


def test_an_encoder_saved_before_codes_still_encodes_without_them():
    encoder = CategoricalEncoder("c")
    encoder.fit_transform(_labels(60, 3000), TargetView(np.zeros(3000), 0))
    old = {k: v for k, v in encoder.__getstate__().items() if k not in ("codes", "category_codes")}
    old["feature_names"] = encoder.feature_names[:-1]
    loaded = CategoricalEncoder.__new__(CategoricalEncoder)
    loaded.__setstate__(old)
    assert loaded.category_codes == ()
    assert loaded.transform(_labels(60, 5, seed=1)).shape == (5, len(old["feature_names"]))


def _coded_table(effect_of_label: bool, seed: int = 0) -> TrainingData:
    """Two amounts and, last, a code of 60 labels. With ``effect_of_label`` each label turns the
    first amount's effect up or down (what a target mean per label cannot show); without, the
    labels are noise."""
    rng = np.random.default_rng(seed)
    n = 6000
    codes = rng.integers(0, 60, n)
    x = np.column_stack([rng.normal(size=n), rng.normal(size=n), codes]).astype("float32")
    slope = np.where(codes % 2 == 0, 3.0, -3.0) if effect_of_label else 1.0
    y = slope * x[:, 0] + x[:, 1] + rng.normal(scale=0.3, size=n)
    return TrainingData(x[:4800], y[:4800], x[4800:], y[4800:], Task(REGRESSION), seed=0, threads=1,
                        categorical=(2,))


def _scrambled(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[:, 2] = np.random.default_rng(9).permutation(out[:, 2])
    return out


def test_lightgbm_splits_on_codes_where_the_labels_change_what_the_amounts_do():
    data = _coded_table(effect_of_label=True)
    mixer = LightGBMMixer()
    mixer.fit(data, time.monotonic() + 20)
    assert mixer.tried["categories"] < 0.5 * mixer.tried["default"]
    assert "feature_penalty" not in mixer.params  # the kept set splits on the codes
    assert data.task.score(data.y_valid, mixer.predict(data.x_valid)) > 0.95
    assert not np.allclose(mixer.predict(_scrambled(data.x_valid)), mixer.predict(data.x_valid))


def test_lightgbm_never_splits_on_codes_that_lose_on_held_out_rows():
    data = _coded_table(effect_of_label=False)
    mixer = LightGBMMixer()
    mixer.fit(data, time.monotonic() + 20)
    assert mixer.params["feature_penalty"] == [1.0, 1.0, 0.0]
    assert np.array_equal(mixer.predict(_scrambled(data.x_valid)), mixer.predict(data.x_valid))


@pytest.mark.parametrize("name", ["Linear", "FullyConnectedNet"])
def test_mixers_that_read_amounts_leave_the_codes_out(name):
    data = _coded_table(effect_of_label=False)
    mixer = registry.build(name)
    mixer.fit(data, time.monotonic() + 5)
    assert mixer.amounts.tolist() == [0, 1]
    assert np.array_equal(mixer.predict(_scrambled(data.x_valid)), mixer.predict(data.x_valid))
    layout = FeatureLayout(["a", "b", "route"], np.arange(3), ["a", "b", "route:code"], (2,))
    contributions = mixer.contributions(data.x_valid, layout.group_matrix(), None)
    assert contributions.shape == (1200, 3) and np.all(contributions[:, 2] == 0)
