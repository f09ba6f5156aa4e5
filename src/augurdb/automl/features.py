"""The encoded feature matrix shared by all mixers, and the map from features back to columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp

from .encoders.base import ColumnEncoder, Matrix


@dataclass
class FeatureLayout:
    """Which source column each encoded feature came from (for explanations and importance)."""

    columns: list[str]
    feature_column: np.ndarray  # index into ``columns`` for each feature
    feature_names: list[str]
    category_codes: tuple[int, ...] = ()  # features that hold category codes (ColumnEncoder.category_codes)

    @classmethod
    def from_encoders(cls, encoders: dict[str, ColumnEncoder]) -> FeatureLayout:
        """Layout of the matrix built by :func:`assemble` from these encoders, in their order."""
        columns = list(encoders)
        owner: list[int] = []
        names: list[str] = []
        codes: list[int] = []
        for index, encoder in enumerate(encoders.values()):
            codes += [len(names) + code for code in encoder.category_codes]
            owner += [index] * len(encoder.feature_names)
            names += list(encoder.feature_names)
        return cls(columns, np.asarray(owner, dtype=np.int64), names, tuple(codes))

    @property
    def n_features(self) -> int:
        """Width of the encoded matrix."""
        return len(self.feature_names)

    def group_matrix(self) -> sp.csr_matrix:
        """(features x columns) 0/1 matrix: ``contributions @ G`` sums features per column."""
        n = self.n_features
        return sp.csr_matrix((np.ones(n), (np.arange(n), self.feature_column)), shape=(n, len(self.columns)))

    def column_slices(self) -> list[np.ndarray]:
        """Feature indices of each column, in column order."""
        return [np.flatnonzero(self.feature_column == i) for i in range(len(self.columns))]


def assemble(blocks: list[Matrix]) -> Matrix:
    """Join per-column blocks: a dense float32 array, or CSR when any block is sparse (text)."""
    if any(sp.issparse(block) for block in blocks):
        return sp.hstack([sp.csr_matrix(block) for block in blocks], format="csr", dtype="float32")
    # Filled in place: hstack would build a float64 matrix of mixed blocks, then copy it to float32.
    out = np.empty((blocks[0].shape[0], sum(block.shape[1] for block in blocks)), dtype="float32")
    start = 0
    for block in blocks:
        out[:, start:start + block.shape[1]] = block
        start += block.shape[1]
    return out


def take_rows(matrix: Matrix, rows: np.ndarray) -> Matrix:
    """Rows of a dense or sparse matrix."""
    return matrix[rows]


def to_dense(matrix: Matrix) -> np.ndarray:
    """A dense float32 copy (sparse batches are densified only when a mixer needs it)."""
    if sp.issparse(matrix):  # scipy is untyped, so issparse does not narrow the union
        return cast(sp.csr_matrix, matrix).toarray().astype("float32")
    return np.asarray(matrix, dtype="float32")
