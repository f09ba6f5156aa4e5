"""Encoder for dates and datetimes: calendar parts, cyclic positions and elapsed time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..vectorizer import SMALL_BATCH as _SMALL
from .base import ColumnEncoder, TargetView


class DateEncoder(ColumnEncoder):
    """Year and elapsed time (standardised), month/weekday/day-of-year (and hour for datetimes) as
    sine/cosine pairs so December sits next to January, plus a missing flag."""

    name = "DateEncoder"

    def __init__(self, column: str, with_time: bool):
        self.column, self.with_time = column, with_time

    def fit_transform(self, values: np.ndarray, target: TargetView) -> np.ndarray:
        stamps = pd.DatetimeIndex(values)
        seconds = stamps.asi8[~stamps.isna()] / 1e9
        self.mean = float(seconds.mean()) if seconds.size else 0.0
        self.std = float(seconds.std()) or 1.0 if seconds.size else 1.0
        cycles = ["month", "weekday", "day_of_year"] + (["hour"] if self.with_time else [])
        self.feature_names = [f"{self.column}:elapsed", f"{self.column}:day_of_month"]
        for cycle in cycles:
            self.feature_names += [f"{self.column}:{cycle}_sin", f"{self.column}:{cycle}_cos"]
        self.feature_names.append(f"{self.column}:missing")
        return self.transform(values)

    def transform(self, values: np.ndarray) -> np.ndarray:
        calendar = _calendar(np.asarray(values, dtype="datetime64[ns]"))
        missing = calendar["missing"]
        seconds = np.where(missing, self.mean, calendar["nanoseconds"] / 1e9)
        positions = [calendar["month"] - 1, calendar["weekday"], calendar["day_of_year"] - 1]
        periods = [12, 7, 366]
        if self.with_time:
            positions.append(calendar["hour"] + calendar["minute"] / 60)
            periods.append(24)
        # One sine and one cosine over every cycle at once: a one-row prediction pays numpy's
        # per-call cost once, not per cycle. NaN where missing, then 0.
        angles = 2 * np.pi * np.column_stack(positions) / np.array(periods, dtype="float64")
        cyclic = np.empty((len(missing), 2 * len(periods)))
        cyclic[:, 0::2], cyclic[:, 1::2] = np.sin(angles), np.cos(angles)
        cyclic[missing] = 0.0
        day = np.where(missing, 15.0, calendar["day"])
        return np.column_stack([(seconds - self.mean) / self.std, (day - 15.5) / 9, cyclic,
                                missing.astype("float64")]).astype("float32")


def _calendar(stamps: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar parts of datetime64[ns] values (NaN where missing): in Python for a handful of
    values, where pandas' accessors would cost more than the prediction; with pandas otherwise."""
    missing = np.isnat(stamps)
    if len(stamps) > _SMALL:
        index = pd.DatetimeIndex(stamps)
        parts = {"month": index.month, "weekday": index.day_of_week, "day_of_year": index.day_of_year,
                 "hour": index.hour, "minute": index.minute, "day": index.day}
        calendar = {name: np.asarray(part, dtype="float64") for name, part in parts.items()}
    else:
        moments = [None if gone else value for gone, value in
                   zip(missing, stamps.astype("datetime64[us]").tolist(), strict=True)]
        calendar = {name: np.array([np.nan if m is None else float(read(m)) for m in moments], dtype="float64")
                    for name, read in _PARTS.items()}
    calendar["nanoseconds"] = stamps.view("int64").astype("float64")
    calendar["missing"] = missing
    return calendar


_PARTS = {"month": lambda m: m.month, "weekday": lambda m: m.weekday(), "day_of_year": lambda m: m.timetuple().tm_yday,
          "hour": lambda m: m.hour, "minute": lambda m: m.minute, "day": lambda m: m.day}
