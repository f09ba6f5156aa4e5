"""Vectorised parsers that turn text columns into numbers, timestamps and number arrays.

Shared by type inference (to test whether a column parses) and the vectoriser (to convert it),
so that a column typed "quantity" or "date" is read the same way at learn and predict time.
"""

from __future__ import annotations

import datetime
import re
import warnings

import numpy as np
import pandas as pd

# Leading currency signs / trailing units, e.g. "$1,200", "USD 30", "12.5 kg", "15%": short, and
# touching the number, so a sentence that merely contains a number ("room 3 of 9") is not one.
_AFFIXES = re.compile(r"^[^\d+\-.,]{1,4}(?=[\d+\-.,])|(?<=[\d.,])[^\d.,]{1,5}$")
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_EUROPEAN = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
_DATE_SHAPE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{2,4}|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{2,4})"
)
_ARRAY_SHAPE = re.compile(r"^\s*\[.*\]\s*$", re.S)


def as_text(series: pd.Series) -> pd.Series:
    """Strings with surrounding spaces removed; empty strings become missing."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def parse_quantity(series: pd.Series) -> pd.Series:
    """Numbers from text such as "$1,200", "640,56", "1.200,5", "15%" or "12 kg"; NaN where not a number.

    A comma followed by exactly three-digit groups is a thousands separator ("1,200"); any other
    single comma is a decimal comma ("640,56"), the way such data is usually written.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    text = as_text(series).str.replace(" ", "", regex=False).str.replace(_AFFIXES, "", regex=True)
    thousands = text.str.fullmatch(_THOUSANDS_COMMA).fillna(False).astype(bool)
    european = text.str.fullmatch(_EUROPEAN).fillna(False).astype(bool) & text.str.contains(",", regex=False)
    decimal_comma = text.str.fullmatch(_DECIMAL_COMMA).fillna(False).astype(bool)
    text = text.where(~thousands, text.str.replace(",", "", regex=False))
    text = text.where(~european, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    text = text.where(~decimal_comma, text.str.replace(",", ".", regex=False))
    return pd.to_numeric(text, errors="coerce").astype("float64")


def quantity_affixes(series: pd.Series) -> pd.Series:
    """What :func:`parse_quantity` strips from each text around its number ("$", "kg", "%"),
    lowercased; "" where nothing is stripped."""
    text = as_text(series).dropna().str.replace(" ", "", regex=False)
    return text.str.findall(_AFFIXES).str.join("").str.lower()


def _quantity_value(value: object) -> float:
    """One value through the same rules as :func:`parse_quantity` (for small batches)."""
    if value is None or isinstance(value, bool):
        return float("nan")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = _AFFIXES.sub("", str(value).strip().replace(" ", ""))
    if _THOUSANDS_COMMA.fullmatch(text):
        text = text.replace(",", "")
    elif _EUROPEAN.fullmatch(text) and "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return float("nan")


def parse_quantity_small(values: list) -> np.ndarray:
    """:func:`parse_quantity` for a handful of values, without pandas' per-call overhead."""
    return np.array([_quantity_value(v) for v in values], dtype="float64")


def text_value(value: object) -> str | None:
    """One value as stripped text, None when missing or empty (as :func:`as_text`)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return None
    text = str(value).strip()
    return text or None


def looks_like_dates(text: pd.Series) -> pd.Series:
    """Whether each (non-missing) string has the shape of a date, before trying to parse it."""
    return text.str.match(_DATE_SHAPE).fillna(False).astype(bool)


def parse_datetime(series: pd.Series) -> pd.Series:
    """Timestamps (timezone-naive, UTC where a zone was given) from typed or textual dates; NaT otherwise."""
    if pd.api.types.is_datetime64_any_dtype(series):
        parsed = series
    elif len(series) <= _SMALL_BATCH and (small := parse_few_iso_dates(series.tolist())) is not None:
        return pd.Series(small, index=series.index)
    else:
        text = as_text(series)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:  # ISO 8601, the common case, has a fast parser; anything else goes the slow way
                parsed = pd.to_datetime(text, errors="raise", format="ISO8601", utc=True)
            except (ValueError, TypeError):
                parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    # A sentinel such as 0001-01-01 or 9999-12-31 parses at a coarser unit; datetime64[ns] cannot
    # hold it, so it reads as missing rather than failing the whole column.
    parsed = parsed.where((parsed >= _EARLIEST_NS) & (parsed <= _LATEST_NS))
    return parsed.astype("datetime64[ns]")


_SMALL_BATCH = 64  # below this, pandas' per-call overhead costs more than parsing value by value


_EARLIEST_NS, _LATEST_NS = pd.Timestamp.min.to_pydatetime(warn=False), pd.Timestamp.max.to_pydatetime(warn=False)


def parse_few_iso_dates(values: list) -> np.ndarray | None:
    """A handful of ISO 8601 strings parsed one by one (one-row predictions) into datetime64[ns]
    (NaT where missing); None if any is not ISO. Built in numpy: a pandas conversion of one value
    costs ~100 µs, parsing it ~2."""
    parsed_values: list[np.datetime64] = []
    for value in values:
        if value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str)
                                                                              and not value.strip()):
            parsed_values.append(np.datetime64("NaT", "ns"))
            continue
        if not isinstance(value, str):
            return None
        try:
            parsed = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
        # numpy wraps a date past datetime64[ns]'s range silently; pandas' parser gives NaT there.
        in_range = _EARLIEST_NS < parsed < _LATEST_NS
        parsed_values.append(np.datetime64(parsed, "ns") if in_range else np.datetime64("NaT", "ns"))
    return np.array(parsed_values, dtype="datetime64[ns]")


def looks_like_arrays(text: pd.Series) -> pd.Series:
    """Whether each string is a bracketed list, e.g. "[1, 2.5, 3]"."""
    return text.str.match(_ARRAY_SHAPE).fillna(False).astype(bool)


def parse_array(value: object) -> np.ndarray:
    """The numbers in one bracketed list ("[1, 2.5, 3]"); an empty array when there are none."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
    elif isinstance(value, str):
        items = [item for item in re.split(r"[,\s;]+", value.strip().strip("[]")) if item]
    else:
        return np.zeros(0)
    return pd.to_numeric(pd.Series(items, dtype="object"), errors="coerce").to_numpy(dtype="float64")
