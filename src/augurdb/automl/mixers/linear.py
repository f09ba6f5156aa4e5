"""Linear mixer: ridge regression or logistic regression, regularisation chosen on held-out rows."""

from __future__ import annotations

import copy
import time
import warnings
from typing import cast

import numpy as np
import scipy.sparse as sp
import sklearn.base
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge

from ..encoders.base import Matrix
from .base import Mixer, TrainingData, amounts_only, per_class, take_features

_STRENGTHS = (1.0, 0.1, 10.0, 0.01, 100.0)  # tried in this order until the deadline


class LinearMixer(Mixer):
    """Ridge (numbers) or multinomial logistic regression (classes) over the encoded features."""

    name = "Linear"
    amounts: np.ndarray | None = None  # the features it reads, without category codes (base.amounts_only)

    def _model(self, data: TrainingData, strength: float):
        if data.task.is_classification:
            return LogisticRegression(C=1.0 / strength, max_iter=300, tol=1e-3)
        return Ridge(alpha=strength * 10)

    def fit(self, data: TrainingData, deadline: float) -> None:
        data, self.amounts = amounts_only(data)
        self.task = data.task
        best_loss = np.inf
        for strength in _STRENGTHS:
            if time.monotonic() > deadline and best_loss < np.inf:
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = self._model(data, strength).fit(data.x_train, data.y_train)
            loss = data.task.loss(data.y_valid, self._output(model, data.x_valid))
            if loss < best_loss:
                best_loss, self.model, self.strength = loss, model, strength
        self.feature_mean = np.asarray(data.x_train.mean(axis=0)).ravel()

    def refit(self, x: Matrix, y: np.ndarray, deadline: float, threads: int) -> LinearMixer | None:
        """Retrain on every row with the regularisation strength chosen on held-out rows."""
        refitted = copy.copy(self)
        x = take_features(x, self.amounts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            refitted.model = sklearn.base.clone(self.model).fit(x, y)
        refitted.feature_mean = np.asarray(x.mean(axis=0)).ravel()
        return refitted

    def _output(self, model, x: Matrix) -> np.ndarray:
        if not self.task.is_classification:
            return model.predict(x)
        proba = np.zeros((x.shape[0], self.task.n_classes))
        proba[:, model.classes_.astype(int)] = model.predict_proba(x)
        return proba

    def predict(self, x: Matrix) -> np.ndarray:
        return self._output(self.model, take_features(x, self.amounts))

    def _coefficients(self) -> np.ndarray:
        """Coefficients as (outputs, features), one row per class for multiclass models."""
        coef = np.atleast_2d(self.model.coef_)
        if self.task.n_classes > 2 and coef.shape[0] != self.task.n_classes:
            full = np.zeros((self.task.n_classes, coef.shape[1]))
            full[self.model.classes_.astype(int)] = coef
            return full
        return coef

    def contributions(self, x: Matrix, groups: sp.csr_matrix, classes: np.ndarray | None) -> np.ndarray:
        coef = self._coefficients()
        x = take_features(x, self.amounts)
        if self.amounts is not None:
            groups = groups[self.amounts]
        per_output = []
        for k in range(coef.shape[0]):
            scaled = cast(sp.csr_matrix, x).multiply(coef[k]).tocsr() if sp.issparse(x) else x * coef[k]
            # Relative to the average training row, so a column at its mean contributes nothing.
            grouped = scaled @ groups
            grouped = grouped.toarray() if sp.issparse(grouped) else np.asarray(grouped)
            per_output.append(grouped - (self.feature_mean * coef[k]) @ groups)
        stacked = np.stack(per_output, axis=2)
        if coef.shape[0] == 1:
            stacked = stacked[..., 0]
        return per_class(stacked, classes, self.task.n_classes)
