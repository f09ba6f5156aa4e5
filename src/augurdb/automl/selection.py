"""Choosing what to keep: a weighted ensemble of mixers, and the decision rule for classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np

from .tasks import BINARY, MULTICLASS, Task, gain_beyond_noise

_ENSEMBLE_ROUNDS = 25


def greedy_ensemble(outputs: dict[str, np.ndarray], y: np.ndarray, task: Task,
                    costs: dict[str, float] | None = None, limit: float | None = None) -> dict[str, float]:
    """Caruana-style forward selection with replacement on held-out loss.

    Returns mixer name -> weight (summing to 1). Starts from the best single mixer and adds
    whichever mixer most lowers the loss of the running average; stops when nothing helps.
    A mixer not yet kept joins only if it lowers the loss beyond two standard errors of the
    per-row differences: each one adds its predict time to every row served, and a gain within
    noise is none. With ``limit``, the kept mixers' ``costs`` (predict seconds per row) sum to at most it: a
    mixer that would break it is not added, and when none fits alone the fastest is kept.
    """
    names = list(outputs)
    costs = costs or {}
    counts = dict.fromkeys(names, 0)

    def affordable(name: str) -> bool:
        kept = {n for n, c in counts.items() if c} | {name}
        return limit is None or sum(costs.get(n, 0.0) for n in kept) <= limit

    fits = [n for n in names if affordable(n)] or [min(names, key=lambda n: costs.get(n, 0.0))]
    best = min(fits, key=lambda n: task.loss(y, outputs[n]))
    counts[best], total, blend = 1, 1, outputs[best].copy()
    current = task.row_losses(y, blend)

    def earns_its_place(name: str, losses: np.ndarray) -> bool:
        return bool(counts[name]) or gain_beyond_noise(current - losses)

    for _ in range(_ENSEMBLE_ROUNDS):
        trials = {n: task.row_losses(y, (blend * total + outputs[n]) / (total + 1)) for n in names
                  if counts[n] or affordable(n)}
        trials = {n: losses for n, losses in trials.items() if earns_its_place(n, losses)}
        name = min(trials, key=lambda n: float(trials[n].mean()), default=None)
        if name is None or trials[name].mean() >= current.mean() - 1e-9:
            break
        blend = (blend * total + outputs[name]) / (total + 1)
        counts[name] += 1
        total += 1
        current = trials[name]
    return {n: c / total for n, c in counts.items() if c}


def blend(outputs: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted average of mixer outputs."""
    # sum() starts from the int 0; weights is never empty, so the result is an array.
    return cast(np.ndarray, sum(weights[n] * outputs[n] for n in weights))


@dataclass
class DecisionRule:
    """Turns class probabilities into a class: a tuned threshold (binary) or per-class weights.

    Tuned on held-out rows to maximise balanced accuracy, which is what lifts minority-class
    recall on imbalanced data (argmax of probabilities favours the majority class).
    """

    threshold: float = 0.5
    class_weights: list[float] = field(default_factory=list)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Class codes for each row."""
        if proba.shape[1] == 2:
            return (proba[:, 1] >= self.threshold).astype(np.int64)
        weights = np.asarray(self.class_weights) if self.class_weights else 1.0
        return np.argmax(proba * weights, axis=1).astype(np.int64)

    def as_dict(self) -> dict:
        """JSON-friendly view for describe()."""
        if self.class_weights:
            return {"class_weights": [round(w, 4) for w in self.class_weights]}
        return {"threshold": round(self.threshold, 4)}


def _standard_error(y: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Standard error of a balanced-accuracy estimate: the mean of per-class recalls, each a
    binomial proportion over that class's rows."""
    variance = 0.0
    present = 0
    for k in range(n_classes):
        rows = y == k
        if rows.any():
            recall = float(np.mean(predicted[rows] == k))
            variance += recall * (1 - recall) / rows.sum()
            present += 1
    return float(np.sqrt(variance)) / max(present, 1)


def tune_decision(proba: np.ndarray, y: np.ndarray, task: Task) -> DecisionRule:
    """The decision rule for balanced accuracy.

    Starts from the rule that is optimal for it when probabilities are calibrated: weigh each
    class by the inverse of its share (binary: the threshold is the positive share). A tuned rule
    replaces it only when it scores better on held-out rows by more than the estimate's standard
    error: on small tables a threshold that looks better is mostly chosen noise.
    """
    if task.kind not in (BINARY, MULTICLASS):
        return DecisionRule()
    prior = np.bincount(y, minlength=task.n_classes) / len(y)
    if task.kind == BINARY:
        neutral = DecisionRule(threshold=float(prior[1]))
        candidates = np.unique(np.quantile(proba[:, 1], np.linspace(0.01, 0.99, 197)))
        scores = np.array([task.score(y, (proba[:, 1] >= t).astype(int)) for t in candidates])
        # Smooth over neighbours so a lucky isolated threshold on few rows does not win.
        smoothed = np.convolve(scores, np.ones(5) / 5, mode="same") if len(scores) >= 5 else scores
        tuned, tuned_score = DecisionRule(threshold=float(candidates[int(np.argmax(smoothed))])), float(smoothed.max())
    else:
        prior = np.where(prior > 0, prior, 1.0 / len(y))
        rules = [DecisionRule(class_weights=(prior**-power / (prior**-power).max()).tolist())
                 for power in (1.0, 0.75, 0.5, 0.25, 0.0)]
        neutral = rules[0]
        scored = [(task.score(y, rule.decide(proba)), rule) for rule in rules]
        tuned_score, tuned = max(scored, key=lambda pair: pair[0])
    neutral_predictions = neutral.decide(proba)
    neutral_score = task.score(y, neutral_predictions)
    if tuned_score > neutral_score + _standard_error(y, neutral_predictions, task.n_classes):
        return tuned
    return neutral
