"""How rows are divided for training and held-out scoring.

Small tables (under ``CV_ROWS`` rows) use k-fold cross-validation: every row is scored once by a
model that did not see it, which makes model choice much less noisy than one small hold-out;
the fold models are kept and averaged. When time is left, the trainer repeats the k-fold with
fresh shuffles (``Split.reshuffled``). Larger tables use a single stratified 80/20 hold-out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

CV_ROWS = 2_000
HOLDOUT_SHARE = 0.2


@dataclass
class Split:
    """Train/held-out index pairs; ``evaluation_rows`` are the rows with held-out outputs."""

    folds: list[tuple[np.ndarray, np.ndarray]]
    strategy: str
    labels: np.ndarray | None = None  # class codes the folds are stratified on (None: numbers)

    @property
    def evaluation_rows(self) -> np.ndarray:
        """Rows scored by a model that did not train on them (all rows under cross-validation)."""
        return np.sort(np.concatenate([valid for _, valid in self.folds]))

    @property
    def fit_rows(self) -> np.ndarray:
        """Rows on which encoders are fitted (all rows under cross-validation, the training part otherwise)."""
        if self.strategy == "cross_validation":
            return np.arange(sum(len(v) for _, v in self.folds))
        return self.folds[0][0]


    def reshuffled(self, seed: int) -> Split:
        """The same k-fold scheme over the same rows with another shuffle (repeated k-fold)."""
        if self.strategy != "cross_validation":
            raise ValueError("only cross-validation splits can be repeated")
        n_rows = sum(len(valid) for _, valid in self.folds)
        return Split(_k_folds(n_rows, self.labels, seed, len(self.folds)), self.strategy, self.labels)


def _can_stratify(labels: np.ndarray | None, parts: int) -> bool:
    return labels is not None and np.bincount(labels).min(initial=parts) >= parts


def _k_folds(n_rows: int, labels: np.ndarray | None, seed: int, n_folds: int) -> list:
    rows = np.arange(n_rows)
    if _can_stratify(labels, n_folds):
        return list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(rows, labels))
    return list(KFold(n_folds, shuffle=True, random_state=seed).split(rows))


def make_split(n_rows: int, labels: np.ndarray | None, seed: int) -> Split:
    """Cross-validation folds for small data, otherwise one hold-out (stratified on class labels)."""
    rows = np.arange(n_rows)
    if n_rows < CV_ROWS:
        n_folds = 5 if n_rows >= 100 else 3
        return Split(_k_folds(n_rows, labels, seed, n_folds), "cross_validation", labels)
    stratify = labels if _can_stratify(labels, 2) else None
    train, valid = train_test_split(rows, test_size=HOLDOUT_SHARE, random_state=seed, stratify=stratify)
    return Split([(np.sort(train), np.sort(valid))], "holdout")
