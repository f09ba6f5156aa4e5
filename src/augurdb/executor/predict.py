"""Run a model over Arrow rows: check the inputs, predict in batches, echo the inputs back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from augurdb.catalog.records import ModelRecord
from augurdb.errors import UnknownColumn
from augurdb.executor.system_tables import model_columns
from augurdb.executor.types import arrow_type_of_dtype
from augurdb.integrations.ml.base import LoadedModel, PredictRequest
from augurdb.planner.steps import PredictStep

if TYPE_CHECKING:
    from augurdb.session import Session

# Rows per predict() call: bounds the memory one call holds, large enough to stay vectorised.
BATCH_ROWS = 50_000


def run_predict(session: Session, step: PredictStep, data: pa.Table | None) -> pa.Table:
    """One output row per input row: the model's outputs, then the input columns."""
    model = session.instance.models.get(step.model)
    return predict_table(model, step, data, session.interrupt.check)


def predict_table(model: LoadedModel, step: PredictStep, data: pa.Table | None,
                  check: Callable[[], None] = lambda: None) -> pa.Table:
    """run_predict with the model at hand: also what a Ray Data worker runs (executor/ray_batch.py).
    `check` runs between predict() calls (KILL QUERY)."""
    if step.empty:  # WHERE 1 = 0: a client asking for the columns
        return pa.schema([pa.field(name, dtype) for name, dtype in model_columns(step.model)]).empty_table()
    rows = _inputs(step, data)
    by_lower = {name.lower(): name for name in rows.column_names}
    missing = [c for c in model.input_columns if c.lower() not in by_lower]
    if missing:
        raise UnknownColumn(
            f"Model '{step.model.qualified_name}' needs the input column(s) {', '.join(missing)} "
            "that the query does not provide")
    features = _as_declared(pa.table({c: rows.column(by_lower[c.lower()]) for c in model.input_columns}), step.model)
    request = PredictRequest(features, step.reads, dict(step.options))
    parts = []
    for start in range(0, max(features.num_rows, 1), BATCH_ROWS):
        check()
        parts.append(model.predict(request.slice(start, BATCH_ROWS)))
    outputs = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    for name in rows.column_names:
        if name not in outputs.column_names:
            outputs = outputs.append_column(name, rows.column(name))
    return outputs


def predict_rows(session: Session, project: str, model: str, rows: pa.Table,
                 options: dict[str, Any] | None = None) -> pa.Table:
    """Predictions for rows given directly (HTTP's predict endpoint): `model` is name[.version],
    resolved by the same rules as a SELECT."""
    from augurdb.planner.snapshot import Snapshot

    snapshot = Snapshot.take(session)
    project = snapshot.resolve_database(project)
    name, _, version = model.partition(".")
    record = snapshot.model_version(project, name, version) if version else snapshot.active_model(project, name)
    step = PredictStep("__augur_predict", record, "__augur_input", options=dict(options or {}))
    return run_predict(session, step, rows)


def _as_declared(features: pa.Table, record: ModelRecord) -> pa.Table:
    """Inputs cast to the types the model's engine declared (dtype_dict of a linked model) where
    that loses nothing: a model that takes a float gets 1.0 for `n = 1`; 4123.8 for an integer
    input goes as it is, never truncated. AutoML models declare none: they read values themselves."""
    if not record.model_schema:
        return features
    declared = {name.lower(): kind for name, kind in record.model_schema["inputs"]}
    columns = []
    for name, column in zip(features.column_names, features.columns, strict=True):
        wanted = arrow_type_of_dtype(declared.get(name.lower()))
        if declared.get(name.lower()) and column.type != wanted:
            try:
                column = column.cast(wanted)  # a safe cast: refuses truncation and overflow
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        columns.append(column)
    return pa.table(columns, names=features.column_names)


def _inputs(step: PredictStep, data: pa.Table | None) -> pa.Table:
    if data is None:
        return _constants_table(step.constants, 1)
    if step.renames:
        data = data.rename_columns([step.renames.get(c, c) for c in data.column_names])
    for name, value in _constants_table(step.constants, data.num_rows).to_pydict().items():
        if name in data.column_names:
            data = data.drop_columns([name])
        data = data.append_column(name, pa.array(value))
    return data


def _constants_table(constants: dict[str, Any], rows: int) -> pa.Table:
    if not constants:
        return pa.table({"__augur_rows": pa.nulls(rows)}).drop_columns(["__augur_rows"]) if rows else pa.table({})
    return pa.table({name: pa.array([value] * rows) for name, value in constants.items()})
