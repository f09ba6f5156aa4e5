"""Gradient-boosted trees (LightGBM) mixer: a small search over parameter sets within its budget."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Literal, cast

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp

from ..cores import available_threads
from ..encoders.base import Matrix
from ..predict_cost import fastest_seconds
from ..tasks import BINARY, MULTICLASS, gain_beyond_noise
from . import compiled_trees
from .base import Mixer, TrainingData, per_class
from .compiled_trees import CompiledTrees

_MAX_ROUNDS = 3000
# Explanations use the first trees only: TreeSHAP cost grows with every tree, while the first
# few hundred carry nearly all of the signal (the rest refine residuals).
_EXPLAIN_TREES = 200
_PATIENCE = 100
# From this many training rows, a larger learning rate and at most _LARGE_ROUNDS trees: at 0.08
# such tables early-stop past 2,500 trees, and prediction time grows with every tree (97k rows
# of flights: 2,997 trees predict 24k rows in 7.8 s; 1,000 trees at 0.15 in 2.7 s, with test R²
# 0.9866 against 0.9858).
_LARGE, _LARGE_ROUNDS = 50_000, 1000
_OCCLUSION_ROWS = 1024  # rows made dense at a time when explaining linear trees
_SMALL_BATCH = 2000  # below this many rows, prediction threads cost more than they save
# Rounds and rows timed to learn the predict cost of a round (_affordable_rounds: the batch of
# predict_cost.TIMED_ROWS), and the share of infer_limit those rounds may take: the rest is the
# per-call cost that timing a whole model adds.
_TIMED_ROUNDS, _TIMED_BATCH, _LIMIT_SHARE = 100, 2000, 0.9
# A further parameter set is tried only when its expected time (the slowest so far, times this
# margin) fits before the deadline: the default set always trains, the search never overruns.
_TRY_MARGIN = 1.5

_RATE_SCALE = "learning_rate_scale"  # a variation's key: multiplies the size-scaled learning rate
# A variation's key: split on the category codes (TrainingData.categorical) as categories. Other
# sets never split on them (a zero feature_penalty), as they keep the target means and one-hot
# features of the same columns; once the codes win on held-out loss, every later set splits on them.
_SPLIT_CODES = "split_category_codes"

# Variations on the size-scaled defaults, in the order they are tried: (name, parameters, most
# rounds). Each answers a shape of data the defaults fit poorly; held-out loss decides, so a
# variation that does not help costs only its training time.
VARIATIONS: tuple[tuple[str, dict, int], ...] = (
    ("default", {}, _MAX_ROUNDS),
    # Piecewise-linear targets (a price that is a rate times a size): a linear model in each
    # leaf fits in a few hundred trees what constant leaves approximate with thousands of steps.
    # Every tree sees every column: a leaf's linear model only uses columns its tree could split
    # on. Fewer rounds: a linear leaf costs ~10x a constant one to predict, and past a few hundred
    # rounds it only polishes residuals (home_rentals: R² 0.999998 at 500 rounds, +0.0000007 at 2,700).
    ("linear_trees", {"linear_tree": True, "linear_lambda": 0.1, "feature_fraction": 1.0}, 500),
    # Many-valued classes split as categories: LightGBM groups a column's labels per node by
    # their gradients, which finds what one target mean per label cannot (chicago's bus routes:
    # held-out loss -19%). Where the classes matter little it fits noise instead (nyc_flights'
    # destinations: +10%), hence a variation, tried only for tables with such columns,
    # after linear leaves: on a large table the budget may not reach the sets after it.
    ("categories", {_SPLIT_CODES: True}, _MAX_ROUNDS),
    # Small or noisy tables: few shallow, heavily regularised trees on column subsets.
    ("regularised", {"num_leaves": 7, "min_data_in_leaf": 10, "feature_fraction": 0.5, "lambda_l2": 10.0},
     _MAX_ROUNDS),
    # Interaction-rich tables: more leaves, smaller leaves.
    ("deep", {"num_leaves": 127, "min_data_in_leaf": 5}, _MAX_ROUNDS),
    # The defaults at a smaller step (a share of the size-scaled learning rate): more, smaller
    # corrections generalise better where the budget allows them (adult_income held-out balanced
    # accuracy 0.8396 -> 0.8433 at 367 rounds instead of 137; titanic, bank_marketing a little).
    ("slow", {_RATE_SCALE: 0.4}, _MAX_ROUNDS),
)
# A variation replaces the current choice only if it lowers held-out loss by this share: on a
# near tie the earlier (default) set is kept, as more or deeper trees cost prediction speed.
_MIN_GAIN = 0.005
# A variation that predicts more than this many times slower than the current choice must also
# lower the held-out loss beyond two standard errors of its per-row differences. Slower trees
# slow every model JOIN, and a gain within noise is none: on 20k rows of flights, linear leaves
# lowered the loss by 0.5% (4.2 against a standard error of 7.6) and predicted 5x slower.
_SLOWER = 1.25


@dataclass
class _Choice:
    """One trained parameter set at its best affordable round, with what comparing it needs."""

    booster: lgb.Booster
    rounds: int
    loss: float
    row_losses: np.ndarray | None = None  # held-out, per row (computed when first compared)
    cost: float | None = None  # predict seconds a row (timed when first compared)


def _categories(features: tuple[int, ...]) -> list[int] | Literal["auto"]:
    """lgb.Dataset's categorical_feature: these features, or LightGBM's own choice (none for arrays)."""
    return list(features) or "auto"


def _varied(base: dict, variation: dict, codes: tuple[int, ...], n_features: int) -> dict:
    """LightGBM parameters: the defaults with a variation's values over them; unless it splits
    on the category ``codes``, those features are never split on."""
    params = {**base, **variation}
    if _RATE_SCALE in params:
        params["learning_rate"] = base["learning_rate"] * params.pop(_RATE_SCALE)
    if codes and not params.pop(_SPLIT_CODES, False):
        penalty = np.ones(n_features)
        penalty[list(codes)] = 0.0
        params["feature_penalty"] = penalty.tolist()
    params.pop(_SPLIT_CODES, None)
    return params


class LightGBMMixer(Mixer):
    """LightGBM with early stopping on held-out loss; leaves and learning rate scale with data size."""

    name = "LightGBM"
    tried: dict[str, float]  # parameter set name -> its best held-out loss (set by fit)
    round_cap: int | None = None  # most rounds that predict within infer_limit (set by fit)
    categorical: tuple[int, ...] = ()  # features split on as categories (TrainingData.categorical)
    compiled: CompiledTrees | None = None  # the kept rounds as machine code (compile)
    sparse_input = False  # trained on a sparse matrix (text): predicts from one, never compiled

    def _params(self, data: TrainingData) -> dict:
        n = data.x_train.shape[0]
        params = {
            "objective": "regression",
            "learning_rate": 0.05 if n < 10_000 else 0.08 if n < _LARGE else 0.15,
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
        self.task, self.n_train, self.categorical = data.task, data.x_train.shape[0], data.categorical
        self.sparse_input = sp.issparse(data.x_train)
        self.feature_mean = np.asarray(data.x_train.mean(axis=0), dtype=np.float64).ravel()
        self.feature_mean[list(self.categorical)] = np.nan  # a code's "mean" is no label: occluded, it reads as missing
        base = self._params(data)
        best: _Choice | None = None
        slowest, self.tried, split_codes = 0.0, {}, False
        for name, variation, max_rounds in VARIATIONS:
            if _SPLIT_CODES in variation and not self.categorical:
                continue
            if self.tried and time.monotonic() + slowest * _TRY_MARGIN > deadline:
                break
            started = time.monotonic()
            params = _varied(base, {_SPLIT_CODES: split_codes, **variation}, self.categorical, data.x_train.shape[1])
            rounds = min(max_rounds, _LARGE_ROUNDS) if self.n_train >= _LARGE else max_rounds
            booster, losses = self._train(params, data, deadline, rounds)
            cap = self._affordable_rounds(booster, data)
            losses = losses[:cap]
            slowest = max(slowest, time.monotonic() - started)
            tried = _Choice(booster, int(np.argmin(losses)) + 1, float(np.min(losses)))
            self.tried[name] = round(tried.loss, 6)
            if best is None or (tried.loss < best.loss * (1 - _MIN_GAIN) and self._earns_its_cost(tried, best, data)):
                best, self.variation, self.params = tried, name, params
                split_codes = split_codes or bool(variation.get(_SPLIT_CODES))
                self.booster, self.best_iteration = booster, tried.rounds
                self.round_cap = cap

    def _earns_its_cost(self, challenger: _Choice, incumbent: _Choice, data: TrainingData) -> bool:
        """Whether ``challenger``, of lower held-out loss, may replace ``incumbent``: it predicts
        at most _SLOWER times slower, or its gain is beyond two standard errors. Constant leaves
        are compiled once trained (compiled_trees), linear ones cannot be: those are slower
        whatever LightGBM's own predict times."""
        slower = (self._uncompiled_against_compiled(challenger, incumbent)
                  or self._cost(challenger, data) > _SLOWER * self._cost(incumbent, data))
        return not slower or gain_beyond_noise(self._row_losses(incumbent, data) - self._row_losses(challenger, data))

    @staticmethod
    def _uncompiled_against_compiled(challenger: _Choice, incumbent: _Choice) -> bool:
        return (compiled_trees.compilable(incumbent.booster) and not compiled_trees.compilable(challenger.booster)
                and compiled_trees.available())

    def _cost(self, choice: _Choice, data: TrainingData) -> float:
        if choice.cost is None:
            rows = data.x_valid[np.arange(_TIMED_BATCH) % data.x_valid.shape[0]]
            choice.cost = self._seconds_per_row(choice.booster, rows, choice.rounds)
        return choice.cost

    def _row_losses(self, choice: _Choice, data: TrainingData) -> np.ndarray:
        if choice.row_losses is None:
            out = cast(np.ndarray, choice.booster.predict(data.x_valid, num_iteration=choice.rounds,
                                                          num_threads=self._threads(data.x_valid)))
            if self.task.kind == BINARY:
                out = np.column_stack([1.0 - out, out])
            choice.row_losses = self.task.row_losses(data.y_valid, out)
        return choice.row_losses

    def _affordable_rounds(self, booster: lgb.Booster, data: TrainingData) -> int | None:
        """How many boosting rounds predict within ``data.infer_limit`` (None: all of them); the
        best of the affordable rounds is then kept. The first rounds, timed on a batch, give a
        first estimate; a round costs more as the model outgrows the CPU's caches (concrete, 15
        leaves: 48 ns a row at 100 rounds, 72 at 500; linear leaves 60 and 108), so the estimate
        is timed again at its own size and scaled down if it does not fit."""
        if data.infer_limit is None:
            return None
        rows = data.x_valid[np.arange(_TIMED_BATCH) % data.x_valid.shape[0]]
        target, total = _LIMIT_SHARE * data.infer_limit, booster.current_iteration()
        rounds = min(total, _TIMED_ROUNDS)
        cost = self._seconds_per_row(booster, rows, rounds)
        if cost <= target and rounds < total:  # extrapolate, then time that size itself
            rounds = min(total, int(rounds * target / cost))
            cost = self._seconds_per_row(booster, rows, rounds)
        if cost > target:  # a round's cost only grows with the model, so fewer rounds fit
            rounds = max(1, int(rounds * target / cost))
        return rounds

    def _seconds_per_row(self, booster: lgb.Booster, rows: Matrix, rounds: int) -> float:
        threads = self._threads(rows)  # wall-clock, as predict_cost.py times every mixer
        return fastest_seconds(lambda: booster.predict(rows, num_iteration=rounds, num_threads=threads)) / rows.shape[0]

    @staticmethod
    def _train(params: dict, data: TrainingData, deadline: float, max_rounds: int) -> tuple[lgb.Booster, list]:
        """One early-stopped training run; returns the booster and its held-out loss per round.
        Datasets are built per run: LightGBM binds some parameters (linear_tree) to them."""
        train = lgb.Dataset(data.x_train, data.y_train, categorical_feature=_categories(data.categorical))
        valid = lgb.Dataset(data.x_valid, data.y_valid, reference=train)
        history: dict = {}

        def stop_at_deadline(env: lgb.callback.CallbackEnv) -> None:
            if time.monotonic() > deadline:
                # The list is only None for before-iteration callbacks; this one runs after each round.
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

        stop_at_deadline.order = 40  # type: ignore[attr-defined]  # after record_evaluation has kept the round

        booster = lgb.train(
            params, train, num_boost_round=max_rounds, valid_sets=[valid], valid_names=["valid"],
            callbacks=[lgb.early_stopping(_PATIENCE, verbose=False), lgb.record_evaluation(history),
                       stop_at_deadline],
        )
        return booster, next(iter(history["valid"].values()))

    def settings(self) -> dict:
        return {"parameters": self.variation, "rounds": self.best_iteration}

    def refit(self, x: Matrix, y: np.ndarray, deadline: float, threads: int) -> LightGBMMixer | None:
        """Retrain on every row for the early-stopped number of rounds, scaled by the growth in
        rows (more data supports proportionally more rounds at the same learning rate)."""
        rounds = int(np.ceil(self.best_iteration * x.shape[0] / self.n_train))
        rounds = min(rounds, self.round_cap or rounds)  # more rounds than infer_limit affords would predict slower
        stopped = []

        def stop_at_deadline(env: lgb.callback.CallbackEnv) -> None:
            if time.monotonic() > deadline:
                stopped.append(env.iteration)
                raise lgb.callback.EarlyStopException(env.iteration, [])

        booster = lgb.train({**self.params, "num_threads": threads}, lgb.Dataset(x, y, categorical_feature=_categories(self.categorical)), num_boost_round=rounds,
                            callbacks=[stop_at_deadline])
        if stopped:  # an under-trained refit would be worse than the hold-out model
            return None
        refitted = copy.copy(self)
        refitted.booster, refitted.best_iteration, refitted.compiled = booster, rounds, None
        return refitted

    def _threads(self, x: Matrix) -> int:
        # Never 0 (OpenMP's default): torch.set_num_threads(1), which the nets call when they
        # train, changes that default for the whole process, and LightGBM then predicted at half
        # its speed after the nets had trained (concrete: 34 against 17 µs a row).
        return 1 if x.shape[0] < _SMALL_BATCH else available_threads()

    def compile(self, seconds: float) -> float:
        """The kept rounds as machine code (compiled_trees), when their estimated compile time
        fits in ``seconds``. Not for sparse inputs (text), which compiled code cannot read: their
        thousands of features also made compiling take minutes (sms_spam)."""
        if (self.compiled is not None or self.sparse_input or not compiled_trees.compilable(self.booster)
                or not compiled_trees.available()):
            return 0.0
        if compiled_trees.compile_seconds(self.booster, self.best_iteration) > seconds:
            return 0.0
        started = time.monotonic()
        try:
            self.compiled = CompiledTrees.build(self.booster, self.best_iteration)
        except Exception as error:  # LightGBM's own predict stays: same output, slower
            compiled_trees.log.warning("trees not compiled: %s", error)
        return time.monotonic() - started

    def predict(self, x: Matrix) -> np.ndarray:
        out = self.compiled.predict(x, self._threads(x)) if self.compiled is not None and not sp.issparse(x) else None
        if out is None:
            # Plain predictions are always dense (only pred_contrib on sparse input returns sparse).
            out = cast(np.ndarray, self.booster.predict(x, num_iteration=self.best_iteration,
                                                        num_threads=self._threads(x)))
        if self.task.kind == BINARY:
            return np.column_stack([1.0 - out, out])
        return out

    def contributions(self, x: Matrix, groups: sp.csr_matrix, classes: np.ndarray | None) -> np.ndarray:
        if self.params.get("linear_tree"):
            return per_class(self._occlusion(x, groups), classes, self.task.n_classes)
        raw = self.booster.predict(x, num_iteration=min(self.best_iteration, _EXPLAIN_TREES), pred_contrib=True,
                                   num_threads=self._threads(x))
        if isinstance(raw, list):  # sparse input, multiclass: one sparse matrix per class
            raw = np.stack([m.toarray() for m in raw], axis=2)
        elif sp.issparse(raw):
            raw = cast(sp.csr_matrix, raw).toarray()  # scipy is untyped: issparse does not narrow
        n_features = groups.shape[0]
        if self.task.kind == MULTICLASS and raw.ndim == 2:
            raw = raw.reshape(raw.shape[0], self.task.n_classes, n_features + 1).transpose(0, 2, 1)
        raw = raw[:, :n_features] if raw.ndim == 2 else raw[:, :n_features, :]
        picked = per_class(raw, classes, self.task.n_classes)
        return np.asarray(picked @ groups)

    def _occlusion(self, x: Matrix, groups: sp.csr_matrix) -> np.ndarray:
        """LightGBM has no TreeSHAP for linear trees: a column's contribution is how far the raw
        output (log-odds for classes) moves when its features are set to their training means.
        Shaped (rows, columns) or (rows, columns, classes)."""
        by_column = groups.tocsc()
        chunks = []
        for start in range(0, x.shape[0], _OCCLUSION_ROWS):
            part = x[start : start + _OCCLUSION_ROWS]
            dense = (cast(sp.csr_matrix, part).toarray() if sp.issparse(part)
                     else np.array(part, dtype=np.float64))
            full = self._raw(dense)
            moved = []
            for column in range(by_column.shape[1]):
                features = by_column[:, column].nonzero()[0]
                occluded = dense.copy()
                occluded[:, features] = self.feature_mean[features]
                moved.append(full - self._raw(occluded))
            chunks.append(np.stack(moved, axis=1))
        return np.concatenate(chunks) if chunks else np.zeros((0, groups.shape[1]))

    def _raw(self, x: np.ndarray) -> np.ndarray:
        return cast(np.ndarray, self.booster.predict(x, num_iteration=self.best_iteration, raw_score=True,
                                                     num_threads=self._threads(x)))  # dense x: dense output
