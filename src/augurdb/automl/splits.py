"""How rows are divided for training and held-out scoring.

Small tables (under ``CV_ROWS`` rows) use k-fold cross-validation: every row is scored once by a
model that did not see it, which makes model choice much less noisy than one small hold-out;
the fold models are kept and averaged. Larger tables use a single stratified 80/20 hold-out.
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


def _can_stratify(labels: np.ndarray | None, parts: int) -> bool:
    return labels is not None and np.bincount(labels).min(initial=parts) >= parts


def make_split(n_rows: int, labels: np.ndarray | None, seed: int) -> Split:
    """Cross-validation folds for small data, otherwise one hold-out (stratified on class labels)."""
    rows = np.arange(n_rows)
    if n_rows < CV_ROWS:
        n_folds = 5 if n_rows >= 100 else 3
        present = labels[np.bincount(labels)[labels] > 0] if labels is not None else None
        if _can_stratify(present, n_folds):
            splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
            folds = list(splitter.split(rows, labels))
        else:
            folds = list(KFold(n_folds, shuffle=True, random_state=seed).split(rows))
        return Split(folds, "cross_validation")
    stratify = labels if _can_stratify(labels, 2) else None
    train, valid = train_test_split(rows, test_size=HOLDOUT_SHARE, random_state=seed, stratify=stratify)
    return Split([(np.sort(train), np.sort(valid))], "holdout")
