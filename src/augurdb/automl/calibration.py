"""Calibrated class probabilities: what ``<target>_confidence`` states for a class.

A mixer's probabilities are scores, often over- or under-confident (an early-stopped net, a
boosted model with many rounds). They are rescaled on held-out outputs (out-of-fold under
cross-validation): ``softmax(a * log(p) + b)``, one shared scale ``a`` and one bias per class,
fitted by maximum likelihood. For two classes this is Platt scaling; for more it is temperature
scaling with class biases. The decision (which class is predicted) is left to the decision rule;
calibration only changes the probability stated for it.

The calibration a user is told about is measured, not assumed: :func:`measured_error` fits on one
half of the held-out rows and scores the other half, both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

_FLOOR = 1e-12  # probabilities are clipped here before the logarithm
_BIAS_PENALTY = 1e-3  # ridge on the biases: few held-out rows of a class must not push its bias far
_BINS = 10


@dataclass
class ProbabilityCalibration:
    """``softmax(scale * log(p) + bias)``; the identity is scale 1, biases 0."""

    scale: float = 1.0
    bias: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, proba: np.ndarray, y: np.ndarray) -> ProbabilityCalibration:
        """Maximum-likelihood scale and biases from held-out probabilities and true class codes."""
        logs = np.log(np.clip(proba, _FLOOR, 1.0))
        onehot = np.eye(proba.shape[1])[y]
        n, k = proba.shape

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            scale, bias = np.exp(params[0]), params[1:]
            z = scale * logs + bias
            z -= z.max(axis=1, keepdims=True)
            log_q = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            q = np.exp(log_q)
            nll = -(onehot * log_q).sum() / n + _BIAS_PENALTY * float(bias @ bias)
            residual = (q - onehot) / n
            gradient = np.concatenate([[scale * float((residual * logs).sum())],
                                       residual.sum(axis=0) + 2 * _BIAS_PENALTY * bias])
            return float(nll), gradient

        result = minimize(loss, np.zeros(k + 1), jac=True, method="L-BFGS-B",
                          bounds=[(-4.0, 4.0)] + [(-10.0, 10.0)] * k)
        if not result.success and not np.isfinite(result.fun):
            return cls(1.0, [0.0] * k)
        return cls(float(np.exp(result.x[0])), [float(b) for b in result.x[1:]])

    def __call__(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (rows x classes, each row summing to 1)."""
        z = self.scale * np.log(np.clip(proba, _FLOOR, 1.0))
        if self.bias:
            z = z + np.asarray(self.bias)
        z -= z.max(axis=1, keepdims=True)
        q = np.exp(z)
        return q / q.sum(axis=1, keepdims=True)

    def as_dict(self) -> dict:
        return {"scale": round(self.scale, 4), "bias": [round(b, 4) for b in self.bias]}


def expected_calibration_error(stated: np.ndarray, correct: np.ndarray, bins: int = _BINS) -> float:
    """Mean |share correct - stated probability| over equal-width bins of the stated probability,
    weighted by rows per bin."""
    if not len(stated):
        return 0.0
    index = np.clip((np.asarray(stated) * bins).astype(int), 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    gaps = np.abs(np.bincount(index, weights=correct.astype(float), minlength=bins)
                  - np.bincount(index, weights=stated, minlength=bins))
    return float(gaps[counts > 0].sum() / len(stated))


def stated_confidence(proba: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """The probability of each row's predicted class."""
    return proba[np.arange(len(decided)), decided]


def measured_error(proba: np.ndarray, y: np.ndarray, decided: np.ndarray, seed: int) -> float | None:
    """Expected calibration error of the stated confidence on held-out rows the calibration was
    not fitted on (two halves, each scored by a calibration fitted on the other); None for too
    few rows to say."""
    if len(y) < 40:
        return None
    half = np.random.default_rng(seed).permutation(len(y)) % 2 == 0
    stated = np.empty(len(y))
    for part in (half, ~half):
        calibration = ProbabilityCalibration.fit(proba[~part], y[~part])
        stated[part] = stated_confidence(calibration(proba[part]), decided[part])
    return expected_calibration_error(stated, decided == y)
