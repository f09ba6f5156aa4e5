"""The contract every mixer (a model over the encoded features) follows, and fold bagging."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import scipy.sparse as sp

from ..encoders.base import Matrix
from ..tasks import Task


@dataclass
class TrainingData:
    """One training round: rows to fit, held-out rows for early stopping, and the run's settings."""

    x_train: Matrix
    y_train: np.ndarray
    x_valid: Matrix
    y_valid: np.ndarray
    task: Task
    seed: int = 0
    threads: int = 1
    # Predict seconds per row this model may cost (predict_cost.py); a mixer whose size it can
    # choose (the number of trees) keeps within it, the others are weighed at selection.
    infer_limit: float | None = None
    # Features that hold category codes (0, 1, 2, ... for a column's labels, NaN for a label not
    # coded): labels, not amounts. A mixer that splits on categories takes them as such (LightGBM);
    # one that reads every feature as an amount leaves them out (amounts_only).
    categorical: tuple[int, ...] = ()


def amounts_only(data: TrainingData) -> tuple[TrainingData, np.ndarray | None]:
    """``data`` without its category-code features, and the kept features' indices for
    :func:`take_features` at predict time (None when every feature is an amount)."""
    if not data.categorical:
        return data, None
    keep = np.setdiff1d(np.arange(data.x_train.shape[1]), data.categorical)
    return replace(data, x_train=take_features(data.x_train, keep), x_valid=take_features(data.x_valid, keep),
                   categorical=()), keep


def take_features(x: Matrix, keep: np.ndarray | None) -> Matrix:
    """The features ``keep`` of every row (all of them for None)."""
    return x if keep is None else x[:, keep]


class Mixer:
    """A model over encoded features.

    ``predict`` returns values (regression, original units) or class probabilities (n x classes).
    ``contributions`` (optional: a mixer without it is left out of explanations) returns, per row
    and source column, how much that column moved the row's output (regression: target units;
    classes: the log-odds of ``classes[row]``).

    The features are a float32 matrix, dense (numpy) or sparse (scipy CSR; ``features.to_dense``).
    A mixer is pickled with the model, so what it keeps must pickle (see NeuralMixer's
    ``__getstate__`` for torch modules).
    """

    name = "mixer"

    def warm_up(self) -> None:
        """One-time set-up of the mixer's library (imports, thread pools), done before its fit
        is timed, so that its share of the budget goes to training."""

    def fit(self, data: TrainingData, deadline: float) -> None:
        """Train, stopping early on held-out loss and never past ``deadline`` (time.monotonic())."""
        raise NotImplementedError

    def predict(self, x: Matrix) -> np.ndarray:
        """Values or class probabilities for each row."""
        raise NotImplementedError

    def contributions(self, x: Matrix, groups: sp.csr_matrix, classes: np.ndarray | None) -> np.ndarray:
        """Per-row, per-column contributions (rows x columns)."""
        raise NotImplementedError

    def settings(self) -> dict:
        """What this mixer chose for itself while fitting (parameters, rounds), for DESCRIBE."""
        return {}

    def refit(self, x: Matrix, y: np.ndarray, deadline: float, threads: int) -> Mixer | None:
        """A copy trained on all of ``x`` with the settings this fit chose on held-out rows, or
        None when this mixer cannot (it needs held-out rows to know when to stop) or runs out of time."""
        return None

    def compile(self, seconds: float) -> float:
        """Once trained for good: make predict faster without changing its output, in at most
        about ``seconds``; returns the seconds spent (0: nothing to do, or not worth the time)."""
        return 0.0


def per_class(contrib: np.ndarray, classes: np.ndarray | None, n_classes: int) -> np.ndarray:
    """Pick each row's class slice from contributions shaped (rows, features, classes)."""
    if classes is None or n_classes <= 2:
        signed = contrib[..., -1] if contrib.ndim == 3 else contrib
        if classes is not None:  # binary outputs are log-odds of class 1: flip for rows predicting 0
            signed = signed * np.where(classes == 1, 1.0, -1.0)[:, None]
        return signed
    return contrib[np.arange(len(classes)), :, classes]


class BaggedMixer(Mixer):
    """Average of the same mixer trained on each cross-validation fold (small data).

    ``rounds``: how many members each row's held-out output averaged (one per k-fold shuffle).
    The bag of all members varies less than that, which :meth:`predict_with_spread` estimates.
    """

    rounds = 1  # bags saved before rounds were kept

    def __init__(self, members: list[Mixer], rounds: int = 1):
        self.members = members
        self.rounds = rounds
        self.name = members[0].name

    def fit(self, data: TrainingData, deadline: float) -> None:
        raise TypeError("a BaggedMixer is assembled from already trained fold models")

    def predict(self, x: Matrix) -> np.ndarray:
        return np.mean([member.predict(x) for member in self.members], axis=0)

    def compile(self, seconds: float) -> float:
        spent = 0.0
        for member in self.members:
            spent += member.compile(seconds - spent)
        return spent

    def predict_with_spread(self, x: Matrix) -> tuple[np.ndarray, np.ndarray]:
        """(values, variance removed): the bag's values and, per row, how much less error variance
        they have than the held-out outputs that calibrated the intervals. Members' spread around
        the bag estimates one member's variance; averaging M members leaves 1/M of it, where a
        held-out output (the mean of ``rounds`` members) kept 1/rounds."""
        values = np.array([member.predict(x) for member in self.members])
        spread = values.var(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])
        return values.mean(axis=0), spread * max(0.0, 1 / self.rounds - 1 / len(values))

    def contributions(self, x: Matrix, groups: sp.csr_matrix, classes: np.ndarray | None) -> np.ndarray:
        return np.mean([member.contributions(x, groups, classes) for member in self.members], axis=0)

    def settings(self) -> dict:
        """Members' settings merged: a number by its median, anything else by how often each value was chosen."""
        each = [member.settings() for member in self.members]
        merged: dict = {"members": len(self.members)}
        for key in each[0]:
            values = [s.get(key) for s in each]
            if all(isinstance(v, int | float) for v in values):
                merged[key] = float(np.median(cast(list[float], values)))  # all() does not narrow
            else:
                merged[key] = dict(Counter(str(v) for v in values))
        return merged
