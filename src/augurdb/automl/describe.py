"""describe(): the tables a user sees about a trained model."""

from __future__ import annotations

import json

import pandas as pd

from .errors import AutoMLError
from .model import TrainedModel

ATTRIBUTES = ("info", "features", "model", "ensemble")


def _info(model: TrainedModel) -> pd.DataFrame:
    # Models saved before accuracy_functions existed carry only the primary metric.
    accuracies = getattr(model, "accuracies", None) or {model.task.metric_name: round(model.accuracy, 6)}
    return pd.DataFrame([{
        "accuracies": json.dumps(accuracies),
        "column_importances": json.dumps(model.importances),
        "outputs": model.target,
        "inputs": json.dumps(model.input_columns),
        "task": model.task.kind,
        **model.info,
    }])


def _features(model: TrainedModel) -> pd.DataFrame:
    rows: list[dict[str, object]] = [{
        "column": model.target, "type": model.target_stats.dtype, "encoder": None, "role": "target",
        "importance": None, "reason": model.target_stats.reason,
    }]
    for name, stats in model.stats.items():
        used = name in model.encoders
        rows.append({
            "column": name, "type": stats.dtype,
            "encoder": model.encoders[name].name if used else None,
            "role": "feature" if used else "ignored",
            "importance": model.importances.get(name) if used else None,
            "reason": stats.reason if used else model.ignored.get(name, stats.reason),
        })
    return pd.DataFrame(rows)


def _model(model: TrainedModel) -> pd.DataFrame:
    return pd.DataFrame([{
        "name": c.name, "performance": c.performance, "training_time": c.training_time,
        "selected": int(c.selected), "accuracy_functions": json.dumps([model.task.metric_name]),
        "status": c.status, "settings": json.dumps(getattr(c, "settings", {})),  # models saved before settings existed
        "predict_seconds_per_row": c.predict_seconds_per_row,
    } for c in model.candidates])


def _ensemble(model: TrainedModel) -> pd.DataFrame:
    spec = {
        "type": "WeightedEnsemble" if len(model.weights) > 1 else "BestOf",
        "mixers": {name: round(weight, 4) for name, weight in model.weights.items()},
        "decision_rule": model.decision.as_dict() if model.decision else None,
        "confidence_level": model.confidence_level,
    }
    return pd.DataFrame([{"ensemble": json.dumps(spec)}])


_TABLES = {"info": _info, "features": _features, "model": _model, "ensemble": _ensemble}


def describe(model: TrainedModel, attribute: str | None = None) -> pd.DataFrame:
    """The list of tables (no attribute), or one of them."""
    if attribute is None:
        return pd.DataFrame({"tables": list(ATTRIBUTES)})
    key = str(attribute).lower()
    if key not in _TABLES:
        raise AutoMLError(f"unknown describe attribute {attribute!r}; valid: {list(ATTRIBUTES)}")
    return _TABLES[key](model)
