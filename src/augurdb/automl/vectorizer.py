"""DataVectorizer: turn raw columns into canonical typed values, the same way at learn and predict time.

numbers -> float64 arrays (NaN missing); classes -> object arrays of labels (None missing);
dates -> float seconds since the epoch plus calendar parts (done by the date encoder);
text -> str arrays ("" missing); arrays -> lists of float arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import column_types as ct
from .parsing import as_text, parse_array, parse_datetime, parse_quantity
from .statistics import ColumnStats


def _labels(series: pd.Series, stats: ColumnStats) -> np.ndarray:
    if stats.numeric_tokens:
        numbers = parse_quantity(series)
        labels = np.full(len(series), None, dtype=object)
        present = numbers.notna().to_numpy()
        values = numbers.to_numpy()[present]
        labels[present] = [str(int(v)) if float(v).is_integer() else str(v) for v in values]
        return labels
    text = as_text(series)
    return text.astype(object).where(text.notna(), None).to_numpy(dtype=object)


def vectorize_column(series: pd.Series, stats: ColumnStats) -> np.ndarray | list:
    """Canonical values of one column for its inferred type."""
    dtype = stats.dtype
    if dtype in ct.NUMERIC_TYPES:
        return parse_quantity(series).to_numpy(dtype="float64")
    if dtype in ct.CLASS_TYPES:
        return _labels(series, stats)
    if dtype in ct.DATE_TYPES:
        return parse_datetime(series).to_numpy(dtype="datetime64[ns]")
    if dtype in ct.TEXT_TYPES:
        return as_text(series).fillna("").astype(object).to_numpy(dtype=object)
    if dtype == ct.ARRAY:
        return [parse_array(value) for value in series.tolist()]
    raise ValueError(f"column {stats.name!r} of type {dtype!r} is not modelled")


def vectorize(df: pd.DataFrame, stats: dict[str, ColumnStats], columns: list[str]) -> dict[str, object]:
    """Canonical values for each of ``columns``."""
    return {name: vectorize_column(df[name], stats[name]) for name in columns}
