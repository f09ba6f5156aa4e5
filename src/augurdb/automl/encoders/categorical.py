"""Encoders for classes: one-hot for frequent values, target statistics for high cardinality."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..vectorizer import SMALL_BATCH as _SMALL
from .base import ColumnEncoder, TargetView
from .numeric import NumericEncoder
from .target_means import fold_means, out_of_fold_means, smoothed_means, target_matrix

MAX_ONE_HOT = 32
# Columns with at most this many labels also get a category code, for mixers that split on
# categories (LightGBM groups labels per split, where one-hot keeps only 32). Past it, labels are
# mostly a few rows each, which such splits overfit (nyc_flights' 4,000 tail numbers).
MAX_CODES = 1024


class CategoricalEncoder(ColumnEncoder):
    """One-hot of the most frequent values (at most 32, each seen at least a few times).

    Columns with more distinct values also get the smoothed target mean per value (computed out of
    fold on the training rows, so a row never sees its own target), the value's log frequency, and
    a category code (``category_codes``): the label's rank by frequency, NaN (LightGBM's missing) for one not coded.
    Number-coded classes (1/2/3, or a concrete's age in days: 1, 3, 7, 28, 90, 365) also keep
    their value as NumericEncoder encodes a number (with its log-scaled copy where the codes are
    skewed), so order and scale are not lost.
    """

    name = "CategoricalEncoder"
    numeric: NumericEncoder | None = None  # the codes' numeric encoding (numeric_tokens only)
    # A number's target means are given in standard units of the target, as the other features
    # are: raw (weekly sales in millions) they swamped the nets' and the linear model's inputs.
    # Models saved before keep raw means (these defaults).
    target_center, target_scale = 0.0, 1.0
    codes: dict[str, int] | None = None  # label -> category code (many-valued columns; None before codes)

    def __init__(self, column: str, numeric_tokens: bool = False):
        self.column, self.numeric_tokens = column, numeric_tokens

    def fit_transform(self, values: np.ndarray, target: TargetView) -> np.ndarray:
        self.__dict__.pop("_means_cache", None)  # a refit changes the target means
        self.codes, self.category_codes = None, ()
        labels, counts = np.unique(values[values != None].astype(str), return_counts=True)  # noqa: E711
        order = np.argsort(-counts, kind="stable")
        min_count = 1 if len(values) < 200 else 3
        frequent = [labels[i] for i in order if counts[i] >= min_count][:MAX_ONE_HOT]
        self.levels = {label: i for i, label in enumerate(frequent)}
        self.frequency = {label: int(count) for label, count in zip(labels, counts, strict=True)}
        self.n_rows = len(values)
        self.high_cardinality = len(labels) > len(frequent)
        self.feature_names = [f"{self.column}={label}" for label in frequent]
        stats_block = None
        if self.high_cardinality:
            stats_block = self._fit_target_statistics(values, target)
        if self.numeric_tokens:
            self.numeric = NumericEncoder(self.column)
            self.numeric.fit_transform(self._numbers(values), target)
            self.feature_names += self.numeric.feature_names
        if self.high_cardinality:
            self.feature_names.append(f"{self.column}:log_frequency")
        if self.high_cardinality and len(labels) <= MAX_CODES:
            coded = [labels[i] for i in order if counts[i] >= min_count]
            self.codes = {label: i for i, label in enumerate(coded)}
            self.feature_names.append(f"{self.column}:code")
            self.category_codes = (len(self.feature_names) - 1,)
        return self._assemble(values, stats_block)

    def _numbers(self, values: np.ndarray) -> np.ndarray:
        if len(values) <= _SMALL:  # the vectorizer's labels ("2", "2.5") or None: float() reads them alike
            return np.array([_number(v) for v in values], dtype="float64")
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype="float64")

    def _fit_target_statistics(self, values: np.ndarray, target: TargetView) -> np.ndarray:
        y = target_matrix(target)
        self.prior = y.mean(axis=0)
        if not target.n_classes:  # class means are shares already
            self.target_center, self.target_scale = float(self.prior[0]), float(y.std()) or 1.0
        keys = _text_keys(values)
        unique, table = smoothed_means(keys, y, self.prior)
        self.target_means = dict(zip(unique, table, strict=True))
        self.feature_names += [f"{self.column}:target_mean_{i}" for i in range(y.shape[1])]
        return out_of_fold_means(keys, y, target.seed)

    def fold_features(self, values: np.ndarray, fit_rows: np.ndarray, target: TargetView) -> np.ndarray | None:
        """All rows' features as a fit on ``fit_rows`` alone would give them."""
        if not self.high_cardinality:
            return None  # no target statistics: the features do not depend on which rows fitted them
        block = fold_means(_text_keys(values), target_matrix(target), fit_rows, target.seed)
        return self._assemble(values, block)

    def _assemble(self, values: np.ndarray, stats_block: np.ndarray | None,
                  keys: _Keys | None = None) -> np.ndarray:
        keys = keys or _Keys(values)
        onehot = np.zeros((len(values), len(self.levels)), dtype="float32")
        columns = keys.lookup(self.levels, default=-1, missing=-1)
        hit = columns >= 0
        onehot[np.flatnonzero(hit), columns[hit]] = 1.0
        parts = [onehot]
        if stats_block is not None:
            parts.append(((stats_block - self.target_center) / self.target_scale).astype("float32"))
        if self.numeric is not None:
            parts.append(self.numeric.transform(self._numbers(values)))
        if self.high_cardinality:
            freq = keys.lookup(self.frequency, default=0, missing=self.frequency.get("None", 0)).astype("float64")
            parts.append((np.log1p(freq) / np.log1p(self.n_rows)).reshape(-1, 1).astype("float32"))
        if self.codes is not None:
            # NaN, not -1: LightGBM reads a negative category as missing anyway, but logs a warning
            # for it on every Dataset and every predicted batch.
            parts.append(keys.lookup(self.codes, default=np.nan, missing=np.nan).reshape(-1, 1).astype("float32"))
        return np.hstack(parts)

    def transform(self, values: np.ndarray) -> np.ndarray:
        keys = _Keys(values)
        stats_block = None
        if self.high_cardinality:
            rows_of, table = self._means_table()
            labels = len(rows_of)
            rows = keys.lookup(rows_of, default=labels, missing=rows_of.get("", labels))
            stats_block = table[rows]
        return self._assemble(values, stats_block, keys)


    def _means_table(self) -> tuple[dict[str, int], np.ndarray]:
        """Each label's row in the target-means matrix (the prior last), built once per model:
        rebuilding it per call cost more than a one-row prediction itself."""
        cached = self.__dict__.get("_means_cache")
        if cached is None:
            labels = list(self.target_means)
            cached = ({label: i for i, label in enumerate(labels)},
                      np.vstack([self.target_means[label] for label in labels] + [np.asarray(self.prior)]))
            self.__dict__["_means_cache"] = cached
        return cached

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_means_cache"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "numeric_mean" in state:  # saved before the codes had a NumericEncoder: its value alone
            mean, std = state["numeric_mean"], state["numeric_std"]
            if self.numeric_tokens:
                self.numeric = NumericEncoder.standardising(self.column, mean, std)


def _text_keys(values: np.ndarray) -> np.ndarray:
    return np.array(["" if v is None else str(v) for v in values], dtype=object)


class _Keys:
    """A column's values hashed once: lookups then cost one str() per distinct value, not per row."""

    def __init__(self, values: np.ndarray):
        if len(values) <= _SMALL:  # pandas costs ~0.1 ms per call whatever the size
            index: dict[str, int] = {}
            self.codes = np.array([-1 if _missing(v) else index.setdefault(str(v), len(index)) for v in values],
                                  dtype=np.intp)
            self.strings = list(index)
            return
        self.codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        self.strings = [str(u) for u in uniques]

    def lookup(self, table: dict[str, int], default: float, missing: float) -> np.ndarray:
        """table[str(value)] per row, `default` for unseen values and `missing` for missing ones."""
        mapped = np.array([table.get(s, default) for s in self.strings] + [missing])
        return mapped[self.codes]


def _missing(value: object) -> bool:
    """What pandas' factorize counts as missing."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _number(value: object) -> float:
    if _missing(value):
        return float("nan")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
