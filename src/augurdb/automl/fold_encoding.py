"""Encoders fitted inside each cross-validation fold, where they learn from the target."""

from __future__ import annotations

import time

import numpy as np

from .bus import LearnBus
from .encoders import TargetView
from .encoders.base import Matrix
from .features import assemble


def fold_matrix(bus: LearnBus, fit_rows: np.ndarray) -> Matrix:
    """The feature matrix a fold's mixers train and are scored on: under cross-validation, the
    supervised encoders (target statistics, the GRU text encoder) learn from the fold's training
    rows only, so no held-out row is encoded with its own target (or its fold's). Other encoders
    use no target; their features stay. A fold's re-encoding may take a k-th of what fitting the
    encoders on every row took, so each k-fold round re-encodes in about that time."""
    assert bus.x is not None and bus.y is not None and bus.task is not None  # set by encode_data
    if not bus.fold_inputs:
        return bus.x
    key = fit_rows.tobytes()
    if key not in bus.fold_matrices:
        assert bus.split is not None  # set by encode_data, as bus.fold_inputs is
        deadline = time.monotonic() + bus.encoding_seconds / len(bus.split.folds)
        target = TargetView(bus.y, bus.task.n_classes, bus.seed, deadline)
        blocks = list(bus.blocks)
        for position, name in enumerate(bus.input_columns):
            if name in bus.fold_inputs:
                block = bus.encoders[name].fold_features(bus.fold_inputs[name], fit_rows, target)
                blocks[position] = blocks[position] if block is None else block
        bus.fold_matrices[key] = assemble(blocks)
    return bus.fold_matrices[key]
