"""DataVectorizer: turn raw columns into canonical typed values, the same way at learn and predict time.

numbers -> float64 arrays (NaN missing); classes -> object arrays of labels (None missing);
dates -> float seconds since the epoch plus calendar parts (done by the date encoder);
text -> str arrays ("" missing); arrays -> lists of float arrays.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import column_types as ct
from .parsing import (
    as_text,
    parse_array,
    parse_datetime,
    parse_few_iso_dates,
    parse_quantity,
    parse_quantity_small,
    text_value,
)
from .statistics import ColumnStats

# Up to this many rows, values are converted one by one in Python: pandas' vectorised string
# methods cost ~1 ms per call whatever the size, which would dominate single-row predictions.
SMALL_BATCH = 64


def _number_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _small_column(values: pd.Series | list, stats: ColumnStats) -> np.ndarray | None:
    """Canonical values for a small batch, or None where the vectorised path must be used."""
    raw = values if isinstance(values, list) else values.tolist()
    dtype = stats.dtype
    if dtype in ct.NUMERIC_TYPES:
        return parse_quantity_small(raw)
    if dtype in ct.CLASS_TYPES and stats.numeric_tokens:
        numbers = parse_quantity_small(raw)
        return np.array([None if v != v else _number_label(v) for v in numbers], dtype=object)
    if dtype in ct.CLASS_TYPES:
        return np.array([text_value(v) for v in raw], dtype=object)
    if dtype in ct.TEXT_TYPES:
        return np.array([text_value(v) or "" for v in raw], dtype=object)
    if dtype in ct.DATE_TYPES:
        return parse_few_iso_dates(raw)  # None: not ISO 8601, parsed the general way
    return None


def _labels(series: pd.Series, stats: ColumnStats) -> np.ndarray:
    if stats.numeric_tokens:
        numbers = parse_quantity(series)
        labels = np.full(len(series), None, dtype=object)
        present = numbers.notna().to_numpy()
        values = numbers.to_numpy()[present]
        labels[present] = [_number_label(v) for v in values]
        return labels
    text = as_text(series)
    return text.astype(object).where(text.notna(), None).to_numpy(dtype=object)


def vectorize_column(values: pd.Series | list, stats: ColumnStats) -> np.ndarray | list:
    """Canonical values of one column (a Series, or a list for a small batch) for its inferred type."""
    if len(values) <= SMALL_BATCH:
        small = _small_column(values, stats)
        if small is not None:
            return small
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
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


def vectorize(raw: Mapping[str, pd.Series | list], stats: dict[str, ColumnStats],
              columns: list[str]) -> dict[str, object]:
    """Canonical values for each of ``columns`` (a DataFrame is a mapping of Series too)."""
    return {name: vectorize_column(raw[name], stats[name]) for name in columns}
