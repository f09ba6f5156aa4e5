"""Why the model predicts what it does: per-row column contributions and global importance."""

from __future__ import annotations

import json
import time

import numpy as np
import scipy.sparse as sp

from .encoders.base import Matrix
from .features import FeatureLayout
from .mixers.base import Mixer

TOP_COLUMNS = 3
_IMPORTANCE_ROWS = 2000


def ensemble_contributions(mixers: dict[str, Mixer], weights: dict[str, float], x: Matrix,
                           layout: FeatureLayout, classes: np.ndarray | None) -> np.ndarray:
    """Weighted sum of each kept mixer's per-column contributions (rows x columns). A mixer that
    does not explain itself (a user's own may not: Mixer.contributions is optional) is left out,
    and the others' weights are scaled up to make up its share."""
    groups = layout.group_matrix()
    total, explained = np.zeros((x.shape[0], groups.shape[1])), 0.0
    for name, weight in weights.items():
        try:
            total += weight * mixers[name].contributions(x, groups, classes)
        except NotImplementedError:
            continue
        explained += weight
    return total / explained if explained else total


def explanation_json(columns: list[str], contributions: np.ndarray, extras: list[dict]) -> list[str]:
    """One JSON object per row: the top columns by absolute contribution, plus ``extras[row]``."""
    order = np.argsort(-np.abs(contributions), axis=1)[:, :TOP_COLUMNS]
    rows = []
    for row, top in enumerate(order):
        drivers = [{"column": columns[i], "contribution": round(float(contributions[row, i]), 6)}
                   for i in top if contributions[row, i] != 0]
        rows.append(json.dumps({"top_columns": drivers, **extras[row]}))
    return rows


def _permute_block(x: Matrix, keep: np.ndarray, permutation: np.ndarray) -> Matrix:
    if sp.issparse(x):
        mask = sp.diags(keep.astype("float32"))
        return (x @ mask + x[permutation] @ sp.diags(1.0 - keep.astype("float32"))).tocsr()
    out = x.copy()
    columns = np.flatnonzero(~keep)
    out[:, columns] = x[permutation][:, columns]
    return out


def permutation_importance(score, x: Matrix, y: np.ndarray, layout: FeatureLayout, seed: int,
                           deadline: float) -> dict[str, float]:
    """Drop in held-out score when one column's features are shuffled, normalised to sum to 1.

    ``score(x, y)`` returns the primary metric of the final model on rows ``x`` (higher is better).
    Uses fewer rows when scoring every column on all of them would pass ``deadline``.
    """
    rng = np.random.default_rng(seed)
    if x.shape[0] > _IMPORTANCE_ROWS:
        rows = np.sort(rng.choice(x.shape[0], _IMPORTANCE_ROWS, replace=False))
        x, y = x[rows], y[rows]
    started = time.monotonic()
    baseline = score(x, y)
    per_column = max(time.monotonic() - started, 1e-6)
    affordable = (deadline - time.monotonic()) / (per_column * max(len(layout.columns), 1))
    if affordable < 1 and x.shape[0] > 100:
        keep = np.sort(rng.choice(x.shape[0], max(100, int(x.shape[0] * affordable)), replace=False))
        x, y = x[keep], y[keep]
        baseline = score(x, y)
    permutation = rng.permutation(x.shape[0])
    drops = {}
    for index, column in enumerate(layout.columns):
        keep = layout.feature_column != index
        drops[column] = max(0.0, baseline - score(_permute_block(x, keep, permutation), y))
    total = sum(drops.values())
    if total <= 0:
        return dict.fromkeys(drops, round(1.0 / max(len(drops), 1), 6))
    return {column: round(drop / total, 6) for column, drop in drops.items()}
