"""What a mixer costs to predict, and keeping a model within ``USING infer_limit``.

``infer_limit`` (AutoGluon's name) is the kept mixers' predict time per row, in seconds: a model
JOIN over many rows runs at most at the pace its mixers predict. Times are wall-clock, as in
AutoGluon, on batches of TIMED_ROWS rows with the mixers' own threads, on the machine that trains.
2,000 rows gave the same rate as 10,000 within a few percent (LightGBM, the nets) at a fifth of
the cost, which on text (the nets densify wide rows) was 10 s of a 60 s budget. CPU time was tried and was no steadier
here: a process's CPU clock also counts the thread pools that spin after their last task. Reading
and encoding the inputs come on top, and are the same whichever mixers are kept.
"""

from __future__ import annotations

import time

import numpy as np

from .encoders.base import Matrix
from .mixers.base import BaggedMixer, Mixer

TIMED_ROWS = 2000
# Without USING infer_limit: 100 µs a row, a million rows in under two minutes of predicting.
# It binds on bags of many slow members (repeated k-fold of thousand-tree models), which it trims,
# and on the conv nets' fold bags (~40 µs a member); a single model of the usual size predicts in
# a few microseconds a row.
DEFAULT_INFER_LIMIT = 1e-4
_REPEAT_BELOW_S = 0.05


def timing_rows(x: Matrix) -> Matrix:
    """TIMED_ROWS rows of ``x`` (repeated when it has fewer)."""
    return x[np.arange(TIMED_ROWS) % x.shape[0]]


def seconds_per_row(mixer: Mixer, rows: Matrix) -> float:
    """Wall-clock predict time per row of ``mixer`` on ``rows``. A quick first run is repeated
    and the faster kept: it may have paid one-time set-up, or a moment of a busy machine. A bag
    costs its members' sum, and they are alike: one is timed."""
    if isinstance(mixer, BaggedMixer):
        return len(mixer.members) * seconds_per_row(mixer.members[0], rows)
    best = np.inf
    for _ in range(2):
        started = time.perf_counter()
        mixer.predict(rows)
        best = min(best, time.perf_counter() - started)
        if best > _REPEAT_BELOW_S:
            break
    return float(best) / rows.shape[0]


def trim_bag(bag: BaggedMixer, cost: float, limit: float, folds: int) -> tuple[BaggedMixer, float]:
    """The bag with only as many k-fold rounds as fit in ``limit`` (at least one), and its cost.

    A bag's cost is the sum of its members'. Whole rounds are kept, so every row of the table
    still has members that were trained without it and the bag stays balanced over the folds.
    """
    rounds = len(bag.members) // max(folds, 1)
    if cost <= limit or rounds <= 1:
        return bag, cost
    keep = max(1, int(rounds * limit / cost))
    trimmed = BaggedMixer(bag.members[:keep * folds], bag.rounds)
    return trimmed, cost * keep / rounds
