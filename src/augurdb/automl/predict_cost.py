"""What a mixer costs to predict, and keeping a model within ``USING infer_limit``.

``infer_limit`` (AutoGluon's name) is the kept mixers' predict time per row, in seconds: a model
JOIN over many rows runs at most at the pace its mixers predict. Times are wall-clock, as in
AutoGluon, on batches of TIMED_ROWS rows with the mixers' own threads, on the machine that trains.
2,000 rows gave the same rate as 10,000 within a few percent (LightGBM, the nets) at a fifth of
the cost, which on text was 10 s of a 60 s budget. CPU time was tried and was no steadier here:
a process's CPU clock also counts the thread pools that spin after their last task. Reading and
encoding the inputs come on top, and are the same whichever mixers are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .encoders.base import Matrix
from .mixers.base import BaggedMixer, Mixer

TIMED_ROWS = 2000
# Without USING infer_limit: 100 µs a row, a million rows in under two minutes of predicting.
# It binds on bags of many slow members (repeated k-fold of thousand-tree models), which it trims,
# and on the conv nets' fold bags (~40 µs a member); a single model of the usual size predicts in
# a few microseconds a row.
DEFAULT_INFER_LIMIT = 1e-4
# Timed runs of one predict: the fastest is its cost. A busy machine only ever slows a run, and
# one slow run of a mixer sized to 90% of the limit dropped it at selection (nyc_flights_100k:
# LightGBM, held-out R² 0.986, left out for the nets' 0.971 while tests ran on the other core).
_TIMED_RUNS, _TIMING_SECONDS = 3, 0.3


def timing_rows(x: Matrix) -> Matrix:
    """TIMED_ROWS rows of ``x`` (repeated when it has fewer)."""
    return x[np.arange(TIMED_ROWS) % x.shape[0]]


def fastest_seconds(run: Callable[[], object]) -> float:
    """The fastest of up to _TIMED_RUNS wall-clock runs of ``run``, fewer once they have taken
    _TIMING_SECONDS: a long run spans more than a moment of someone else's load."""
    best, spent = np.inf, 0.0
    for _ in range(_TIMED_RUNS):
        started = time.perf_counter()
        run()
        took = time.perf_counter() - started
        best, spent = min(best, took), spent + took
        if spent > _TIMING_SECONDS:
            break
    return float(best)


def seconds_per_row(mixer: Mixer, rows: Matrix) -> float:
    """Wall-clock predict time per row of ``mixer`` on ``rows`` (the fastest of a few runs: the
    first may also pay one-time set-up)."""
    return fastest_seconds(lambda: mixer.predict(rows)) / rows.shape[0]


def bag_within_limit(bag: BaggedMixer, rows: Matrix, limit: float, folds: int) -> tuple[BaggedMixer, float]:
    """The bag with only as many k-fold rounds as fit in ``limit`` (at least one), and its cost.

    A bag costs the sum of its members, and members differ (each fold chose its own parameters:
    a linear-tree LightGBM predicts several times slower than one of constant leaves), so each
    is timed, round by round, until the next round would break the limit. Whole rounds are kept,
    so every row of the table still has members that were trained without it and the bag stays
    balanced over the folds.
    """
    folds = max(folds, 1)
    kept, cost = 0, 0.0
    for start in range(0, len(bag.members), folds):
        round_cost = sum(seconds_per_row(member, rows) for member in bag.members[start : start + folds])
        if kept and cost + round_cost > limit:
            break
        kept, cost = kept + 1, cost + round_cost
    if kept * folds >= len(bag.members):
        return bag, cost
    return BaggedMixer(bag.members[: kept * folds], bag.rounds), cost
