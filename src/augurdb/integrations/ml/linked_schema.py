"""What every engine of linked models (mlflow, http) reads the same way: the model's columns from
dtype_dict, and the one example row CREATE sends to check that the model answers."""

from __future__ import annotations

import datetime
from typing import Any

import pyarrow as pa

from augurdb.errors import WrongArguments
from augurdb.executor.types import arrow_type_of_dtype

Columns = tuple[tuple[str, str], ...]


def declared_columns(target: str, options: dict[str, Any], engine: str) -> tuple[Columns, str]:
    """dtype_dict's columns other than the target (the inputs), and the target's declared type."""
    dtypes = options.get("dtype_dict") or {}
    if not isinstance(dtypes, dict):
        raise WrongArguments(f"[{engine}] dtype_dict must be a JSON object: {{\"column\": \"type\"}}")
    inputs = tuple((str(c), str(t)) for c, t in dtypes.items() if str(c).lower() != target.lower())
    if not inputs:
        raise WrongArguments(f"[{engine}] name the model's input columns and types in dtype_dict, e.g. "
                             "dtype_dict = {\"text\": \"rich text\", \"target\": \"binary\"}")
    return inputs, next((str(t) for c, t in dtypes.items() if str(c).lower() == target.lower()), "")


def dtype_of_arrow(arrow: pa.DataType) -> str:
    """The dtype_dict name of a column of training rows (the inverse of arrow_type_of_dtype)."""
    if pa.types.is_integer(arrow):
        return "integer"
    if pa.types.is_floating(arrow) or pa.types.is_decimal(arrow):
        return "float"
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_timestamp(arrow):
        return "datetime"
    return "categorical" if pa.types.is_boolean(arrow) else "text"


def example_row(inputs: Columns) -> pa.Table:
    """One row of plausible values of the declared types."""
    return pa.table({name: pa.array([_example(kind)], arrow_type_of_dtype(kind)) for name, kind in inputs})


def _example(kind: str) -> Any:
    arrow = arrow_type_of_dtype(kind)
    if pa.types.is_integer(arrow) or pa.types.is_floating(arrow):
        return 0
    if pa.types.is_date(arrow):
        return datetime.date(2000, 1, 1)
    if pa.types.is_timestamp(arrow):
        return datetime.datetime(2000, 1, 1)
    return "augurdb"
