"""The `byom` engine: models whose train and predict are Python code the user uploaded.

    PUT /api/handlers/byom/my_byom  (code=@model.py, modules=@requirements.txt, type=venv)
    CREATE MODEL m FROM files (SELECT ...) PREDICT y USING engine = 'my_byom', my_param = 7;

The code's first class with train and predict is the model (MindsDB's contract). It runs in a
runner process (byom_runner.py) started with its engine version's Python, never in the server:
training copies the code into the model's directory and pickles the instance's __dict__ there;
predictions restore it into a fresh instance in a runner the loaded model keeps until the cache
lets it go. Upload, versions and virtualenvs: byom_store.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from augurdb.errors import ModelCodeError, WrongArguments
from augurdb.executor.types import arrow_type_of_dtype, is_numeric_dtype
from augurdb.integrations.ml import byom_runner as wire
from augurdb.integrations.ml import byom_store as store
from augurdb.integrations.ml.base import (
    EngineCapabilities,
    ModelSchema,
    PredictRequest,
    ProgressFn,
    TrainingResult,
)
from augurdb.integrations.ml.byom_process import RunnerProcess
from augurdb.integrations.ml.linked_schema import dtype_of_arrow

CODE, STATE, FACTS = "code.py", "model_state.pickle", "byom_model.json"
# The engine's parameters (from its ML_ENGINE row) and the version choice are augurdb's; every
# other USING key reaches the user's train() as args["using"].
OWN_OPTIONS = {"byom_engine", "versions", "last_version", "engine_version"}


class ByomEngine:
    """Trains and predicts with uploaded code, in runner processes."""

    name = "byom"
    capabilities = EngineCapabilities(needs_training_data=True, trains_in_worker=True, predicts="worker")

    def validate(self, target: str, options: dict[str, Any]) -> None:
        if not options.get("byom_engine"):
            raise WrongArguments("[byom] name an engine made from uploaded code: PUT /api/handlers/byom/<name> "
                                 "(or `augurdb byom upload <name> code.py`), then USING engine = '<name>'")
        version = options.get("engine_version")
        if version is not None and not (str(version).isdigit() and int(version) >= 1):
            raise WrongArguments(f"[byom] engine_version must be a version number, got {version!r}")
        known = sorted(int(v) for v in options.get("versions") or {})
        if version is not None and known and int(version) not in known:
            raise WrongArguments(f"[byom] {options['byom_engine']} has no version {version}; its versions are "
                                 f"{', '.join(map(str, known))}")
        dtypes = options.get("dtype_dict")
        if dtypes is not None and not isinstance(dtypes, dict):
            raise WrongArguments("[byom] dtype_dict must be a JSON object: {\"column\": \"type\"}")

    def validate_data(self, data: pa.Table, target: str, options: dict[str, Any]) -> None:
        """The user's train() decides what it can learn from."""

    def train(self, data: pa.Table, target: str, options: dict[str, Any], artifact_dir: Path,
              progress: ProgressFn) -> TrainingResult:
        data_dir = artifact_dir.parents[1]  # a model's directory is <data_dir>/models/<id>
        number = int(options.get("engine_version") or options["last_version"])
        version = store.version_of(data_dir, str(options["byom_engine"]), number)
        progress(1, 2, "environment")
        python = store.ensure_environment(version)
        progress(2, 2, "training")
        artifact_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(version.code, artifact_dir / CODE)  # the model keeps its version's code
        args = {"target": target, "using": {k: v for k, v in options.items() if k not in OWN_OPTIONS}}
        runner = RunnerProcess(python, artifact_dir, artifact_dir / "train.log", version.label)
        try:
            trained = json.loads(runner.call({"method": "train", "code": str(artifact_dir / CODE),
                                              "state": str(artifact_dir / STATE), "target": target, "args": args},
                                             data))
        finally:
            runner.close()
        schema = _schema(data, target, options.get("dtype_dict") or {})
        facts = {"engine": version.engine, "engine_version": version.number, "type": version.kind,
                 "class": trained["class"], "describe": trained["describe"], "target": target,
                 "inputs": schema.inputs, "target_type": schema.outputs[0][1]}
        (artifact_dir / FACTS).write_text(json.dumps(facts))
        return TrainingResult(schema=schema, input_columns=[c for c, _ in schema.inputs],
                              dtype_dict=dict((*schema.inputs, *schema.outputs)))

    def load(self, artifact_dir: Path, options: dict[str, Any]) -> ByomModel:
        """The trained model from its directory (code, state, facts); the options add nothing."""
        facts = json.loads((artifact_dir / FACTS).read_text())
        version = store.EngineVersion(facts["engine"], facts["engine_version"],
                                      store.engine_dir(artifact_dir.parents[1], facts["engine"]) /
                                      str(facts["engine_version"]), facts["type"], ())
        if not Path(version.python).exists():
            raise ModelCodeError(f"[byom] the virtualenv of {version.label} is gone (was the engine dropped?): "
                                 "upload the code again and RETRAIN the model")
        return ByomModel(artifact_dir, facts, version)


def _schema(data: pa.Table, target: str, dtypes: dict[str, Any]) -> ModelSchema:
    """Every training column but the target is an input; types from dtype_dict, else from the data."""
    def kind(column: str) -> str:
        given = dtypes.get(column)
        return str(given) if given else dtype_of_arrow(data.schema.field(column).type)

    inputs = tuple((c, kind(c)) for c in data.column_names if c != target)
    return ModelSchema(inputs=inputs, outputs=((target, kind(target)),))


class ByomModel:
    """A trained byom model: its runner starts at the first prediction and is kept for the next."""

    def __init__(self, artifact_dir: Path, facts: dict[str, Any], version: store.EngineVersion):
        self.facts = facts
        self.target: str = facts["target"]
        self.input_columns: list[str] = [c for c, _ in facts["inputs"]]
        self._runner = RunnerProcess(version.python, artifact_dir, artifact_dir / "predict.log", version.label,
                                     setup={"method": "load", "code": str(artifact_dir / CODE),
                                            "state": str(artifact_dir / STATE), "target": self.target})

    def predict(self, request: PredictRequest) -> pa.Table:
        data, args = request.rows, dict(request.options)
        if "engine_version" in args:
            raise WrongArguments(f"[byom] a model keeps the code it was trained with (version "
                                 f"{self.facts['engine_version']}): RETRAIN it USING engine_version = n")
        wanted = arrow_type_of_dtype(self.facts["target_type"])
        if data.num_rows == 0:
            return pa.table({self.target: pa.array([], wanted)})
        answer = wire.bytes_table(self._runner.call({"method": "predict", "args": args}, data))
        return pa.table({self.target: self._output(answer, data.num_rows, wanted)})

    def _output(self, answer: pa.Table | None, rows: int, wanted: pa.DataType) -> pa.ChunkedArray:
        """The predictions' target column (or their first), as the declared type when it is numeric."""
        if answer is None or answer.num_columns == 0:
            raise ModelCodeError(f"[byom] predict of {self.facts['class']} returned no columns")
        if answer.num_rows != rows:
            raise ModelCodeError(f"[byom] predict of {self.facts['class']} returned {answer.num_rows} rows "
                                 f"for {rows} input rows")
        by_lower = {name.lower(): name for name in answer.column_names}
        column = answer.column(by_lower.get(self.target.lower(), answer.column_names[0]))
        if is_numeric_dtype(self.facts["target_type"]):
            try:
                return column.cast(wanted)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                return column  # e.g. fractional predictions of an integer target keep their values
        return column

    def describe(self, attribute: str | None) -> pa.Table:
        """The user's describe(attribute) when the class has one; else DESCRIBE m.info."""
        if self.facts["describe"]:
            answer = wire.bytes_table(self._runner.call({"method": "describe", "attribute": attribute}))
            return answer if answer is not None else pa.table({})
        if attribute is None:
            return pa.table({"tables": ["info"]})
        if attribute != "info":
            raise WrongArguments(f"[byom] unknown describe attribute '{attribute}'; valid: ['info']")
        facts = self.facts
        return pa.Table.from_pylist([{"engine": facts["engine"], "engine_version": facts["engine_version"],
                                      "type": facts["type"], "class": facts["class"], "target": self.target,
                                      "inputs": json.dumps(facts["inputs"])}])

    def close(self) -> None:
        self._runner.close()
