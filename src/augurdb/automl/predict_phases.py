"""The predict transaction: DataExtractor -> StatsLoader -> DataVectorizer -> ModelPredictor ->
DataDeVectorizer, each a function over the PredictBus."""

from __future__ import annotations

import json

import numpy as np

from .bus import PredictBus
from .calibration import stated_confidence
from .conformal import RegressionConformal
from .errors import AutoMLError
from .explain import ensemble_contributions, explanation_json
from .features import assemble
from .mixers import BaggedMixer
from .selection import blend
from .vectorizer import vectorize

# Without an explicit explain option, batches up to this size get per-row explanations; larger
# batches (bulk JOINs) skip them, since attributions cost several times the prediction itself.
AUTO_EXPLAIN_ROWS = 5000


def extract_rows(bus: PredictBus) -> None:
    """DataExtractor: check that every input column the model needs is present."""
    missing = [c for c in bus.model.input_columns if c not in bus.raw]
    if missing:
        raise AutoMLError(f"missing input column(s) {missing}; the model needs {bus.model.input_columns}")


def load_stats(bus: PredictBus) -> None:
    """StatsLoader: restore the statistics computed at learn time (never recomputed on new rows)."""
    bus.stats = bus.model.stats


def vectorize_rows(bus: PredictBus) -> None:
    """DataVectorizer: canonical typed values, read exactly as at learn time."""
    bus.values = vectorize(bus.raw, bus.stats, bus.model.input_columns)


def predict_rows(bus: PredictBus) -> None:
    """ModelPredictor: encode, run the kept mixers, blend, decide, explain."""
    model = bus.model
    bus.x = assemble([model.encoders[name].transform(bus.values[name]) for name in model.input_columns])
    bus.output = blend(_mixer_outputs(bus), model.weights)
    if model.task.is_classification:
        assert model.decision is not None  # learn always stores a decision rule for classes
        bus.decided = model.decision.decide(bus.output)
    else:
        bus.decided = bus.output
    explain = bus.options.explain if bus.options.explain is not None else bus.rows <= AUTO_EXPLAIN_ROWS
    if explain:
        classes = bus.decided if model.task.is_classification else None
        bus.contributions = ensemble_contributions(model.mixers, model.weights, bus.x, model.layout, classes)


def _mixer_outputs(bus: PredictBus) -> dict[str, np.ndarray]:
    """Each kept mixer's output; for numbers, also the error variance its bagging removed
    (``bus.variance_removed``), which narrows the intervals to what the bag achieves."""
    model, outputs = bus.model, {}
    if not model.task.is_classification and bus.options.confidence:
        bus.variance_removed = np.zeros(bus.rows)
    for name, weight in model.weights.items():
        mixer = model.mixers[name]
        if bus.variance_removed is not None and isinstance(mixer, BaggedMixer):
            outputs[name], removed = mixer.predict_with_spread(bus.x)
            bus.variance_removed += weight**2 * removed  # mixers' member errors taken as independent
        else:
            outputs[name] = mixer.predict(bus.x)
    return outputs


def _original_values(bus: PredictBus) -> np.ndarray:
    model = bus.model
    assert bus.output is not None and bus.decided is not None  # set by predict_rows
    if model.task.is_classification:
        assert model.classes is not None  # classification models keep their class labels
        return np.asarray(model.classes, dtype=object if isinstance(model.classes[0], str) else None)[bus.decided]
    if model.integer_target:
        return np.rint(bus.output).astype(np.int64)
    return bus.output


def devectorize(bus: PredictBus) -> None:
    """DataDeVectorizer: predictions in the target's original units/labels, with confidence,
    explanation and (for numbers) the conformal interval."""
    model, target = bus.model, bus.model.target
    level = bus.options.confidence_level or model.confidence_level
    columns: dict[str, object] = {target: _original_values(bus)}
    probabilities = _probabilities(bus) if model.task.is_classification else None
    if not bus.options.confidence:
        nothing = np.full(bus.rows, np.nan)
        columns[f"{target}_confidence"] = columns[f"{target}_min"] = columns[f"{target}_max"] = nothing
    elif model.task.is_classification:
        assert probabilities is not None and bus.decided is not None  # set by predict_rows
        columns[f"{target}_confidence"] = stated_confidence(probabilities, bus.decided)
    else:
        assert isinstance(model.conformal, RegressionConformal)
        assert bus.x is not None and bus.output is not None  # set by predict_rows
        columns[f"{target}_min"], columns[f"{target}_max"] = model.conformal.intervals(
            bus.x, bus.output, level, bus.variance_removed)
        columns[f"{target}_confidence"] = np.full(bus.rows, level)
    if bus.options.explain is False:
        # Asked not to explain (the caller does not read the column): a JSON text per row is the
        # costliest part of a large batch.
        columns[f"{target}_explain"] = np.full(bus.rows, None, dtype=object)
    else:
        extras = (_class_probabilities(model.classes, probabilities) if probabilities is not None
                  else [{} for _ in range(bus.rows)])
        if bus.contributions is not None:
            columns[f"{target}_explain"] = explanation_json(model.layout.columns, bus.contributions, extras)
        else:
            columns[f"{target}_explain"] = [json.dumps(e) for e in extras]
    order = [target, f"{target}_confidence", f"{target}_explain"]
    if not model.task.is_classification:
        order += [f"{target}_min", f"{target}_max"]
    bus.result = {name: columns[name] for name in order}  # type: ignore[misc]


def _probabilities(bus: PredictBus) -> np.ndarray:
    """Calibrated class probabilities (models of format 1 have none: their scores as they are)."""
    assert bus.output is not None  # set by predict_rows
    calibration = bus.model.calibration
    return calibration(bus.output) if calibration is not None else bus.output


def _class_probabilities(classes: list | None, probabilities: np.ndarray) -> list[dict]:
    assert classes is not None  # classification models keep their class labels
    names = [f"probability_class_{label}" for label in classes]
    return [dict(zip(names, row, strict=True)) for row in np.round(probabilities, 6).tolist()]


PREDICT_PHASES = [
    ("DataExtractor", extract_rows),
    ("StatsLoader", load_stats),
    ("DataVectorizer", vectorize_rows),
    ("ModelPredictor", predict_rows),
    ("DataDeVectorizer", devectorize),
]
