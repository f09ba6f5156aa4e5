"""ModelTrainer: train each mixer under its share of the budget, score it on held-out rows,
then keep the best weighted ensemble and tune the class decision rule.

Time the mixers leave unused (they stop early on small tables) goes to variance reduction:
repeated k-fold on cross-validated tables (more fold models to average, and held-out outputs
averaged over several shuffles, so model choice is less noisy), or refitting the kept mixers on
every row for hold-out tables (``refit_kept``).
"""

from __future__ import annotations

import logging
import time
from typing import cast

import numpy as np

from .bus import LearnBus
from .fold_encoding import fold_matrix
from .mixers import BaggedMixer, TrainingData, registry
from .model import CandidateReport
from .predict_cost import bag_within_limit, seconds_per_row, timing_rows
from .selection import DecisionRule, blend, greedy_ensemble, tune_decision
from .splits import HOLDOUT_SHARE, Split

log = logging.getLogger(__name__)

_MIN_SECONDS = 0.5  # a mixer offered less than this is skipped rather than started
_TINY_ROWS = 50  # below this, only the simple mixers are tried
_SIMPLE = ("Linear", "LightGBM")
# Kept free for Analysis (calibration, importance): a share of the budget, at least this long.
_ANALYSIS_SHARE, _ANALYSIS_MIN = 0.12, 0.5
# Repeated k-fold: at most this many shuffles in all (members per mixer = folds x rounds, which
# bounds predict cost), and a round starts only if its expected cost, the last round's time
# times this margin, fits in what is left.
_MAX_ROUNDS, _ROUND_MARGIN = 5, 1.5
_MIN_REFIT_GAIN = 0.5  # a refit narrows intervals at most to half
# Compiling the kept mixers for speed (Mixer.compile: LightGBM's trees to machine code) may take
# this share of the budget beyond it: it changes no prediction, and every model JOIN gains.
_COMPILE_SHARE = 0.25


def _reserve(bus: LearnBus) -> float:
    return max(_ANALYSIS_MIN, _ANALYSIS_SHARE * bus.budget)


def _mixer_names(bus: LearnBus) -> list[str]:
    names = list(bus.options.mixers)
    assert bus.y is not None  # set by vectorize_data
    if len(bus.y) < _TINY_ROWS:
        names = [n for n in names if n in _SIMPLE] or names
    return names


def _fit_folds(bus: LearnBus, name: str, split: Split, deadline: float, seed: int,
               repeat: int = 0) -> tuple[list, np.ndarray]:
    """Train ``name`` on every fold of ``split``; return the fold models and held-out outputs."""
    round_text = f" (repeat {repeat} of the k-fold)" if repeat else ""
    assert bus.x is not None and bus.y is not None and bus.task is not None and bus.layout is not None  # set by earlier phases
    members = []
    held_out: dict[int, object] = {}  # row -> its held-out output (a value or class probabilities)
    for index, (train, valid) in enumerate(split.folds):
        bus.progress.step(f"{name}{round_text}, fold {index + 1}/{len(split.folds)}" if len(split.folds) > 1
                          else f"{name}{round_text}")
        # First, as a fold's re-encoding (a GRU text encoder trains) is no part of the mixer's fit.
        x = fold_matrix(bus, train) if split.strategy == "cross_validation" else bus.x
        fold_deadline = time.monotonic() + (deadline - time.monotonic()) / (len(split.folds) - index)
        mixer = registry.build(name, bus.options.mixer_args.get(name))
        # Each fold model is one member of the bag that predicts, so each gets its share of the limit.
        data = TrainingData(x[train], bus.y[train], x[valid], bus.y[valid], bus.task,
                            seed=seed + index, threads=bus.options.threads,
                            infer_limit=bus.options.infer_limit / len(split.folds),
                            categorical=bus.layout.category_codes)
        mixer.fit(data, fold_deadline)
        members.append(mixer)
        held_out.update(zip(valid.tolist(), mixer.predict(x[valid]), strict=True))
    output = np.array([held_out[r] for r in split.evaluation_rows])
    return members, output


def _bagged(members: list, rounds: int = 1):
    return members[0] if len(members) == 1 else BaggedMixer(members, rounds)


def _score(bus: LearnBus, output: np.ndarray) -> float:
    assert bus.y is not None and bus.split is not None and bus.task is not None  # set by earlier phases
    y = bus.y[bus.split.evaluation_rows]
    if bus.task.is_classification:
        rule = tune_decision(output, y, bus.task) if bus.options.tune_threshold else DecisionRule()
        return bus.task.score(y, rule.decide(output))
    return bus.task.score(y, output)


def train_mixers(bus: LearnBus) -> None:
    """Fill ``bus.candidates``, ``bus.trained`` and ``bus.outputs``."""
    assert bus.split is not None  # set by encode_data
    names = _mixer_names(bus)
    reserve = _reserve(bus)
    for position, name in enumerate(names):
        remaining_share = sum(registry.budget_share(n) for n in names[position:])
        available = bus.seconds_left() - reserve
        allotted = available * registry.budget_share(name) / remaining_share
        if allotted < _MIN_SECONDS and bus.trained:
            bus.candidates.append(CandidateReport(name, None, 0.0, status="skipped: out of time budget"))
            continue
        try:
            # Built once before the clock starts: the first neural mixer imports torch and starts
            # its thread pool (a second or more on a busy machine), which is no part of its fit.
            registry.build(name, bus.options.mixer_args.get(name)).warm_up()
        except Exception as error:
            log.warning("mixer %s could not start: %s", name, error)
            bus.candidates.append(CandidateReport(name, None, 0.0, status=f"failed: {error}"))
            continue
        started = time.monotonic()
        try:
            members, output = _fit_folds(bus, name, bus.split, started + max(allotted, _MIN_SECONDS), bus.seed)
        except Exception as error:  # one failing mixer must not sink the others
            log.warning("mixer %s failed: %s", name, error)
            bus.candidates.append(CandidateReport(name, None, time.monotonic() - started, status=f"failed: {error}"))
            continue
        elapsed = time.monotonic() - started
        if not np.all(np.isfinite(output)):
            bus.candidates.append(CandidateReport(name, None, elapsed, status="failed: non-finite outputs"))
            continue
        bus.trained[name], bus.outputs[name] = _bagged(members), output
        bus.candidates.append(CandidateReport(name, round(_score(bus, output), 6), round(elapsed, 3)))


def repeat_cross_validation(bus: LearnBus) -> None:
    """Repeated k-fold with the time the first round left: each further round reshuffles the
    folds and retrains every mixer; fold models join the mixer's bag, and each row's held-out
    output becomes the mean over rounds of outputs from models that never saw it."""
    assert bus.split is not None  # set by encode_data
    if bus.split.strategy != "cross_validation":
        return
    candidates = {c.name: c for c in bus.candidates if c.name in bus.trained}
    members = {name: list(getattr(bus.trained[name], "members", [bus.trained[name]])) for name in candidates}
    sums = {name: bus.outputs[name].copy() for name in candidates}
    cost = {name: max(c.training_time, 0.01) for name, c in candidates.items()}
    for repeat in range(1, _MAX_ROUNDS):
        if sum(cost.values()) * _ROUND_MARGIN > bus.seconds_left() - _reserve(bus):
            break
        split = bus.split.reshuffled(bus.seed + repeat)
        for name in list(cost):
            started = time.monotonic()
            try:
                new, output = _fit_folds(bus, name, split, started + cost[name] * _ROUND_MARGIN,
                                         bus.seed + 100 * repeat, repeat)
            except Exception as error:  # keep what earlier rounds gave; stop repeating this mixer
                log.warning("mixer %s failed in repeat %d: %s", name, repeat, error)
                del cost[name]
                continue
            if not np.all(np.isfinite(output)):
                del cost[name]
                continue
            cost[name] = time.monotonic() - started
            members[name] += new
            sums[name] += output
            rounds = len(members[name]) // len(split.folds)
            bus.outputs[name] = sums[name] / rounds
            bus.trained[name] = _bagged(members[name], rounds)
            candidates[name].training_time = round(candidates[name].training_time + cost[name], 3)
            candidates[name].performance = round(_score(bus, bus.outputs[name]), 6)
    bus.cv_rounds = max((len(m) // len(bus.split.folds) for m in members.values()), default=1)


def refit_kept(bus: LearnBus) -> None:
    """Hold-out tables: refit each kept mixer that supports it on every row (train + held-out),
    with the size it chose on the hold-out, when its previous fit time fits in what is left.
    Held-out outputs, calibration and importance stay those of the hold-out models, which saw
    less data, so the refit models are if anything slightly better than reported; for numbers,
    _refit_gain estimates how much better, and the intervals narrow by it."""
    assert bus.split is not None  # set by encode_data
    if bus.split.strategy != "holdout":
        return
    times = {c.name: c.training_time for c in bus.candidates}
    for name in sorted(bus.weights, key=lambda n: -bus.weights[n]):
        expected = times.get(name, 0.0) * _ROUND_MARGIN / (1 - HOLDOUT_SHARE)
        left = bus.seconds_left() - _reserve(bus)
        if expected > left:
            continue
        bus.progress.step(f"{name}, refit on every row")
        refitted = bus.trained[name].refit(bus.x, bus.y, time.monotonic() + left, bus.options.threads)
        if refitted is not None:
            bus.refitted[name] = refitted
            if bus.task is not None and not bus.task.is_classification:
                bus.refit_gains[name] = _refit_gain(bus, name, expected)


def _refit_gain(bus: LearnBus, name: str, expected: float) -> float:
    """How much smaller the refit model's errors are than the hold-out model's, estimated from
    the learning curve one step down: a fit on 80% of the training rows (as the training rows are
    80% of all), scored on the same held-out rows. Errors that shrink by a factor from 64% to 80%
    of the rows are taken to shrink by it again from 80% to all of them. 1 when there is no time
    to tell or no gain beyond noise; never under 0.5."""
    assert bus.split is not None and bus.x is not None and bus.y is not None  # set by encode_data
    if expected > bus.seconds_left() - _reserve(bus):
        return 1.0
    train, held = bus.split.folds[0]
    share = len(train) / (len(train) + len(held))
    subset = np.sort(np.random.default_rng(bus.seed).choice(train, int(len(train) * share), replace=False))
    smaller = bus.trained[name].refit(bus.x[subset], bus.y[subset], time.monotonic() + expected, bus.options.threads)
    if smaller is None:
        return 1.0
    y = bus.y[held]  # held-out rows in order, as bus.outputs holds them
    small_errors = np.abs(y - smaller.predict(bus.x[held]))
    gains = small_errors - np.abs(y - bus.outputs[name])  # per row: how much the larger fit gained
    # Only a gain beyond two standard errors counts: where noise dominates the errors, a refit
    # gains little, and intervals narrowed on a chance gain would cover less than they state.
    gain = float(gains.mean() - 2 * gains.std(ddof=1) / np.sqrt(len(gains)))
    small_error = float(small_errors.mean())
    if gain <= 0 or small_error <= 0:
        return 1.0
    return float(max(_MIN_REFIT_GAIN, 1.0 - gain / small_error))


def measure_predict_costs(bus: LearnBus) -> None:
    """Time every trained mixer's predict per row (``bus.predict_costs``, and DESCRIBE's
    candidates); a bag of repeated k-fold rounds that predicts slower than USING infer_limit
    keeps only the rounds that fit."""
    assert bus.x is not None and bus.split is not None  # set by encode_data
    rows = timing_rows(bus.x)
    limit, folds = bus.options.infer_limit, len(bus.split.folds)
    for candidate in bus.candidates:
        if candidate.name not in bus.trained:
            continue
        bus.progress.step(f"{candidate.name}, timing its predictions")
        mixer = bus.trained[candidate.name]
        if isinstance(mixer, BaggedMixer):
            bus.trained[candidate.name], cost = bag_within_limit(mixer, rows, limit, folds)
        else:
            cost = seconds_per_row(mixer, rows)
        bus.predict_costs[candidate.name] = candidate.predict_seconds_per_row = cost


def choose_ensemble(bus: LearnBus) -> None:
    """Set ``bus.weights`` (and ``bus.decision`` for classes) from held-out outputs, within
    USING infer_limit."""
    assert bus.y is not None and bus.split is not None and bus.task is not None  # set by earlier phases
    y = bus.y[bus.split.evaluation_rows]
    limit, costs = bus.options.infer_limit, bus.predict_costs
    if bus.options.ensemble:
        bus.weights = greedy_ensemble(bus.outputs, y, bus.task, costs, limit)
    else:
        # Every candidate with outputs was scored when it was trained, so performance is set.
        scored = [c for c in bus.candidates if c.name in bus.outputs]
        fits = [c for c in scored if costs.get(c.name, 0.0) <= limit] or \
            [min(scored, key=lambda c: costs.get(c.name, 0.0))]
        best = max(fits, key=lambda c: cast(float, c.performance))
        bus.weights = {best.name: 1.0}
    for candidate in bus.candidates:
        candidate.selected = candidate.name in bus.weights
        if candidate.name in bus.trained:
            candidate.settings = bus.trained[candidate.name].settings()
    if bus.task.is_classification:
        blended = blend(bus.outputs, bus.weights)
        bus.decision = tune_decision(blended, y, bus.task) if bus.options.tune_threshold else DecisionRule()


def compile_kept(bus: LearnBus) -> None:
    """Compile the kept mixers (their refit models where refit) within _COMPILE_SHARE of the
    budget, then time their predictions again: DESCRIBE shows what serving costs."""
    assert bus.x is not None  # set by encode_data
    allowance, rows = _COMPILE_SHARE * bus.budget, timing_rows(bus.x)
    for name in sorted(bus.weights, key=lambda n: -bus.weights[n]):
        mixer = bus.refitted.get(name, bus.trained[name])
        bus.progress.step(f"{name}, compiling")
        spent = mixer.compile(allowance)
        if spent:
            allowance -= spent
            cost = seconds_per_row(mixer, rows)
            for candidate in bus.candidates:
                if candidate.name == name:
                    candidate.predict_seconds_per_row = cost
            log.info("%s compiled in %.1f s: %.2f µs a row", name, spent, cost * 1e6)
