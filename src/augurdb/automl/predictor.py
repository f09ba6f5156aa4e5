"""learn() and the Predictor: the engine's public surface."""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Callable, Mapping

import joblib
import numpy as np
import pandas as pd

from .bus import LearnBus, PredictBus
from .conformal import ClassificationConformal
from .cores import available_threads
from .describe import describe as describe_model
from .errors import AutoMLError
from .learn_phases import LEARN_PHASES
from .model import TrainedModel
from .options import parse_learn_options, parse_predict_options, resolve_budget
from .predict_phases import PREDICT_PHASES
from .progress import TrainingProgress
from .transaction import run_phases

_MODEL_FILE = "model.joblib"
_MANIFEST_FILE = "manifest.json"
# 2: class probabilities are calibrated (TrainedModel.calibration); a number's confidence is its
# interval's level. Format 1 still loads: its classes state uncalibrated probabilities.
_FORMAT_VERSION = 2
_READABLE_FORMATS = (1, 2)


class Predictor:
    """A trained model: predict new rows, describe itself, save to and load from a directory.

    A Predictor holds no per-call state, so one loaded instance can serve many predict() calls.
    """

    def __init__(self, model: TrainedModel):
        self._model = model

    @property
    def target(self) -> str:
        """The predicted column."""
        return self._model.target

    @property
    def input_columns(self) -> list[str]:
        """Columns predict() needs (identifiers and other dropped columns excluded)."""
        return list(self._model.input_columns)

    @property
    def accuracy(self) -> float:
        """Held-out primary metric: R² for numbers, balanced accuracy for classes."""
        return self._model.accuracy

    @property
    def dtype_dict(self) -> dict[str, str]:
        """Column -> inferred (or user-set) type, target included."""
        types = {name: stats.dtype for name, stats in self._model.stats.items()}
        types[self._model.target] = self._model.target_stats.dtype
        return types

    def predict(self, df: pd.DataFrame, options: dict | None = None) -> pd.DataFrame:
        """One output row per input row, in order: the prediction, its confidence, an explanation
        (JSON) and, for numbers, the conformal interval (<target>_min / <target>_max)."""
        if not isinstance(df, pd.DataFrame):
            raise AutoMLError("prediction data must be a pandas DataFrame")
        return pd.DataFrame(self.predict_columns(df, len(df), options), index=df.index)

    def predict_columns(self, columns: Mapping[str, pd.Series | list], rows: int,
                        options: dict | None = None) -> dict[str, np.ndarray | list]:
        """predict() on columns given by name (Series, or lists for a handful of rows: no pandas
        at all then), the output columns in the same order."""
        bus = PredictBus(raw=columns, rows=rows, options=parse_predict_options(options), model=self._model)
        result = run_phases(PREDICT_PHASES, bus, None).result
        assert result is not None  # set by the last phase
        return result

    def describe(self, attribute: str | None = None) -> pd.DataFrame:
        """Tables about the model: None lists them; 'info', 'features', 'model' or 'ensemble'."""
        return describe_model(self._model, attribute)

    def save(self, directory: str | pathlib.Path) -> None:
        """Write the model into ``directory`` (created if needed)."""
        path = pathlib.Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        joblib.dump(self._model, path / _MODEL_FILE, compress=3)
        manifest = {"format_version": _FORMAT_VERSION, "target": self.target, "task": self._model.task.kind,
                    "accuracy": self.accuracy, "mixers": list(self._model.weights)}
        (path / _MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))

    @classmethod
    def load(cls, directory: str | pathlib.Path) -> Predictor:
        """Read a model written by :meth:`save`."""
        path = pathlib.Path(directory)
        manifest_path = path / _MANIFEST_FILE
        if not manifest_path.exists():
            raise AutoMLError(f"no saved model in {str(path)!r}")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format_version") not in _READABLE_FORMATS:
            raise AutoMLError(f"model in {str(path)!r} has format {manifest.get('format_version')}, "
                              f"this engine reads formats {list(_READABLE_FORMATS)}")
        model = joblib.load(path / _MODEL_FILE)
        if isinstance(model.conformal, ClassificationConformal):  # format 1: no calibration of classes
            model.conformal = None
        return cls(model)


def learn(
    df: pd.DataFrame,
    target: str,
    *,
    time_budget: float | None = None,
    dtype_dict: dict[str, str] | None = None,
    options: dict | None = None,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
) -> Predictor:
    """Train a model predicting ``target`` from the other columns of ``df`` within ``time_budget``
    seconds (default: grows with the table). Raises AutoMLError for problems the user can fix."""
    parsed = parse_learn_options(options)
    if not parsed.threads:
        parsed = dataclasses.replace(parsed, threads=available_threads())
    if not isinstance(df, pd.DataFrame):
        raise AutoMLError("training data must be a pandas DataFrame")
    budget = resolve_budget(time_budget, len(df), len(df.columns))
    bus = LearnBus(raw=df, target=target, options=parsed, dtype_dict=dict(dtype_dict or {}), seed=int(seed),
                   budget=budget)
    bus.progress = TrainingProgress(progress, bus.started, budget)
    try:
        run_phases(LEARN_PHASES, bus, bus.progress.phase)
    finally:
        bus.progress.close()
    assert bus.model is not None  # built by the last phase (Analysis)
    bus.model.info["training_seconds"] = round(bus.budget - bus.seconds_left(), 3)
    return Predictor(bus.model)
