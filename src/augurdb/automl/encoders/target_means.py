"""Smoothed target means per value, out of fold on the rows they are fitted on: what the
categorical and whole-number encoders learn from the target."""

from __future__ import annotations

import numpy as np

from .base import TargetView

SMOOTHING = 10.0  # a value seen n times keeps n / (n + 10) of its own mean, the rest is the prior
FOLDS = 5


def target_matrix(target: TargetView) -> np.ndarray:
    """The target as columns to average: the positive class's share (two classes), each class's
    share (more), or the number itself."""
    if target.n_classes:
        onehot = np.eye(target.n_classes)[target.values.astype(int)]
        return onehot[:, 1:2] if target.n_classes == 2 else onehot
    return target.values.reshape(-1, 1).astype("float64")


def smoothed_means(keys: np.ndarray, y: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys (sorted) and each one's mean of ``y`` shrunk towards ``prior``."""
    unique, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros((len(unique), y.shape[1]))
    np.add.at(sums, inverse, y)
    counts = np.bincount(inverse, minlength=len(unique)).reshape(-1, 1)
    return unique, (sums + SMOOTHING * prior) / (counts + SMOOTHING)


def out_of_fold_means(keys: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Each row's target means from the other folds of these rows only, so no row sees its own."""
    prior = y.mean(axis=0)
    folds = np.random.default_rng(seed).permutation(len(keys)) % FOLDS
    means = np.empty_like(y)
    for fold in range(FOLDS):
        inside = folds == fold
        unique, table = smoothed_means(keys[~inside], y[~inside], prior)
        means[inside] = lookup(unique, table, prior, keys[inside])
    return means


def fold_means(keys: np.ndarray, y: np.ndarray, fit_rows: np.ndarray, seed: int) -> np.ndarray:
    """Every row's target means as a fit on ``fit_rows`` alone gives them: out of fold among the
    fit rows, from the fit rows for the others."""
    means = np.empty_like(y)
    means[fit_rows] = out_of_fold_means(keys[fit_rows], y[fit_rows], seed)
    others = np.setdiff1d(np.arange(len(keys)), fit_rows)
    prior = y[fit_rows].mean(axis=0)
    unique, table = smoothed_means(keys[fit_rows], y[fit_rows], prior)
    means[others] = lookup(unique, table, prior, keys[others])
    return means


def lookup(unique: np.ndarray, table: np.ndarray, prior: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``table``'s row for each key (``unique`` sorted, as smoothed_means gives it), ``prior`` for keys it lacks."""
    if not len(unique):
        return np.tile(prior, (len(keys), 1))
    at = np.clip(np.searchsorted(unique, keys), 0, len(unique) - 1)
    return np.where((unique[at] == keys).reshape(-1, 1), table[at], prior)
