"""Split conformal prediction: intervals and confidences with a coverage guarantee.

Calibration uses held-out outputs (the hold-out split, or out-of-fold outputs under
cross-validation), so on new data from the same distribution a level-q interval (or prediction
set) contains the truth in about q of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from .encoders.base import Matrix

_MIN_FOR_DIFFICULTY = 200  # fewer calibration rows than this: constant-width intervals
_MAX_FOR_DIFFICULTY = 5000  # the difficulty model learns from at most this many rows (time)
_TOLERANCE_SHARE = 0.1  # regression confidence: chance of an error under 10% of the target's sd


def _quantile(scores: np.ndarray, level: float) -> float:
    """The finite-sample-corrected conformal quantile of nonconformity scores."""
    n = len(scores)
    rank = min(n, int(np.ceil((n + 1) * level)))
    return float(np.sort(scores)[rank - 1])


@dataclass
class RegressionConformal:
    """Normalised split conformal: |error| / difficulty, where a small LightGBM model predicts the
    difficulty (expected |error|) of each row, so easy rows get narrow intervals."""

    scores: np.ndarray
    tolerance: float
    difficulty_model: str | None  # LightGBM model text, or None for constant width
    difficulty_floor: float = 1e-9

    @classmethod
    def calibrate(cls, x: Matrix, y: np.ndarray, predicted: np.ndarray, target_std: float, seed: int):
        """Fit on held-out rows: features, true values and the ensemble's predictions."""
        errors = np.abs(y - predicted)
        tolerance = _TOLERANCE_SHARE * (target_std or 1.0)
        if len(y) < _MIN_FOR_DIFFICULTY:
            return cls(np.sort(errors), tolerance, None)
        rng = np.random.default_rng(seed)
        half = rng.permutation(len(y)) % 2 == 0
        floor = float(np.quantile(errors, 0.05)) + 1e-9
        difficulty = np.empty(len(y))
        for part in (half, ~half):  # cross-fitted, so no row's score uses its own error
            source = np.flatnonzero(~part)[:_MAX_FOR_DIFFICULTY]
            model = _fit_difficulty(x[source], errors[source], seed)
            difficulty[part] = np.maximum(model.predict(x[part]), floor)
        sample = rng.permutation(len(y))[:_MAX_FOR_DIFFICULTY]
        final = _fit_difficulty(x[sample], errors[sample], seed)
        return cls(np.sort(errors / difficulty), tolerance, final.model_to_string(), floor)

    def _difficulty(self, x: Matrix) -> np.ndarray:
        if self.difficulty_model is None:
            return np.ones(x.shape[0])
        if not hasattr(self, "_booster"):
            self._booster = lgb.Booster(model_str=self.difficulty_model)
        threads = 1 if x.shape[0] < 2000 else 0
        return np.maximum(self._booster.predict(x, num_threads=threads), self.difficulty_floor)

    def intervals(self, x: Matrix, predicted: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(low, high, confidence): the level-``level`` interval and, per row, the calibrated chance
        that the error is within a tenth of the target's standard deviation."""
        difficulty = self._difficulty(x)
        half_width = _quantile(self.scores, level) * difficulty
        ranks = np.searchsorted(self.scores, self.tolerance / difficulty, side="right")
        confidence = ranks / (len(self.scores) + 1)
        return predicted - half_width, predicted + half_width, confidence

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_booster", None)
        return state


def _fit_difficulty(x: Matrix, errors: np.ndarray, seed: int) -> lgb.Booster:
    params = {"objective": "regression_l1", "learning_rate": 0.05, "num_leaves": 8, "min_data_in_leaf": 20,
              "verbose": -1, "seed": seed, "num_threads": 1, "deterministic": True}
    return lgb.train(params, lgb.Dataset(x, errors), num_boost_round=60)


@dataclass
class ClassificationConformal:
    """Conformal p-values from held-out scores 1 - p(true class).

    The confidence of a prediction is 1 - the largest p-value of any other class: the highest
    level at which the conformal prediction set shrinks to the predicted class alone.
    """

    scores: np.ndarray

    @classmethod
    def calibrate(cls, proba: np.ndarray, y: np.ndarray):
        """Fit on held-out class probabilities and true class codes."""
        return cls(np.sort(1.0 - proba[np.arange(len(y)), y]))

    def p_values(self, proba: np.ndarray) -> np.ndarray:
        """(rows x classes) conformal p-values."""
        n = len(self.scores)
        at_least = n - np.searchsorted(self.scores, 1.0 - proba - 1e-12, side="left")
        return (at_least + 1) / (n + 1)

    def confidence(self, proba: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """Per-row confidence in ``predicted`` (class codes)."""
        p_values = self.p_values(proba)
        p_values[np.arange(len(predicted)), predicted] = 0.0
        return 1.0 - p_values.max(axis=1)

    def prediction_sets(self, proba: np.ndarray, level: float) -> np.ndarray:
        """Boolean (rows x classes): the classes in each row's level-``level`` prediction set."""
        return self.p_values(proba) > 1.0 - level
