"""Column encoders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from augurdb.automl.encoders import TargetView
from augurdb.automl.encoders.categorical import CategoricalEncoder
from augurdb.automl.encoders.dates import DateEncoder
from augurdb.automl.encoders.numeric import ArrayEncoder, NumericEncoder
from augurdb.automl.encoders.text import TfidfTextEncoder

NO_TARGET = TargetView(np.zeros(4), 0)


def test_numeric_standardises_and_flags_missing():
    encoder = NumericEncoder("x")
    out = encoder.fit_transform(np.array([1.0, 2.0, np.nan, 3.0]), NO_TARGET)
    assert encoder.feature_names == ["x", "x:missing"]
    assert np.allclose(out[[0, 1, 3], 0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)], atol=1e-6)  # float32 features
    assert out[2].tolist() == [0.0, 1.0]
    assert np.allclose(encoder.transform(np.array([2.0]))[0], [0.0, 0.0])


def test_numeric_keeps_heavy_tails_and_clips_to_the_training_range():
    values = np.array([0.0] * 999 + [1000.0])  # the one large value lies ~32 sd out
    encoder = NumericEncoder("delay")
    out = encoder.fit_transform(values, NO_TARGET)
    assert out[-1, 0] > 30  # kept as far out as it is: it may be what sets the target
    beyond = encoder.transform(np.array([5000.0, -5.0]))
    assert beyond[0, 0] == out[-1, 0] and beyond[1, 0] == out[0, 0]  # never past what training saw


def test_categorical_one_hot_and_target_statistics():
    rng = np.random.default_rng(0)
    values = np.array([f"v{i}" for i in rng.integers(0, 80, 2000)], dtype=object)
    y = (np.char.endswith(values.astype(str), "7")).astype(np.int64)
    encoder = CategoricalEncoder("c")
    out = encoder.fit_transform(values, TargetView(y, 2))
    assert encoder.high_cardinality and out.shape == (2000, len(encoder.feature_names))
    target_column = encoder.feature_names.index("c:target_mean_0")
    assert out[y == 1, target_column].mean() > out[y == 0, target_column].mean() + 0.3
    unseen = encoder.transform(np.array(["never-seen", None], dtype=object))
    assert unseen.shape == (2, len(encoder.feature_names)) and unseen[:, :32].sum() == 0


def test_a_numbers_target_means_are_in_standard_units_of_the_target():
    """Weekly sales in millions: raw means next to features of unit scale swamped the nets."""
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 80, 2000)
    values = np.array([f"store{g}" for g in groups], dtype=object)
    y = 1e6 + 3e5 * rng.normal(size=80)[groups] + 1e4 * rng.normal(size=2000)
    encoder = CategoricalEncoder("store")
    out = encoder.fit_transform(values, TargetView(y, 0))
    means = out[:, encoder.feature_names.index("store:target_mean_0")]
    assert abs(means.mean()) < 0.2 and 0.5 < means.std() < 1.5
    assert np.corrcoef(means, y)[0, 1] > 0.9  # still the group's level, only rescaled
    served = encoder.transform(values[:5])[:, encoder.feature_names.index("store:target_mean_0")]
    assert np.allclose(served, (np.array([encoder.target_means[v][0] for v in values[:5]]) - y.mean()) / y.std())
    saved_before = {k: v for k, v in encoder.__getstate__().items() if k not in ("target_center", "target_scale")}
    loaded = CategoricalEncoder.__new__(CategoricalEncoder)
    loaded.__setstate__(saved_before)  # a model saved before: its mixers learnt the raw means
    raw = loaded.transform(values[:5])[:, encoder.feature_names.index("store:target_mean_0")]
    assert np.allclose(raw, [encoder.target_means[v][0] for v in values[:5]], rtol=1e-6)


def test_number_coded_classes_keep_their_value_as_a_number_encodes():
    days = ["1"] * 20 + ["3"] * 10 + ["7"] * 10 + ["28"] * 5 + ["365"] * 3  # skew 3.4
    values = np.array(days + [None], dtype=object)
    encoder = CategoricalEncoder("age", numeric_tokens=True)
    out = encoder.fit_transform(values, TargetView(np.zeros(len(values)), 0))
    assert encoder.feature_names[-3:] == ["age", "age:log", "age:missing"]  # skewed: a log-scaled copy too
    numeric = NumericEncoder("age").fit_transform(np.array([np.nan if v is None else float(v) for v in values]),
                                                 TargetView(np.zeros(len(values)), 0))
    assert np.allclose(out[:, -3:], numeric)


def test_a_categorical_encoder_saved_before_the_numeric_block_loads():
    encoder = CategoricalEncoder("code", numeric_tokens=True)
    encoder.fit_transform(np.array(["1", "2", "3"] * 5, dtype=object), NO_TARGET)
    old = {k: v for k, v in encoder.__getstate__().items() if k != "numeric"}
    old.update(numeric_mean=2.0, numeric_std=0.5, feature_names=["code=1", "code=2", "code=3", "code"])
    loaded = CategoricalEncoder.__new__(CategoricalEncoder)
    loaded.__setstate__(old)
    assert loaded.transform(np.array(["3"], dtype=object)).tolist() == [[0.0, 0.0, 1.0, 2.0]]


def test_dates_are_cyclic():
    encoder = DateEncoder("d", with_time=False)
    stamps = pd.to_datetime(["2020-12-31", "2021-01-01", None]).to_numpy()
    out = encoder.fit_transform(stamps, NO_TARGET)
    month_sin = encoder.feature_names.index("d:month_sin")
    assert out.shape[1] == len(encoder.feature_names) and out[2, -1] == 1.0
    assert abs(out[0, month_sin] - out[1, month_sin]) < 0.6


def test_one_value_at_a_time_encodes_as_a_batch_does():
    """Small batches (one-row predictions) take a path without pandas in the categorical and
    date encoders; it must give the vectorised path's features exactly."""
    rng = np.random.default_rng(3)
    labels = np.array([f"v{i}" for i in rng.integers(0, 80, 2000)] + ["12", None, "never-seen"], dtype=object)
    categorical = CategoricalEncoder("c")
    categorical.fit_transform(labels[:2000], TargetView((rng.random(2000) < 0.3).astype(np.int64), 2))
    stamps = pd.to_datetime(["2020-02-29 13:45", "2021-12-31 23:59", None, "1999-01-01 00:00"] * 30).to_numpy()
    dates = DateEncoder("d", with_time=True)
    dates.fit_transform(stamps, NO_TARGET)
    for encoder, values in ((categorical, labels[-200:]), (dates, stamps)):
        batch = encoder.transform(values)
        one_by_one = np.vstack([encoder.transform(values[i:i + 1]) for i in range(len(values))])
        assert np.array_equal(batch, one_by_one, equal_nan=True), encoder.name


def test_text_is_sparse_ngrams():
    texts = np.array(["free prize call now", "see you at lunch", "win a free prize", "lunch at noon?"] * 5,
                     dtype=object)
    encoder = TfidfTextEncoder("t")
    out = encoder.fit_transform(texts, NO_TARGET)
    assert sp.issparse(out) and out.shape == (20, len(encoder.feature_names))
    assert "t:word:free prize" in encoder.feature_names
    assert encoder.transform(np.array(["", "free"], dtype=object)).shape == (2, out.shape[1])


def test_arrays_fixed_width():
    encoder = ArrayEncoder("a")
    out = encoder.fit_transform([np.array([1.0, 2.0]), np.array([3.0]), np.zeros(0)], NO_TARGET)
    assert out.shape == (3, 2 + 4) and np.isfinite(out).all()


def test_rnn_encoder_learns_from_word_order_and_round_trips():
    import pickle
    import time

    from augurdb.automl.encoders.rnn import RNNEncoder

    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta"]
    texts = np.array([" ".join(rng.choice(words, 6)) for _ in range(600)], dtype=object)
    y = np.array([int(t.split()[0] == "alpha") for t in texts])
    encoder = RNNEncoder("t", width=8)
    out = encoder.fit_transform(texts, TargetView(y, 2, deadline=time.monotonic() + 8))
    assert out.shape == (600, 8) and np.isfinite(out).all()
    restored = pickle.loads(pickle.dumps(encoder))
    assert np.allclose(restored.transform(texts[:5]), encoder.transform(texts[:5]), atol=1e-5)


def test_target_statistics_inside_a_fold_never_see_its_held_out_targets():
    """Under cross-validation, a fold's features (training and held-out rows alike) must be the
    same whatever its held-out rows' targets are; the encoding fitted on every row is not."""
    from augurdb.automl.encoders.base import TargetView

    rng = np.random.default_rng(4)
    n = 400
    values = np.array([f"k{i}" for i in rng.integers(0, 60, n)], dtype=object)  # 60 levels: target means
    y = rng.normal(size=n)
    encoder = CategoricalEncoder("c")
    everything = encoder.fit_transform(values, TargetView(y, 0, seed=1))
    assert encoder.high_cardinality
    fit_rows, held_out = np.arange(0, 320), np.arange(320, n)
    changed = y.copy()
    changed[held_out] += 50.0
    fold = encoder.fold_features(values, fit_rows, TargetView(y, 0, seed=1))
    fold_changed = encoder.fold_features(values, fit_rows, TargetView(changed, 0, seed=1))
    assert fold.shape == everything.shape
    np.testing.assert_array_equal(fold, fold_changed)
    refit = CategoricalEncoder("c")
    refit.fit_transform(values, TargetView(changed, 0, seed=1))
    assert not np.array_equal(refit.transform(values[fit_rows]), encoder.transform(values[fit_rows]))


def test_the_gru_text_encoder_inside_a_fold_never_sees_its_held_out_targets():
    import time

    from augurdb.automl.encoders.rnn import RNNEncoder

    rng = np.random.default_rng(5)
    words = ["good", "bad", "fine", "poor", "great"]
    texts = np.array([" ".join(rng.choice(words, 5)) for _ in range(300)], dtype=object)
    y = np.array([int("good" in t) for t in texts])
    fit_rows = np.arange(240)
    flipped = y.copy()
    flipped[240:] = 1 - flipped[240:]
    encoder = RNNEncoder("t", width=4)
    # A deadline far off: training ends by early stopping, the same way for both runs.
    encoder.fit_transform(texts, TargetView(y, 2, deadline=time.monotonic() + 60))
    fold = encoder.fold_features(texts, fit_rows, TargetView(y, 2, deadline=time.monotonic() + 60))
    again = encoder.fold_features(texts, fit_rows, TargetView(flipped, 2, deadline=time.monotonic() + 60))
    assert fold.shape == (300, 4) and np.allclose(fold, again)
    assert not np.allclose(fold, encoder.transform(texts))  # not the GRU fitted on every row


def test_unsupervised_encoders_have_no_fold_features():
    from augurdb.automl.encoders.base import TargetView
    from augurdb.automl.encoders.numeric import NumericEncoder

    encoder = CategoricalEncoder("c")
    values = np.array(["a", "b"] * 50, dtype=object)
    encoder.fit_transform(values, TargetView(np.arange(100.0), 0))
    assert not encoder.high_cardinality and encoder.fold_features(values, np.arange(50), TargetView(np.arange(100.0), 0)) is None
    numbers = NumericEncoder("n")
    numbers.fit_transform(np.arange(10.0), TargetView(np.arange(10.0), 0))
    assert numbers.fold_features(np.arange(10.0), np.arange(5), TargetView(np.arange(10.0), 0)) is None


def test_cross_validated_training_encodes_each_fold_on_its_own_rows(monkeypatch):
    from augurdb.automl import learn

    calls: list[int] = []
    original = CategoricalEncoder.fold_features

    def counted(self, values, fit_rows, target):
        calls.append(len(fit_rows))
        return original(self, values, fit_rows, target)

    monkeypatch.setattr(CategoricalEncoder, "fold_features", counted)
    rng = np.random.default_rng(8)
    n = 500  # under 2,000 rows: 5-fold cross-validation
    cities = ["".join(rng.choice(list("abcdefghij"), 5)) for _ in range(40)]
    df = pd.DataFrame({"city": rng.choice(cities, n), "x": rng.normal(size=n)})
    df["y"] = df["x"] + rng.normal(size=n)
    learn(df, "y", time_budget=4, options={"mixers": ["Linear"]})
    assert calls and set(calls) == {400}  # each fold's 4/5 of the rows, once per fold and shuffle


def _store_sales(n: int = 3000, stores: int = 45, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Store numbers 1..45 whose sales levels have nothing to do with the number's order."""
    rng = np.random.default_rng(seed)
    store = rng.integers(1, stores + 1, n).astype("float64")
    level = rng.normal(size=stores + 1)
    return store, 5e5 + 2e5 * level[store.astype(int)] + 1e4 * rng.normal(size=n)


def test_a_whole_number_with_few_values_also_gets_each_values_target_mean():
    from augurdb.automl.encoders.numeric import WholeNumberEncoder

    store, sales = _store_sales()
    store[:30] = np.nan
    encoder = WholeNumberEncoder("store")
    out = encoder.fit_transform(store, TargetView(sales, 0))
    assert encoder.feature_names == ["store", "store:missing", "store:target_mean_0"]
    number, means = out[:, 0], out[:, 2]
    assert abs(np.corrcoef(number[30:], sales[30:])[0, 1]) < 0.2  # the number's order says nothing
    assert np.corrcoef(means, sales)[0, 1] > 0.95  # its level does, in the target's standard units
    assert abs(means.mean()) < 0.2
    served = encoder.transform(np.array([store[40], np.nan, 99.0]))
    level = encoder.level_means[list(encoder.level_values).index(store[40])][0]
    assert np.isclose(served[0, 2], (level - sales.mean()) / sales.std(), rtol=1e-5)
    missing_level = encoder.level_means[-1][0]  # missing is a level of its own, sorted last
    assert np.isclose(served[1, 2], (missing_level - sales.mean()) / sales.std(), rtol=1e-5)
    assert np.isclose(served[2, 2], 0.0, atol=1e-6)  # an unseen value: the prior, the target's mean
    np.testing.assert_allclose(encoder.transform(store[100:101]), encoder.transform(store[100:110])[:1])


def test_a_whole_numbers_fold_features_never_see_the_folds_held_out_targets():
    from augurdb.automl.encoders.numeric import WholeNumberEncoder

    store, sales = _store_sales(n=500, seed=2)
    fit_rows = np.arange(400)
    changed = sales.copy()
    changed[400:] *= 3
    encoder = WholeNumberEncoder("store")
    everything = encoder.fit_transform(store, TargetView(sales, 0, seed=1))
    fold = encoder.fold_features(store, fit_rows, TargetView(sales, 0, seed=1))
    assert fold.shape == everything.shape
    np.testing.assert_array_equal(fold, encoder.fold_features(store, fit_rows, TargetView(changed, 0, seed=1)))
    assert not np.array_equal(fold[400:], everything[400:])  # held-out rows: means of the fit rows only


def test_whole_numbers_with_few_distinct_values_default_to_their_target_means():
    from augurdb.automl.encoders import make_encoder
    from augurdb.automl.type_inference import infer_column

    store, _ = _store_sales()
    chosen = {name: make_encoder(infer_column(name, pd.Series(values))).name for name, values in {
        "store": store.astype(int),  # 45 values in 3,000 rows
        "few_rows": store[:300].astype(int),  # 45 values in 300 rows: too few rows for each mean
        "amount": np.arange(3000) % 500,  # 500 distinct: a number
        "price": store + 0.5,  # not whole
    }.items()}
    assert chosen == {"store": "WholeNumberEncoder", "few_rows": "NumericEncoder",
                      "amount": "NumericEncoder", "price": "NumericEncoder"}


def test_a_linear_model_learns_unrelated_store_levels_through_their_target_means():
    from augurdb.automl import learn

    store, sales = _store_sales(n=4000, seed=3)
    df = pd.DataFrame({"store": store.astype(int), "sales": sales})
    train, test = df.iloc[:3000], df.iloc[3000:]
    predictor = learn(train, "sales", time_budget=4, options={"mixers": ["Linear"]})
    predicted = predictor.predict(test[["store"]], options={"explain": False})["sales"].to_numpy(dtype=float)
    r2 = 1 - ((predicted - test["sales"]) ** 2).sum() / ((test["sales"] - test["sales"].mean()) ** 2).sum()
    assert r2 > 0.9  # the store number as a number alone: R² near 0


def test_a_measurement_whose_level_follows_its_value_keeps_the_number_alone():
    """Ages 17..90 fill their range as store numbers do; their levels follow the value."""
    from augurdb.automl.encoders.numeric import WholeNumberEncoder

    rng = np.random.default_rng(6)
    age = rng.integers(17, 91, 5000).astype("float64")
    income = 1e4 * np.exp(-((age - 50) / 15) ** 2) + 2e3 * rng.normal(size=5000)
    encoder = WholeNumberEncoder("age")
    out = encoder.fit_transform(age, TargetView(income, 0))
    assert not encoder.uses_means and encoder.feature_names == ["age"]
    assert out.shape == (5000, 1) and encoder.fold_features(age, np.arange(4000), TargetView(income, 0)) is None
    np.testing.assert_array_equal(encoder.transform(age[:10]), NumericEncoder("age").fit_transform(age, NO_TARGET)[:10])
