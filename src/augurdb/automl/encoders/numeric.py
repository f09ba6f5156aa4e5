"""Encoders for numbers and for arrays of numbers."""

from __future__ import annotations

import numpy as np

from .base import ColumnEncoder, TargetView
from .target_means import fold_means, lookup, out_of_fold_means, smoothed_means, target_matrix

_CLIP = 10.0  # models saved before the training-range clip: standardised values within +-10


_CLOCK_MIN_VALUES = 100  # fewer distinct values could pass _is_clock_time by chance (minutes 0..59)


def _is_clock_time(finite: np.ndarray) -> bool:
    """Whether a column's finite values are clock times written as HHMM numbers (flights' 1859 for
    18:59). Other whole numbers in 0..2400 almost never pass: with _CLOCK_MIN_VALUES distinct
    values, all of them under 60 past their hundred has a chance of about 0.6 ** 100."""
    if finite.size == 0 or finite.min() < 0 or finite.max() > 2400 or np.any(finite != np.round(finite)):
        return False
    distinct = np.unique(finite)
    return distinct.size >= _CLOCK_MIN_VALUES and bool(np.all(distinct % 100 < 60))


def _minutes(hhmm: np.ndarray) -> np.ndarray:
    return np.floor(hhmm / 100) * 60 + hhmm % 100


class NumericEncoder(ColumnEncoder):
    """Standardised value, a log-scaled copy for skewed positive columns, minutes since midnight
    for clock times written HHMM, and a missing-value flag when the training data had gaps.
    Missing values encode as the mean.

    As a number, 1859 is 41 from 1900 though a minute before it: an arrival delay is the
    difference of two such times in minutes, which LightGBM pieces together from splits but a net
    or a linear model cannot (nyc_flights: FullyConnectedNet's held-out R² 0.969 with HHMM alone,
    0.988 with minutes beside it).

    Values are clipped to the training range, so an unseen extreme cannot push a network's output
    anywhere it was never fitted. A clip at 10 sd (the earlier rule) hid what heavy tails carry:
    a flight's departure delay past 10 sd still sets its arrival delay, and the nets' R² on
    nyc_flights rose from 0.95 to 0.98 without it.
    """

    name = "NumericEncoder"
    low: float | None = None  # training range; None in models saved before, clipped at +-_CLIP sd
    high: float | None = None
    clock = False  # models saved before clock times have no minutes feature

    def __init__(self, column: str):
        self.column = column

    def fit_transform(self, values: np.ndarray, target: TargetView) -> np.ndarray:
        finite = values[np.isfinite(values)]
        self.mean = float(finite.mean()) if finite.size else 0.0
        self.std = float(finite.std()) or 1.0 if finite.size else 1.0
        self.low, self.high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        skew = float(((finite - self.mean) ** 3).mean() / self.std**3) if finite.size else 0.0
        self.log_scale = bool(finite.size and finite.min() >= 0 and skew > 2.0)
        if self.log_scale:
            logged = np.log1p(finite)
            self.log_mean, self.log_std = float(logged.mean()), float(logged.std()) or 1.0
        self.clock = _is_clock_time(finite)
        if self.clock:
            minutes = _minutes(finite)
            self.clock_mean, self.clock_std = float(minutes.mean()), float(minutes.std()) or 1.0
        self.flag_missing = bool(np.isnan(values).any())
        self.feature_names = [self.column]
        if self.log_scale:
            self.feature_names.append(f"{self.column}:log")
        if self.clock:
            self.feature_names.append(f"{self.column}:minutes")
        if self.flag_missing:
            self.feature_names.append(f"{self.column}:missing")
        return self.transform(values)

    def _clip(self, scaled: np.ndarray) -> np.ndarray:
        return scaled if self.low is not None else np.clip(scaled, -_CLIP, _CLIP)

    @classmethod
    def standardising(cls, column: str, mean: float, std: float) -> NumericEncoder:
        """The value standardised alone, no log copy or missing flag (older models' encoding)."""
        encoder = cls(column)
        encoder.mean, encoder.std, encoder.log_scale, encoder.flag_missing = mean, std, False, False
        encoder.low, encoder.high = -np.inf, np.inf  # those codes were never clipped
        encoder.feature_names = [column]
        return encoder

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        missing = ~np.isfinite(values)
        filled = np.where(missing, self.mean, values)
        if self.low is not None:
            filled = np.clip(filled, self.low, self.high)
        parts = [self._clip((filled - self.mean) / self.std)]
        if self.log_scale:
            logged = np.log1p(np.maximum(filled, 0.0))
            parts.append(self._clip((logged - self.log_mean) / self.log_std))
        if self.clock:
            minutes = np.where(missing, self.clock_mean, _minutes(filled))  # the mean HHMM is no time
            parts.append((minutes - self.clock_mean) / self.clock_std)
        if self.flag_missing:
            parts.append(missing.astype("float64"))
        return np.column_stack(parts).astype("float32")


# The von Neumann ratio of a column's target means in the order of its values: near 1 when
# neighbouring values' levels are as unlike as any two (store numbers: 1.01), near 0 when the
# level is a smooth function of the value, which the number itself gives every mixer (ages
# 0.09-0.15, hours worked 0.35, days on the market 0.29 in the benchmark's tables).
UNORDERED_LEVELS = 0.5


class WholeNumberEncoder(NumericEncoder):
    """A whole number with few distinct values: NumericEncoder's features, plus each value's
    smoothed target mean (out of fold on the training rows, so a row never sees its own target)
    when the value's order does not explain the levels.

    Values alone cannot tell a code from a measurement: store numbers 1..45 fill their range as
    ages 17..90 do. As one number, a net cannot learn 45 unrelated stores (walmart_store_sales:
    the nets 6.5 points of R² below LightGBM); from their target means it can. Where the level
    follows the value (an age), the means would add a noisier copy of what the number says.
    """

    name = "WholeNumberEncoder"

    def fit_transform(self, values: np.ndarray, target: TargetView) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        y = target_matrix(target)
        self.prior = y.mean(axis=0)
        self.target_center, self.target_scale = (0.0, 1.0) if target.n_classes else \
            (float(self.prior[0]), float(y.std()) or 1.0)
        self.level_values, self.level_means = smoothed_means(_keys(values), y, self.prior)
        self.uses_means = _unordered(self.level_values, self.level_means)
        numeric = super().fit_transform(values, target)  # the number's own features (and their names)
        if not self.uses_means:
            return numeric
        self.feature_names = self.feature_names + [f"{self.column}:target_mean_{i}" for i in range(y.shape[1])]
        return self._with_means(NumericEncoder.transform(self, values), out_of_fold_means(_keys(values), y, target.seed))

    def fold_features(self, values: np.ndarray, fit_rows: np.ndarray, target: TargetView) -> np.ndarray | None:
        """All rows' features as a fit on ``fit_rows`` alone would give their target means."""
        if not self.uses_means:
            return None
        values = np.asarray(values, dtype="float64")
        means = fold_means(_keys(values), target_matrix(target), fit_rows, target.seed)
        return self._with_means(NumericEncoder.transform(self, values), means)

    def transform(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype="float64")
        numeric = NumericEncoder.transform(self, values)
        if not self.uses_means:
            return numeric
        return self._with_means(numeric, lookup(self.level_values, self.level_means, self.prior, _keys(values)))

    def _with_means(self, numeric: np.ndarray, means: np.ndarray) -> np.ndarray:
        scaled = (means - self.target_center) / self.target_scale
        return np.hstack([numeric, scaled.astype("float32")])


def _unordered(levels: np.ndarray, means: np.ndarray) -> bool:
    """Whether the values' order leaves their target means unexplained (UNORDERED_LEVELS)."""
    means = means[np.isfinite(levels)]  # the missing level has no place in the order
    spread = 2 * float(((means - means.mean(axis=0)) ** 2).mean(axis=0).sum())
    if len(means) < 3 or spread == 0:
        return False
    return float((np.diff(means, axis=0) ** 2).mean(axis=0).sum()) / spread >= UNORDERED_LEVELS


def _keys(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), np.inf, values)  # missing is a level of its own


class ArrayEncoder(ColumnEncoder):
    """Fixed-width view of number lists: the first ``width`` items (padded) plus length, mean, min, max."""

    name = "ArrayEncoder"

    def __init__(self, column: str, max_width: int = 16):
        self.column, self.max_width = column, max_width

    def fit_transform(self, values: list, target: TargetView) -> np.ndarray:
        lengths = [len(v) for v in values]
        self.width = int(min(self.max_width, max(lengths, default=0)))
        raw = self._raw(values)
        self.mean = np.nanmean(raw, axis=0) if len(raw) else np.zeros(raw.shape[1])
        self.mean = np.nan_to_num(self.mean)
        self.std = np.nan_to_num(np.nanstd(raw, axis=0)) + 1e-9
        names = [f"{self.column}[{i}]" for i in range(self.width)]
        self.feature_names = names + [f"{self.column}:{s}" for s in ("length", "mean", "min", "max")]
        return self.transform(values)

    def _raw(self, values: list) -> np.ndarray:
        rows = np.full((len(values), self.width + 4), np.nan)
        for i, items in enumerate(values):
            items = items[np.isfinite(items)]
            head = items[: self.width]
            rows[i, : head.size] = head
            rows[i, self.width] = items.size
            if items.size:
                rows[i, self.width + 1 :] = (items.mean(), items.min(), items.max())
        return rows

    def transform(self, values: list) -> np.ndarray:
        raw = self._raw(values)
        scaled = (np.where(np.isnan(raw), self.mean, raw) - self.mean) / self.std
        return np.clip(scaled, -_CLIP, _CLIP).astype("float32")
