"""Checks of a learn request that need only column names and the target's values.

learn() runs them in its first phases; a server runs them when CREATE MODEL is issued, so a
request that cannot succeed (an option naming a missing column, a metric that does not fit the
target, a target that cannot be predicted) is refused before any training starts.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from . import column_types as ct
from .errors import AutoMLError
from .options import LearnOptions, parse_learn_options
from .parsing import as_text, parse_quantity
from .statistics import ColumnStats
from .tasks import BINARY, EXTRA_METRICS, MULTICLASS, REGRESSION, Task
from .type_inference import infer_column, override_type

# The fewest rows with a known target that the held-out split and cross-validation can work with.
MIN_ROWS = 10


def is_missing(series: pd.Series) -> pd.Series:
    """Missing values, with blank text counted as missing."""
    if pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series):
        return as_text(series).isna()
    return series.isna()


def check_columns(columns: Iterable[str], target: str, options: LearnOptions, dtype_dict: dict[str, str]) -> None:
    """Every column an option names must be in the data (an encoder for the target is allowed:
    Lightwood tutorials name one, and the target's type decides the task anyway)."""
    present = set(columns)
    if target not in present:
        raise AutoMLError(f"target column {target!r} is not in the data; columns: {list(columns)}")
    for what, names in (("ignore_columns", options.ignore_columns), ("encoders", options.encoders),
                        ("dtype_dict", dtype_dict)):
        unknown = sorted(set(names) - present)
        if unknown:
            raise AutoMLError(f"{what} names columns that are not in the data: {unknown}")
    if target in options.ignore_columns:
        raise AutoMLError(f"the target {target!r} cannot be ignored")


def check_row_count(known_rows: int, target: str, dropped: int = 0) -> None:
    """Enough rows with a known target to learn from (`dropped`: rows left out for a missing target)."""
    if known_rows < MIN_ROWS:
        raise AutoMLError(
            f"need at least {MIN_ROWS} rows with a known {target!r} to learn from, got {known_rows}"
            + (f" ({dropped} rows dropped because the target is missing)" if dropped else "")
        )


def target_stats(series: pd.Series, dtype: str | None) -> ColumnStats:
    """The target's type and statistics. A target is never dropped: unique numbers are regressed,
    a constant target is an error."""
    stats = infer_column(str(series.name), series)
    if dtype is not None:
        stats = override_type(stats, dtype, series)
    if stats.dtype == ct.CONSTANT:
        raise AutoMLError(f"target {stats.name!r} has a single value ({stats.reason}): nothing to learn")
    if stats.dtype == ct.IDENTIFIER and parse_quantity(series).notna().mean() > 0.95:
        stats.dtype = ct.INTEGER if stats.is_integer else ct.FLOAT
        stats.reason = "numbers, distinct in every row"
    return stats


def target_task(stats: ColumnStats) -> Task:
    """Regression for numbers, binary or multiclass for classes; anything else is an error."""
    if stats.dtype in ct.CLASS_TYPES:
        n_classes = stats.n_unique
        return Task(BINARY if n_classes == 2 else MULTICLASS, n_classes)
    if stats.dtype in ct.NUMERIC_TYPES:
        return Task(REGRESSION)
    raise AutoMLError(
        f"cannot predict {stats.name!r}: it looks like {stats.dtype} ({stats.reason}); targets must be numbers or "
        f"classes — set dtype_dict={{{stats.name!r}: 'categorical'}} to predict it as a class"
    )


def check_metrics(options: LearnOptions, target: str, task: Task) -> None:
    """Each requested accuracy function must fit the task (class metrics for classes, ...)."""
    for metric in options.accuracy_functions:
        if EXTRA_METRICS[metric][0] != task.is_classification:
            raise AutoMLError(f"accuracy function {metric} does not apply to {target!r}, "
                              f"a {'class' if task.is_classification else 'numeric'} target")


def check_learn_request(columns: Iterable[str], target_values: pd.Series, dtype_dict: dict[str, str] | None,
                        options: dict | None) -> None:
    """Everything learn() would refuse before training, from the column names and target values."""
    parsed = parse_learn_options(options)
    dtypes = dict(dtype_dict or {})
    target = str(target_values.name)
    check_columns(list(columns), target, parsed, dtypes)
    known = target_values[~is_missing(target_values).to_numpy()]
    if known.empty:
        raise AutoMLError(f"every row's {target!r} is missing: nothing to learn from")
    check_row_count(len(known), target, len(target_values) - len(known))
    check_metrics(parsed, target, target_task(target_stats(known, dtypes.get(target))))
