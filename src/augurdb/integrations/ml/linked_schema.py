"""What every engine of linked models (mlflow, http, ray_serve) does the same way: the model's
columns from dtype_dict, the one example row CREATE sends to check that the model answers, and
the link file in the model's directory, which never holds a secret."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from augurdb.catalog.secrets import is_secret
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


def answered_type(declared: str, values: list[Any]) -> str:
    """The output type to declare: dtype_dict's, unless that is a kind whose values may be of any
    type (binary, categorical, none given) and the model answered numbers — then clients see the
    number type the predictions have, in a `WHERE 1 = 0` probe too."""
    if not pa.types.is_string(arrow_type_of_dtype(declared)):
        return declared
    try:
        answered = pa.array(values).type
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return declared
    return dtype_of_arrow(answered) if pa.types.is_integer(answered) or pa.types.is_floating(answered) else declared


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


def save_link(artifact_dir: Path, name: str, values: dict[str, Any]) -> None:
    """How to call the model, without its secrets (api_token, headers): those stay encrypted in
    the catalog's copy of the USING options and come back through read_link."""
    artifact_dir.mkdir(parents=True, exist_ok=True)
    kept = {k: (None if is_secret(k) else v) for k, v in values.items()}
    (artifact_dir / name).write_text(json.dumps(kept, default=list))


def read_link(artifact_dir: Path, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The saved link with its secrets from the model's (decrypted) USING options; column lists
    as tuples."""
    values = json.loads((artifact_dir / name).read_text())
    for key in values:
        if is_secret(key):
            values[key] = _secret(options.get(key), key)
    values["inputs"] = tuple(tuple(c) for c in values["inputs"])
    return values


def _secret(value: Any, key: str) -> Any:
    if key == "headers":
        return {str(k): str(v) for k, v in (value or {}).items()}
    return str(value) if value else None
