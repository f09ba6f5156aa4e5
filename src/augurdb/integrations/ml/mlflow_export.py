"""Take a model out: an augurdb AutoML model written as an MLflow pyfunc model.

`augurdb export mindsdb.m DIR` writes DIR so that `mlflow models serve -m DIR --env-manager local`
(or `mlflow.pyfunc.load_model(DIR)`) answers with the same predictions as augurdb: the model's
files travel as an MLflow artifact and are loaded by augurdb's own Predictor, so nothing is
re-implemented. The environment that serves it needs augurdb installed (pip requirement written
into the model).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from augurdb import __version__
from augurdb.catalog.records import ModelRecord
from augurdb.errors import NotSupported, WrongArguments

try:
    import mlflow.pyfunc

    _PythonModel: Any = mlflow.pyfunc.PythonModel
except ImportError:  # the extra is missing: export() says so; nothing else here needs mlflow
    mlflow = None  # type: ignore[assignment]
    _PythonModel = object


class AugurdbPyfuncModel(_PythonModel):  # type: ignore[misc]
    """The pyfunc wrapper: DataFrame of inputs in, the prediction columns out."""

    def load_context(self, context: Any) -> None:
        from augurdb.automl import Predictor

        self.predictor = Predictor.load(context.artifacts["augurdb_model"])

    # model_input stays unannotated: a type hint makes MLflow 3 accept only {"inputs": ...}.
    def predict(self, context: Any, model_input, params: dict | None = None) -> Any:  # type: ignore[no-untyped-def]
        frame = self.predictor.predict(model_input, {"explain": False, **(params or {})})
        return frame.drop(columns=[c for c in frame.columns if c.endswith("_explain")])


def export(record: ModelRecord, model_dir: Path, target: Path) -> Path:
    """Write `record` (an automl model whose files are in model_dir) as an MLflow model at `target`."""
    if mlflow is None:
        raise WrongArguments("Exporting to MLflow needs the mlflow extra: pip install 'augurdb[mlflow]'")
    if record.engine != "automl" or record.status != "complete":
        raise NotSupported(f"Only complete automl models can be exported; '{record.qualified_name}' is "
                           f"{record.engine} and {record.status}")
    if target.exists() and any(target.iterdir()):
        raise WrongArguments(f"{target} exists and is not empty: export writes a new MLflow model directory")
    if target.exists():
        target.rmdir()
    from augurdb.automl import Predictor

    with tempfile.TemporaryDirectory() as staging:
        # Re-saved, not copied: the model directory also holds the training rows, which stay here.
        Predictor.load(model_dir).save(staging)
        mlflow.pyfunc.save_model(
            path=str(target), python_model=AugurdbPyfuncModel(),
            artifacts={"augurdb_model": staging},
            pip_requirements=[f"augurdb=={__version__}"],
            metadata={"augurdb_model": f"{record.qualified_name}.{record.version}", "target": record.predict},
        )
    return target
