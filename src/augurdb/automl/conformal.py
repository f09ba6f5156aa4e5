"""Split conformal prediction: intervals for numbers with a coverage guarantee.

Calibration uses held-out outputs (the hold-out split, or out-of-fold outputs under
cross-validation), so on new data from the same distribution a level-q interval contains the
truth in about q of rows; that level is the ``<target>_confidence`` a prediction states.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
from scipy.stats import norm

from .cores import available_threads
from .encoders.base import Matrix

_MIN_FOR_DIFFICULTY = 200  # fewer calibration rows than this: constant-width intervals
_MAX_FOR_DIFFICULTY = 5000  # the difficulty model learns from at most this many rows (time)
_MIN_SHRINK = 0.5  # bagging narrows an interval at most to this share of its calibrated width


def _quantile(scores: np.ndarray, level: float) -> float:
    """The finite-sample-corrected conformal quantile of nonconformity scores."""
    n = len(scores)
    rank = min(n, int(np.ceil((n + 1) * level)))
    return float(np.sort(scores)[rank - 1])


@dataclass
class RegressionConformal:
    """Normalised split conformal: |error| / difficulty, where small LightGBM models predict the
    difficulty (expected |error|) of each row, so easy rows get narrow intervals.

    The difficulty models are cross-fitted on the two halves of the held-out rows, and a new row's
    difficulty is their mean: the same models that scored the calibration rows, not a third one
    fitted on all of them (whose predictions differ in spread, which cost 3 points of coverage).
    """

    scores: np.ndarray
    difficulty_models: tuple[str, ...] = ()  # LightGBM model texts; none for constant width
    difficulty_floor: float = 1e-9
    # The served model's errors against the calibrated one's (< 1 when mixers were refitted on
    # every row after calibration: trainer._refit_gain).
    scale: float = 1.0

    @classmethod
    def calibrate(cls, x: Matrix, y: np.ndarray, predicted: np.ndarray, seed: int) -> RegressionConformal:
        """Fit on held-out rows: features, true values and the ensemble's predictions."""
        errors = np.abs(y - predicted)
        if len(y) < _MIN_FOR_DIFFICULTY:
            return cls(np.sort(errors))
        half = np.random.default_rng(seed).permutation(len(y)) % 2 == 0
        floor = float(np.quantile(errors, 0.05)) + 1e-9
        difficulty = np.empty(len(y))
        models = []
        for part in (half, ~half):  # cross-fitted, so no row's score uses its own error
            source = np.flatnonzero(~part)[:_MAX_FOR_DIFFICULTY]
            model = _fit_difficulty(x[source], errors[source], seed)
            difficulty[part] = np.maximum(model.predict(x[part]), floor)
            models.append(model.model_to_string())
        return cls(np.sort(errors / difficulty), tuple(models), floor)

    def _difficulty(self, x: Matrix) -> np.ndarray:
        if not hasattr(self, "_boosters"):
            # Models of format 1 kept one difficulty model fitted on every held-out row.
            texts = self.__dict__.get("difficulty_models") or tuple(filter(None, [self.__dict__.get("difficulty_model")]))
            self._boosters = [lgb.Booster(model_str=text) for text in texts]
        if not self._boosters:
            return np.ones(x.shape[0])
        threads = 1 if x.shape[0] < 2000 else available_threads()  # not 0: see LightGBMMixer._threads
        mean = np.mean([booster.predict(x, num_threads=threads) for booster in self._boosters], axis=0)
        return np.maximum(mean, self.difficulty_floor)

    def _level_quantile(self, level: float) -> float:
        # Kept per level: sorting thousands of scores cost more than a one-row prediction's trees.
        known = self.__dict__.setdefault("_quantiles", {})
        if level not in known:
            if len(known) >= 16:  # levels come from queries: a bounded cache
                known.clear()
            known[level] = _quantile(self.scores, level)
        return known[level]

    def intervals(self, x: Matrix, predicted: np.ndarray, level: float,
                  variance_removed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(low, high): each row's level-``level`` interval.

        ``variance_removed``: error variance the served model has less than the one calibrated (a
        bag of fold models against one fold model). The half-width shrinks as a normal error's
        would, z * sqrt(sd² - removed), and never below half its calibrated size."""
        half_width = self._level_quantile(level) * self._difficulty(x) * self.scale
        if variance_removed is not None and variance_removed.any():
            z = float(norm.ppf((1 + level) / 2))
            half_width = np.sqrt(np.maximum(half_width**2 - z**2 * variance_removed, (_MIN_SHRINK * half_width) ** 2))
        return predicted - half_width, predicted + half_width

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_boosters", None)
        state.pop("_quantiles", None)
        return state


def measured_coverage(x: Matrix, y: np.ndarray, predicted: np.ndarray, level: float, seed: int) -> float | None:
    """Share of held-out true values inside their level-``level`` interval, where the intervals
    were calibrated on the other half of the rows (both ways); None for too few rows to say."""
    if len(y) < 40:
        return None
    half = np.random.default_rng(seed + 1).permutation(len(y)) % 2 == 0
    inside = np.empty(len(y), dtype=bool)
    for part in (half, ~half):
        rows, other = np.flatnonzero(part), np.flatnonzero(~part)
        calibration = RegressionConformal.calibrate(x[other], y[other], predicted[other], seed)
        low, high = calibration.intervals(x[rows], predicted[rows], level)
        inside[rows] = (y[rows] >= low) & (y[rows] <= high)
    return float(inside.mean())


def _fit_difficulty(x: Matrix, errors: np.ndarray, seed: int) -> lgb.Booster:
    params = {"objective": "regression_l1", "learning_rate": 0.05, "num_leaves": 8, "min_data_in_leaf": 20,
              "verbose": -1, "seed": seed, "num_threads": 1, "deterministic": True}
    return lgb.train(params, lgb.Dataset(x, errors), num_boost_round=60)


@dataclass
class ClassificationConformal:
    """Held-out scores 1 - p(true class) that models of format 1 kept for classes; read only when
    such a model is loaded (its confidence is then the uncalibrated probability; RETRAIN calibrates)."""

    scores: np.ndarray
