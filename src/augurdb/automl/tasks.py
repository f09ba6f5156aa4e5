"""The learning task (regression, binary or multiclass) and its held-out metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
)

REGRESSION, BINARY, MULTICLASS = "regression", "binary", "multiclass"


@dataclass(frozen=True)
class Task:
    """What is predicted: ``kind`` and, for classes, how many there are."""

    kind: str
    n_classes: int = 0

    @property
    def is_classification(self) -> bool:
        """True for binary and multiclass tasks."""
        return self.kind != REGRESSION

    @property
    def metric_name(self) -> str:
        """The primary metric's scikit-learn name, shown in describe()."""
        return "balanced_accuracy_score" if self.is_classification else "r2_score"

    def score(self, y_true: np.ndarray, prediction: np.ndarray) -> float:
        """Primary metric of point predictions (class codes or values): higher is better."""
        if self.is_classification:
            return float(balanced_accuracy_score(y_true, prediction))
        return float(r2_score(y_true, prediction))

    def loss(self, y_true: np.ndarray, output: np.ndarray) -> float:
        """Smooth loss of raw outputs (probabilities or values) used to weight ensembles: lower is better."""
        return float(np.mean(self.row_losses(y_true, output)))

    def row_losses(self, y_true: np.ndarray, output: np.ndarray) -> np.ndarray:
        """Each row's share of ``loss``: log loss for classes, squared error for numbers."""
        if self.is_classification:
            picked = np.clip(output[np.arange(len(y_true)), y_true.astype(int)], 1e-7, 1.0)
            return -np.log(picked)
        return (y_true - output) ** 2


def gain_beyond_noise(gains: np.ndarray) -> bool:
    """Whether per-row gains in loss (before minus after, on the same held-out rows) average
    more than two standard errors above zero: a gain a costlier choice must show to be kept."""
    return bool(gains.mean() > 2 * gains.std(ddof=1) / np.sqrt(len(gains)))


_MACRO = {"average": "macro", "zero_division": 0}
# Held-out metrics a user may ask for besides the primary one (Lightwood's ``accuracy_functions``):
# name -> (applies to classes?, metric of point predictions). Class metrics average over classes.
EXTRA_METRICS: dict[str, tuple[bool, Callable[[np.ndarray, np.ndarray], float]]] = {
    "r2_score": (False, r2_score),
    "mean_absolute_error": (False, mean_absolute_error),
    "mean_squared_error": (False, mean_squared_error),
    "balanced_accuracy_score": (True, balanced_accuracy_score),
    "accuracy_score": (True, accuracy_score),
    "f1_score": (True, partial(f1_score, **_MACRO)),
    "precision_score": (True, partial(precision_score, **_MACRO)),
    "recall_score": (True, partial(recall_score, **_MACRO)),
}
