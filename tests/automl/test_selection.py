"""The class decision rule: neutral (class-share) unless held-out rows show better beyond noise."""

from __future__ import annotations

import numpy as np
import pytest

from augurdb.automl.selection import greedy_ensemble, tune_decision
from augurdb.automl.tasks import BINARY, MULTICLASS, REGRESSION, Task


def _calibrated(n: int, prior: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that are right on average (each row's label is drawn from them)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=1.5, size=(n, len(prior))) + np.log(prior)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(len(prior), p=row) for row in proba])
    return proba, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_calibrated_binary_keeps_the_class_share_threshold(seed):
    proba, y = _calibrated(250, np.array([0.7, 0.3]), seed)
    rule = tune_decision(proba, y, Task(BINARY, 2))
    assert rule.threshold == pytest.approx(np.mean(y))


def test_miscalibrated_binary_moves_the_threshold_when_the_gain_is_clear():
    proba, y = _calibrated(5000, np.array([0.7, 0.3]), 0)
    shifted = np.clip(proba[:, 1] + 0.3, 0, 1)  # ranks rows as well, but every probability is 0.3 too high
    proba = np.column_stack([1 - shifted, shifted])
    task = Task(BINARY, 2)
    rule = tune_decision(proba, y, task)
    assert rule.threshold > np.mean(y) + 0.15
    assert task.score(y, rule.decide(proba)) > task.score(y, (proba[:, 1] >= np.mean(y)).astype(int)) + 0.03


@pytest.mark.parametrize("seed", [0, 1])
def test_calibrated_multiclass_weighs_each_class_by_its_inverse_share(seed):
    proba, y = _calibrated(600, np.array([0.75, 0.18, 0.07]), seed)
    rule = tune_decision(proba, y, Task(MULTICLASS, 3))
    share = np.bincount(y, minlength=3) / len(y)
    assert rule.class_weights == pytest.approx((1 / share / (1 / share).max()).tolist())


def test_a_mixer_joins_the_ensemble_only_for_a_gain_beyond_noise():
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    best = y + rng.normal(scale=0.5, size=len(y))
    outputs = {"best": best,
               "echo": best + rng.normal(scale=0.01, size=len(y)),  # the same errors: blending gains ~nothing
               "independent": y + rng.normal(scale=0.5, size=len(y))}  # errors of its own: halves the variance
    weights = greedy_ensemble(outputs, y, Task(REGRESSION))
    assert len({"best", "echo"} & set(weights)) == 1  # whichever starts, its echo adds nothing
    assert "independent" in weights
