"""The built-in AutoML engine behind CREATE MODEL, adapting augurdb.automl to the engine contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from augurdb.errors import WrongArguments
from augurdb.integrations.ml import lightwood_using
from augurdb.integrations.ml.base import (
    EngineCapabilities,
    PredictRequest,
    ProgressFn,
    TrainingResult,
    refuse_unknown_options,
)

# USING keys this adapter reads itself; everything else goes to automl.learn(options=...).
_LEARN_ARGS = {"time_budget", "dtype_dict", "seed"}


def _learn_options(options: dict[str, Any]) -> dict[str, Any]:
    """USING keys for automl.learn(options=...), Lightwood's spellings translated."""
    from augurdb.automl.encoders import ENCODERS
    from augurdb.automl.mixers import registry

    rest = {k: v for k, v in options.items() if k not in _LEARN_ARGS}
    return lightwood_using.translate(rest, set(ENCODERS), set(registry.names()), set(registry.BUILT_IN))


class AutoMLEngine:
    """Learns with augurdb.automl in a worker process; predicts in the server process."""

    name = "automl"
    capabilities = EngineCapabilities(needs_training_data=True, trains_in_worker=True)

    def validate(self, target: str, options: dict[str, Any]) -> None:
        from augurdb.automl import AutoMLError
        from augurdb.automl.options import LEARN_OPTIONS, parse_learn_options

        learn_options = _learn_options(options)
        refuse_unknown_options("automl", learn_options, LEARN_OPTIONS | _LEARN_ARGS,
                               also="and Lightwood's encoders.<column>.module, model.args")
        try:
            parse_learn_options(learn_options)
        except AutoMLError as error:
            raise WrongArguments(f"[automl] {error}") from None
        budget = options.get("time_budget")
        if budget is not None and (not isinstance(budget, int | float) or budget <= 0):
            raise WrongArguments(f"time_budget must be a positive number of seconds, got {budget!r}")
        dtypes = options.get("dtype_dict")
        if dtypes is not None and not isinstance(dtypes, dict):
            raise WrongArguments("dtype_dict must be a JSON object: {\"column\": \"type\"}")

    def validate_data(self, data: pa.Table, target: str, options: dict[str, Any]) -> None:
        from augurdb.automl import AutoMLError
        from augurdb.automl.validation import check_learn_request

        try:
            check_learn_request(data.column_names, data.column(target).to_pandas().rename(target),
                                options.get("dtype_dict"), _learn_options(options))
        except AutoMLError as error:
            raise WrongArguments(f"[automl] {error}") from None

    def train(self, data: pa.Table, target: str, options: dict[str, Any], artifact_dir: Path,
              progress: ProgressFn) -> TrainingResult:
        from augurdb.automl import learn

        extra = _learn_options(options)
        predictor = learn(
            data.to_pandas(), target,
            time_budget=options.get("time_budget"),
            dtype_dict=options.get("dtype_dict"),
            options=extra,
            seed=int(options.get("seed", 0)),
            progress=progress,
        )
        predictor.save(artifact_dir)
        return TrainingResult(accuracy=float(predictor.accuracy), input_columns=list(predictor.input_columns),
                              dtype_dict=dict(predictor.dtype_dict))

    def load(self, artifact_dir: Path, options: dict[str, Any]) -> AutoMLModel:
        from augurdb.automl import Predictor

        return AutoMLModel(Predictor.load(artifact_dir))


class AutoMLModel:
    """A loaded AutoML predictor behind the LoadedModel contract."""

    def __init__(self, predictor: Any):
        self.predictor = predictor
        self.input_columns: list[str] = list(predictor.input_columns)

    def predict(self, request: PredictRequest) -> pa.Table:
        from augurdb.automl import AutoMLError
        from augurdb.automl.vectorizer import SMALL_BATCH

        options, read, data = dict(request.options), request.reads, request.rows
        target = self.predictor.target.lower()
        # The per-row explanation is the costly part of a batch: skip it when the query does not read it.
        options.setdefault("explain", read is None or f"{target}_explain" in read)
        # Confidence and intervals cost a second model pass: only when the query reads them.
        options.setdefault("confidence", read is None or bool(
            {f"{target}_confidence", f"{target}_min", f"{target}_max"} & read))
        # A handful of rows go as Python lists (no pandas at all); more as pandas Series.
        columns: Any = ({name: data.column(name).to_pylist() for name in data.column_names}
                        if data.num_rows <= SMALL_BATCH else data.to_pandas())
        try:
            outputs = self.predictor.predict_columns(columns, data.num_rows, options)
        except AutoMLError as error:
            raise WrongArguments(f"[automl] {error}") from None
        return pa.table({name: pa.array(values, from_pandas=True) for name, values in outputs.items()})

    def close(self) -> None:
        """Nothing to release: the predictor is plain memory."""

    def describe(self, attribute: str | None) -> pa.Table:
        from augurdb.automl import AutoMLError

        try:
            frame = self.predictor.describe(attribute)
        except AutoMLError as error:
            raise WrongArguments(f"[automl] {error}") from None
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, dict | list)).any():
                frame[column] = frame[column].map(json.dumps)
        return pa.Table.from_pandas(frame, preserve_index=False)

