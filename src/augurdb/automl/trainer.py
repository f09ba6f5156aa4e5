"""ModelTrainer: train each mixer under its share of the budget, score it on held-out rows,
then keep the best weighted ensemble and tune the class decision rule."""

from __future__ import annotations

import logging
import time

import numpy as np

from .bus import LearnBus
from .mixers import BUDGET_SHARES, MIXERS, BaggedMixer, TrainingData
from .model import CandidateReport
from .selection import DecisionRule, blend, greedy_ensemble, tune_decision

log = logging.getLogger(__name__)

_MIN_SECONDS = 0.5  # a mixer offered less than this is skipped rather than started
_TINY_ROWS = 50  # below this, only the simple mixers are tried
_SIMPLE = ("Linear", "LightGBM")
# Kept free for Analysis (calibration, importance): a share of the budget, at least this long.
_ANALYSIS_SHARE, _ANALYSIS_MIN = 0.12, 0.5


def _mixer_names(bus: LearnBus) -> list[str]:
    names = list(bus.options.mixers)
    if len(bus.y) < _TINY_ROWS:
        names = [n for n in names if n in _SIMPLE] or names
    return names


def _train_one(bus: LearnBus, name: str, deadline: float) -> tuple[object, np.ndarray]:
    """Train ``name`` on every fold; return the (bagged) mixer and its held-out outputs."""
    folds = bus.split.folds
    members, held_out = [], {}
    for index, (train, valid) in enumerate(folds):
        fold_deadline = time.monotonic() + (deadline - time.monotonic()) / (len(folds) - index)
        mixer = MIXERS[name]()
        data = TrainingData(bus.x[train], bus.y[train], bus.x[valid], bus.y[valid], bus.task,
                            seed=bus.seed + index, threads=bus.options.threads)
        mixer.fit(data, fold_deadline)
        members.append(mixer)
        held_out.update(zip(valid.tolist(), mixer.predict(bus.x[valid]), strict=True))
    rows = bus.split.evaluation_rows
    output = np.array([held_out[r] for r in rows])
    return (members[0] if len(members) == 1 else BaggedMixer(members)), output


def _score(bus: LearnBus, output: np.ndarray) -> float:
    y = bus.y[bus.split.evaluation_rows]
    if bus.task.is_classification:
        rule = tune_decision(output, y, bus.task) if bus.options.tune_threshold else DecisionRule()
        return bus.task.score(y, rule.decide(output))
    return bus.task.score(y, output)


def train_mixers(bus: LearnBus) -> None:
    """Fill ``bus.candidates``, ``bus.trained`` and ``bus.outputs``."""
    names = _mixer_names(bus)
    reserve = max(_ANALYSIS_MIN, _ANALYSIS_SHARE * bus.budget)
    for position, name in enumerate(names):
        remaining_share = sum(BUDGET_SHARES[n] for n in names[position:])
        available = bus.seconds_left() - reserve
        allotted = available * BUDGET_SHARES[name] / remaining_share
        if allotted < _MIN_SECONDS and bus.trained:
            bus.candidates.append(CandidateReport(name, None, 0.0, status="skipped: out of time budget"))
            continue
        started = time.monotonic()
        try:
            mixer, output = _train_one(bus, name, started + max(allotted, _MIN_SECONDS))
        except Exception as error:  # one failing mixer must not sink the others
            log.warning("mixer %s failed: %s", name, error)
            bus.candidates.append(CandidateReport(name, None, time.monotonic() - started, status=f"failed: {error}"))
            continue
        elapsed = time.monotonic() - started
        if not np.all(np.isfinite(output)):
            bus.candidates.append(CandidateReport(name, None, elapsed, status="failed: non-finite outputs"))
            continue
        bus.trained[name], bus.outputs[name] = mixer, output
        bus.candidates.append(CandidateReport(name, round(_score(bus, output), 6), round(elapsed, 3)))


def choose_ensemble(bus: LearnBus) -> None:
    """Set ``bus.weights`` (and ``bus.decision`` for classes) from held-out outputs."""
    y = bus.y[bus.split.evaluation_rows]
    if bus.options.ensemble:
        bus.weights = greedy_ensemble(bus.outputs, y, bus.task)
    else:
        best = max((c for c in bus.candidates if c.name in bus.outputs), key=lambda c: c.performance)
        bus.weights = {best.name: 1.0}
    for candidate in bus.candidates:
        candidate.selected = candidate.name in bus.weights
    if bus.task.is_classification:
        blended = blend(bus.outputs, bus.weights)
        bus.decision = tune_decision(blended, y, bus.task) if bus.options.tune_threshold else DecisionRule()
