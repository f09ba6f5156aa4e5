"""The learn transaction: DataExtractor -> StatsGenerator -> DataVectorizer -> DataEncoder ->
ModelTrainer -> Analysis, each a function over the LearnBus."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import column_types as ct
from .bus import LearnBus
from .calibration import ProbabilityCalibration, measured_error
from .conformal import RegressionConformal, measured_coverage
from .encoders import ColumnEncoder, TargetView, make_encoder
from .errors import AutoMLError
from .explain import permutation_importance
from .features import FeatureLayout, assemble
from .model import TrainedModel
from .parsing import as_text, parse_quantity
from .selection import DecisionRule, blend
from .splits import make_split
from .tasks import BINARY, EXTRA_METRICS, MULTICLASS, Task
from .trainer import (
    choose_ensemble,
    compile_kept,
    measure_predict_costs,
    refit_kept,
    repeat_cross_validation,
    train_mixers,
)
from .type_inference import infer_types
from .validation import check_columns, check_metrics, check_row_count, is_missing, target_stats, target_task
from .vectorizer import vectorize

_ENCODER_SHARE = 0.25


def extract_data(bus: LearnBus) -> None:
    """DataExtractor: check the table and target, drop rows whose target is missing (counted)."""
    if not isinstance(bus.raw, pd.DataFrame):
        raise AutoMLError("training data must be a pandas DataFrame")
    if bus.raw.columns.duplicated().any():
        raise AutoMLError(f"duplicate column names: {sorted(set(bus.raw.columns[bus.raw.columns.duplicated()]))}")
    check_columns(list(bus.raw.columns), bus.target, bus.options, bus.dtype_dict)
    missing = is_missing(bus.raw[bus.target])
    bus.target_null_rows = int(missing.sum())
    bus.data = bus.raw.loc[~missing.to_numpy()].reset_index(drop=True)
    check_row_count(len(bus.data), bus.target, bus.target_null_rows)


def generate_stats(bus: LearnBus) -> None:
    """StatsGenerator: infer every column's type, decide inputs, ignored columns and the task."""
    assert bus.data is not None  # set by extract_data
    overrides = {k: v for k, v in bus.dtype_dict.items() if k != bus.target}
    features = bus.data.drop(columns=[bus.target])
    bus.stats = infer_types(features, overrides)
    bus.stats[bus.target] = target_stats(bus.data[bus.target], bus.dtype_dict.get(bus.target))
    bus.task = target_task(bus.stats[bus.target])
    check_metrics(bus.options, bus.target, bus.task)
    for name, stats in bus.stats.items():
        if name == bus.target:
            continue
        if name in bus.options.ignore_columns:
            bus.ignored[name] = "ignored by the user (ignore_columns)"
        elif stats.dtype in ct.DROPPED_TYPES:
            bus.ignored[name] = stats.reason
        else:
            bus.input_columns.append(name)
    if not bus.input_columns:
        raise AutoMLError(f"no usable input columns to predict {bus.target!r} from; ignored: {bus.ignored}")


def _class_labels(series: pd.Series) -> tuple[np.ndarray, list]:
    """Class codes and the original labels (numbers stay numbers, ints stay ints)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype="float64")
        labels = np.unique(values)
        if np.all(np.mod(labels, 1) == 0):
            labels, values = labels.astype(np.int64), values.astype(np.int64)
    elif pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=bool)
        labels = np.unique(values)
    else:
        values = as_text(series).to_numpy(dtype=object)
        labels = np.array(sorted(set(values)), dtype=object)
    codes = np.searchsorted(labels, values)
    return codes.astype(np.int64), labels.tolist()


def vectorize_data(bus: LearnBus) -> None:
    """DataVectorizer: canonical typed values for inputs, encoded target values."""
    assert bus.data is not None and bus.task is not None  # set by extract_data, generate_stats
    target = bus.data[bus.target]
    if bus.task.is_classification:
        bus.y, bus.classes = _class_labels(target)
        bus.task = Task(BINARY if len(bus.classes) == 2 else MULTICLASS, len(bus.classes))
    else:
        y = parse_quantity(target).to_numpy(dtype="float64")
        known = np.isfinite(y)
        if not known.all():  # text targets that do not parse as numbers count as missing
            bus.target_null_rows += int((~known).sum())
            bus.data = bus.data.loc[known].reset_index(drop=True)
            y = y[known]
        bus.y = y
        bus.integer_target = bool(pd.api.types.is_integer_dtype(target) or bus.stats[bus.target].is_integer
                                  and bus.stats[bus.target].dtype == ct.INTEGER)
    bus.values = vectorize(bus.data, bus.stats, bus.input_columns)


def encode_data(bus: LearnBus) -> None:
    """DataEncoder: split rows, fit one encoder per input column on training rows, build the matrix."""
    assert bus.task is not None and bus.y is not None  # set by generate_stats, vectorize_data
    labels = bus.y if bus.task.is_classification else None
    bus.split = make_split(len(bus.y), labels, bus.seed)
    fit_rows = bus.split.fit_rows
    other_rows = np.setdiff1d(np.arange(len(bus.y)), fit_rows)
    # Trained encoders (RNNEncoder) may use up to a quarter of the budget.
    deadline = time.monotonic() + _ENCODER_SHARE * bus.seconds_left()
    target = TargetView(bus.y[fit_rows], bus.task.n_classes, bus.seed, deadline)
    # Present in the data (checked by DataExtractor) but not an input: ignored or dropped. The
    # target's type decides the task, so an encoder named for it is accepted (see validation).
    unknown = sorted(set(bus.options.encoders) - set(bus.input_columns) - {bus.target})
    if unknown:
        raise AutoMLError(f"encoders names columns that are not model inputs: {unknown}")
    blocks = []
    started = time.monotonic()
    for position, name in enumerate(bus.input_columns, start=1):
        encoder = make_encoder(bus.stats[name], bus.options.encoders.get(name))
        bus.progress.step(f"{encoder.name} for {name} ({position}/{len(bus.input_columns)})")
        values = bus.values[name]
        fitted = encoder.fit_transform(_rows(values, fit_rows), target)
        block = fitted if not len(other_rows) else _stack_rows(fitted, encoder.transform(_rows(values, other_rows)),
                                                               fit_rows, other_rows)
        bus.encoders[name] = encoder
        blocks.append(block)
        if bus.split.strategy == "cross_validation" and type(encoder).fold_features is not ColumnEncoder.fold_features:
            bus.fold_inputs[name] = values  # supervised: each fold re-encodes it (fold_matrix)
    bus.encoding_seconds = time.monotonic() - started
    bus.layout = FeatureLayout.from_encoders(bus.encoders)
    bus.x = assemble(blocks)
    if bus.fold_inputs:
        bus.blocks = blocks
    bus.values = {}  # encoded now; free the canonical copies



def _rows(values, rows: np.ndarray):
    return [values[i] for i in rows] if isinstance(values, list) else values[rows]


def _stack_rows(first, second, first_rows: np.ndarray, second_rows: np.ndarray):
    """Put two row blocks back in the original row order."""
    joined = sp.vstack([first, second], format="csr") if sp.issparse(first) else np.vstack([first, second])
    order = np.argsort(np.concatenate([first_rows, second_rows]), kind="stable")
    return joined[order]


def train_models(bus: LearnBus) -> None:
    """ModelTrainer: train the mixers, choose the ensemble and the decision rule."""
    train_mixers(bus)
    if not bus.outputs:
        reasons = "; ".join(f"{c.name}: {c.status}" for c in bus.candidates)
        raise AutoMLError(f"no model could be trained ({reasons})")
    repeat_cross_validation(bus)
    measure_predict_costs(bus)
    choose_ensemble(bus)
    refit_kept(bus)


def analyse(bus: LearnBus) -> None:
    """Analysis: held-out accuracy, calibration (class probabilities; intervals for numbers), each
    measured on held-out rows it was not fitted on, column importance; builds the model."""
    assert bus.split is not None and bus.task is not None  # set by encode_data, generate_stats
    assert bus.y is not None and bus.x is not None and bus.layout is not None  # set by vectorize/encode_data
    rows = bus.split.evaluation_rows
    y = bus.y[rows]
    blended = blend(bus.outputs, bus.weights)
    if bus.task.is_classification:
        assert bus.decision is not None  # choose_ensemble tunes one for classes
        predicted = bus.decision.decide(blended)
        bus.calibration = ProbabilityCalibration.fit(blended, y)
        bus.calibration_report = {"calibration_error": _rounded(measured_error(blended, y, predicted, bus.seed))}
    else:
        predicted = blended
        bus.conformal = RegressionConformal.calibrate(bus.x[rows], y, blended, bus.seed)
        bus.conformal.scale = sum(w * bus.refit_gains.get(name, 1.0) for name, w in bus.weights.items())
        level = bus.options.confidence_level
        bus.calibration_report = {"interval_coverage": _rounded(measured_coverage(bus.x[rows], y, blended, level, bus.seed)),
                                  "confidence_level": level, "refit_error_ratio": _rounded(bus.conformal.scale)}
    bus.accuracy = bus.task.score(y, predicted)
    bus.accuracies = {bus.task.metric_name: round(bus.accuracy, 6)}
    bus.accuracies.update({name: round(float(EXTRA_METRICS[name][1](y, predicted)), 6)
                           for name in bus.options.accuracy_functions})
    kept = {name: bus.trained[name] for name in bus.weights}

    def score(x, y_rows):
        output = blend({n: m.predict(x) for n, m in kept.items()}, bus.weights)
        return bus.task.score(y_rows, bus.decision.decide(output) if bus.decision else output)

    bus.progress.step("column importance")
    bus.importances = permutation_importance(score, bus.x[rows], y, bus.layout, bus.seed, bus.deadline)
    compile_kept(bus)
    bus.model = _build_model(bus, {name: bus.refitted.get(name, mixer) for name, mixer in kept.items()})


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _build_model(bus: LearnBus, kept: dict) -> TrainedModel:
    # All set by the earlier phases (analyse has run).
    assert bus.task is not None and bus.layout is not None
    assert bus.y is not None and bus.split is not None
    target_stats = bus.stats[bus.target]
    return TrainedModel(
        target=bus.target, task=bus.task, classes=bus.classes, integer_target=bus.integer_target,
        stats={n: s for n, s in bus.stats.items() if n != bus.target}, target_stats=target_stats,
        input_columns=bus.input_columns, ignored=bus.ignored, encoders=bus.encoders, layout=bus.layout,
        mixers=kept, weights=bus.weights, decision=bus.decision or (DecisionRule() if bus.task.is_classification else None),
        conformal=bus.conformal, calibration=bus.calibration, confidence_level=bus.options.confidence_level, accuracy=float(bus.accuracy),
        accuracies=bus.accuracies, importances=bus.importances, candidates=bus.candidates,
        info={"training_rows": int(len(bus.y)), "target_null_rows_dropped": int(bus.target_null_rows),
              "validation": bus.split.strategy, "cv_rounds": bus.cv_rounds,
              "refitted_on_all_rows": json.dumps(sorted(bus.refitted)), "time_budget": round(bus.budget, 3),
              "calibration": json.dumps(bus.calibration_report)},
    )


LEARN_PHASES = [
    ("DataExtractor", extract_data),
    ("StatsGenerator", generate_stats),
    ("DataVectorizer", vectorize_data),
    ("DataEncoder", encode_data),
    ("ModelTrainer", train_models),
    ("Analysis", analyse),
]
