"""Gradient-boosted trees (LightGBM) mixer."""

from __future__ import annotations

import copy
import time

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp

from ..encoders.base import Matrix
from ..tasks import BINARY, MULTICLASS
from .base import Mixer, TrainingData, per_class

_MAX_ROUNDS = 3000
# Explanations use the first trees only: TreeSHAP cost grows with every tree, while the first
# few hundred carry nearly all of the signal (the rest refine residuals).
_EXPLAIN_TREES = 200
_PATIENCE = 100
_SMALL_BATCH = 2000  # below this many rows, prediction threads cost more than they save


class LightGBMMixer(Mixer):
    """LightGBM with early stopping on held-out loss; leaves and learning rate scale with data size."""

    name = "LightGBM"

    def _params(self, data: TrainingData) -> dict:
        n = data.x_train.shape[0]
        params = {
            "objective": "regression",
            "learning_rate": 0.05 if n < 10_000 else 0.08,
            "num_leaves": 15 if n < 2_000 else 31,
            "min_data_in_leaf": int(min(20, max(3, n // 100))),
            "feature_fraction": 0.8,
            "bagging_fraction": 0.85,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "verbose": -1,
            "seed": data.seed,
            "num_threads": data.threads,
            "deterministic": True,
            "force_row_wise": True,
        }
        if data.task.kind == BINARY:
            params["objective"] = "binary"
        elif data.task.kind == MULTICLASS:
            params.update(objective="multiclass", num_class=data.task.n_classes)
        return params

    def fit(self, data: TrainingData, deadline: float) -> None:
        self.task = data.task
        self.params, self.n_train = self._params(data), data.x_train.shape[0]
        train = lgb.Dataset(data.x_train, data.y_train, free_raw_data=True)
        valid = lgb.Dataset(data.x_valid, data.y_valid, reference=train)
        history: dict = {}

        def stop_at_deadline(env: lgb.callback.CallbackEnv) -> None:
            if time.monotonic() > deadline:
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

        booster = lgb.train(
            self.params, train, num_boost_round=_MAX_ROUNDS, valid_sets=[valid], valid_names=["valid"],
            callbacks=[lgb.early_stopping(_PATIENCE, verbose=False), lgb.record_evaluation(history),
                       stop_at_deadline],
        )
        losses = next(iter(history["valid"].values()))
        self.best_iteration = int(np.argmin(losses)) + 1
        self.booster = booster

    def refit(self, x: Matrix, y: np.ndarray, deadline: float, threads: int) -> LightGBMMixer | None:
        """Retrain on every row for the early-stopped number of rounds, scaled by the growth in
        rows (more data supports proportionally more rounds at the same learning rate)."""
        rounds = int(np.ceil(self.best_iteration * x.shape[0] / self.n_train))
        stopped = []

        def stop_at_deadline(env: lgb.callback.CallbackEnv) -> None:
            if time.monotonic() > deadline:
                stopped.append(env.iteration)
                raise lgb.callback.EarlyStopException(env.iteration, [])

        booster = lgb.train({**self.params, "num_threads": threads}, lgb.Dataset(x, y), num_boost_round=rounds,
                            callbacks=[stop_at_deadline])
        if stopped:  # an under-trained refit would be worse than the hold-out model
            return None
        refitted = copy.copy(self)
        refitted.booster, refitted.best_iteration = booster, rounds
        return refitted

    def _threads(self, x: Matrix) -> int:
        return 1 if x.shape[0] < _SMALL_BATCH else 0

    def predict(self, x: Matrix) -> np.ndarray:
        out = self.booster.predict(x, num_iteration=self.best_iteration, num_threads=self._threads(x))
        if self.task.kind == BINARY:
            return np.column_stack([1.0 - out, out])
        return out

    def contributions(self, x: Matrix, groups: sp.csr_matrix, classes: np.ndarray | None) -> np.ndarray:
        raw = self.booster.predict(x, num_iteration=min(self.best_iteration, _EXPLAIN_TREES), pred_contrib=True,
                                   num_threads=self._threads(x))
        if isinstance(raw, list):  # sparse input, multiclass: one sparse matrix per class
            raw = np.stack([m.toarray() for m in raw], axis=2)
        elif sp.issparse(raw):
            raw = raw.toarray()
        n_features = groups.shape[0]
        if self.task.kind == MULTICLASS and raw.ndim == 2:
            raw = raw.reshape(raw.shape[0], self.task.n_classes, n_features + 1).transpose(0, 2, 1)
        raw = raw[:, :n_features] if raw.ndim == 2 else raw[:, :n_features, :]
        picked = per_class(raw, classes, self.task.n_classes)
        return np.asarray(picked @ groups)
