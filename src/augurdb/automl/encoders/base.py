"""The contract every column encoder follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp

Matrix: TypeAlias = np.ndarray | sp.csr_matrix


@dataclass(frozen=True)
class TargetView:
    """What a supervised encoder may learn from: encoded target values on the rows it is fitted on.

    ``values`` are class codes (0..n_classes-1) for classification and floats for regression.
    """

    values: np.ndarray
    n_classes: int  # 0 for regression
    seed: int = 0
    deadline: float | None = None  # time.monotonic() by which trained encoders must stop


class ColumnEncoder:
    """Turns one column's canonical values into numeric features.

    ``fit_transform`` is called once on the training rows (supervised encoders must not leak a
    row's own target into its features there); ``transform`` then serves every other row.
    """

    name = "encoder"
    feature_names: list[str]
    # Which of its features hold category codes (0, 1, 2, ... per label, NaN for none): labels,
    # not amounts (TrainingData.categorical).
    category_codes: tuple[int, ...] = ()

    def fit_transform(self, values, target: TargetView) -> Matrix:
        """Learn the encoding from the training rows and return their features."""
        raise NotImplementedError

    def transform(self, values) -> Matrix:
        """Features for rows not used to fit the encoder."""
        raise NotImplementedError

    def fold_features(self, values, fit_rows: np.ndarray, target: TargetView) -> Matrix | None:
        """Under cross-validation (the encoder was fitted on every row): the features of all
        ``values`` as if it had been fitted on ``fit_rows`` alone, so a fold's held-out rows are
        encoded without their own targets. None: this encoder's features use no target."""
        return None
